"""Readers for file formats that several tasks share (plugins call them from their own readers).

Each yields examples in the shape of its task kind and raises ``DataFormatError`` naming the
file (and line, where there is one) on malformed input.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

from harness.errors import DataFormatError


def read_squad_json(path: Path, id_prefix: str | None = None) -> Iterator[dict]:
    """SQuAD v1.1/v2.0 JSON → span-QA examples ``{id, question, context, answers}``.

    ``id_prefix`` keeps only questions whose id starts with it (TyDiQA mixes languages).
    SQuAD 2.0's unanswerable questions come with an empty ``answers`` list.
    """
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except json.JSONDecodeError as exc:
        raise DataFormatError(path, exc.lineno, f"not valid JSON ({exc.msg})") from None
    articles = data["data"] if isinstance(data, dict) and "data" in data else data
    try:
        for article in articles:
            for paragraph in article["paragraphs"]:
                for qa in paragraph["qas"]:
                    if id_prefix and not qa["id"].startswith(id_prefix):
                        continue
                    answers = [] if qa.get("is_impossible") else qa.get("answers", [])
                    yield {"id": qa["id"], "question": qa["question"], "context": paragraph["context"],
                           "answers": [{"text": a["text"], "answer_start": int(a["answer_start"])} for a in answers]}
    except (KeyError, TypeError, ValueError) as exc:
        raise DataFormatError(path, None, f"not SQuAD JSON (missing or bad {exc})") from None


def read_tsv_rows(path: Path, required: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, row) of a tab-separated file with a header; quotes are plain characters (GLUE)."""
    with open(path, encoding="utf-8", newline="") as handle:
        header = handle.readline().rstrip("\r\n").split("\t")
        missing = [c for c in required if c not in header]
        if missing:
            raise DataFormatError(path, 1, f"header lacks the column(s) {', '.join(missing)}")
        for number, line in enumerate(handle, start=2):
            line = line.rstrip("\r\n")
            if not line:
                continue
            fields = line.split("\t")
            if len(fields) != len(header):
                raise DataFormatError(path, number, f"expected {len(header)} tab-separated fields, found {len(fields)}")
            yield number, dict(zip(header, fields))


def read_csv_rows(path: Path, required: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str]]]:
    """(record number + 1, row) of a comma-separated file with a header (quoted fields may span lines)."""
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in required if c not in (reader.fieldnames or [])]
        if missing:
            raise DataFormatError(path, 1, f"header lacks the column(s) {', '.join(missing)}")
        for number, row in enumerate(reader, start=2):
            if None in row or any(value is None for value in row.values()):
                raise DataFormatError(path, reader.line_num, "wrong number of fields")
            yield number, row


def read_jsonl(path: Path, convert, record: str) -> Iterator[dict]:
    """One example per JSON line: ``convert(row)`` builds it; a bad line names file, line and what
    a ``record`` needs (``convert``'s KeyError/TypeError/ValueError message says which field)."""
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                example = convert(json.loads(line))
            except json.JSONDecodeError as exc:
                raise DataFormatError(path, number, f"not valid JSON ({exc.msg})") from None
            except (KeyError, TypeError, ValueError, IndexError) as exc:
                raise DataFormatError(path, number, f"not a valid {record} record ({type(exc).__name__}: {exc})") from None
            if example is not None:
                yield example
