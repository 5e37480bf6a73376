"""Readers for file formats that several tasks share (plugins call them from their own readers).

Each yields examples in the shape of its task kind and raises ``DataFormatError`` naming the
file (and line, where there is one) on malformed input.
"""

from __future__ import annotations

import csv
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

from harness.contract.errors import DataFormatError
from harness.kinds.checks import _answer_span, answer_problem  # noqa: F401  (answer_problem: re-exported)

log = logging.getLogger(__name__)

#: Whether an answer off its offset stops the reading (see ``strict_answers``).
_STRICT_ANSWERS: ContextVar[bool] = ContextVar("xharness_strict_answers", default=False)


@contextmanager
def strict_answers(strict: bool = True) -> Iterator[None]:
    """Within the block, ``read_squad_json`` refuses an answer that is not at its ``answer_start``
    (naming the file, the question and what is wrong) instead of skipping it.

    A run reads its training data so (``harness.data.sources``): the kinds place an answer by its offset,
    so a wrong one would train on another span of the context. Read on their own, files keep
    XTREME's lenient reading.
    """
    token = _STRICT_ANSWERS.set(strict)
    try:
        yield
    finally:
        _STRICT_ANSWERS.reset(token)


def read_squad_json(path: Path, id_prefix: str | None = None) -> Iterator[dict]:
    """SQuAD v1.1/v2.0 JSON → span-QA examples ``{id, question, context, answers}``.

    ``id_prefix`` keeps only questions whose id starts with it (TyDiQA mixes languages).
    SQuAD 2.0's unanswerable questions come with an empty ``answers`` list. An answer whose text
    is not at its ``answer_start`` in the context is skipped, and a question left with none of
    its answers is dropped (as XTREME's SQuAD scripts skip such training questions); one log
    line per file says how many. Under ``strict_answers()`` (a run's training data) such an
    answer stops the reading with a ``DataFormatError`` naming the question instead.
    """
    strict = _STRICT_ANSWERS.get()
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except json.JSONDecodeError as exc:
        raise DataFormatError(path, exc.lineno, f"not valid JSON ({exc.msg})") from None
    articles = data["data"] if isinstance(data, dict) and "data" in data else data
    examples: list[dict] = []
    bad_answers = dropped = 0
    try:
        for article in articles:
            for paragraph in article["paragraphs"]:
                context = paragraph["context"]
                for qa in paragraph["qas"]:
                    if id_prefix and not qa["id"].startswith(id_prefix):
                        continue
                    given = [] if qa.get("is_impossible") else qa.get("answers", [])
                    answers = [span for a in given
                               if (span := _answer_span(context, a["text"], int(a["answer_start"]))) is not None]
                    if strict and len(answers) < len(given):
                        problem = next(p for a in given
                                       if (p := answer_problem(context, a["text"], int(a["answer_start"]))))
                        raise DataFormatError(path, None, f"question {qa['id']!r}: {problem}; training places "
                                                          f"each answer by its offset: correct or remove it")
                    bad_answers += len(given) - len(answers)
                    if given and not answers:
                        dropped += 1
                        continue
                    examples.append({"id": qa["id"], "question": qa["question"], "context": context,
                                     "answers": answers})
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise DataFormatError(path, None, f"not SQuAD JSON (missing or bad {exc})") from None
    if bad_answers:
        which = f" (questions {id_prefix}*)" if id_prefix else ""
        log.warning("%s%s: skipped %d answer(s) whose text is not at their answer_start in the context%s", path, which,
                    bad_answers, f"; dropped {dropped} question(s) left with no answer" if dropped else "")
    yield from examples


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


def read_conll(path: Path, columns: int = 10) -> Iterator[list[tuple[int, list[str]]]]:
    """Sentences of a CoNLL-style file: one token a line as ``columns`` tab-separated fields, a blank
    line after each sentence, ``#`` comment lines skipped (CoNLL-U: ``columns=10``, the default;
    ``token<TAB>tag`` files: ``columns=2``). Yields each sentence as its (line number, fields)
    rows; a line with another number of fields is a ``DataFormatError`` naming file and line."""
    rows: list[tuple[int, list[str]]] = []
    with open(path, encoding="utf-8", newline="") as handle:
        for number, line in enumerate(handle, start=1):
            line = line.rstrip("\r\n")
            if not line.strip():
                if rows:
                    yield rows
                rows = []
                continue
            if line.startswith("#"):
                continue
            fields = line.split("\t")
            if len(fields) != columns:
                what = "CoNLL-U fields" if columns == 10 else "fields"
                raise DataFormatError(path, number, f"expected {columns} tab-separated {what}, found {len(fields)}")
            rows.append((number, fields))
    if rows:
        yield rows


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
