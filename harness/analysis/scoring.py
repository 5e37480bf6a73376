"""Scoring leaderboard-format prediction folders against label folders.

The layout and the output follow XTREME's ``evaluate.py``: one sub-folder per task holding
``test-<lang>.<ext>``; per task ``{metric: {lang: value}, avg_<metric>: value, avg_metric:
value}`` in percent; group scores and ``all_task`` when all their tasks are present.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.compute import metrics
from harness.contract.errors import DataFormatError, UserError
from harness.common.fsutil import check_path_names
from harness.contract.spec import Leaderboard, LeaderboardTask

def map_at_20(labels: dict[str, list[str]], predictions: dict[str, list[str]]) -> dict[str, float]:
    """mAP@20 in percent over the labelled queries; a query without a prediction scores 0.

    Each AP@20 divides by min(20, relevant) (XTREME-R's ``utils_lareqa``); with one relevant
    candidate a query it is the reciprocal rank within 20, which is what XTREME-R computes for
    Mewsli-X under the same name.
    """
    values = [metrics.average_precision_at_k(list(dict.fromkeys(predictions.get(qid, []))), set(gold), 20)
              for qid, gold in labels.items()]
    return {"map@20": 100.0 * sum(values) / len(values) if values else 0.0}


#: metric name → (reader kind, function); readers are "lines", "pairs", "tags", "squad" or "ranked".
METRICS = {
    "accuracy": ("lines", metrics.accuracy),
    "pair_f1": ("pairs", metrics.pair_f1),
    "seqeval": ("tags", metrics.seqeval_prf),
    "squad": ("squad", metrics.squad_em_f1),
    "mlqa": ("squad", metrics.mlqa_em_f1),
    "map_at_20": ("ranked", map_at_20),
}
QA_METRICS = ("squad", "mlqa")
UNORDERED = ("pair_f1", "squad", "mlqa", "map_at_20")  # scored as sets or by id: counts may differ


def read_lines(path: Path) -> list[str]:
    with open(path, encoding="utf-8") as handle:
        return [line.strip() for line in handle]


def read_pairs(path: Path) -> list[str]:
    """BUCC's id pairs, one ``source-id<TAB>target-id`` a line, checked.

    A line with another number of fields, another separator, an empty id, whitespace in an id
    or control characters (a binary file) would match no gold pair and lower the score without a
    word, so it stops with the file and line instead. Lines are otherwise read as XTREME's
    ``evaluate.py`` reads them (stripped). Blank lines at the end of the file are not pairs and
    are left out; a UTF-8 byte-order mark is dropped.
    """
    pairs: list[str] = []
    blank = 0
    with open(path, encoding="utf-8-sig") as handle:
        for number, raw in enumerate(handle, start=1):
            text = raw.rstrip("\r\n")
            if not text.strip():
                blank = blank or number
                continue
            if blank:
                raise DataFormatError(path, blank, "empty line between id pairs; each line is "
                                                   "source-id<TAB>target-id")
            pair, problem = _pair(text)
            if problem:
                raise DataFormatError(path, number, f"{problem}; each line is source-id<TAB>target-id")
            pairs.append(pair)
    return pairs


def _pair(text: str) -> tuple[str, str | None]:
    """(the line as a pair, None) or ("", what is wrong with it)."""
    bad = next((c for c in text if (ord(c) < 32 and c != "\t") or 127 <= ord(c) < 160), None)
    if bad is not None:
        return "", f"control character {bad!r} (is this a binary file?)"
    fields = text.split("\t")
    if len(fields) != 2:
        spaced = len(fields) == 1 and len(text.split()) == 2
        return "", (f"expected 2 tab-separated ids, found {len(fields)}"
                    + (" (the ids are separated by spaces, not a tab)" if spaced else ""))
    source, target = fields[0].lstrip(), fields[1].rstrip()  # the line's own ends may hold spaces
    for side, value in (("source", source), ("target", target)):
        if not value.strip():
            return "", f"the {side} id is empty"
        if any(c.isspace() for c in value):
            return "", f"the {side} id {value!r} contains whitespace"
    return f"{source}\t{target}", None


def read_tags(path: Path) -> list[list[str]]:
    """Tag files: one tag a line, a blank line after each sentence (as the official reader)."""
    sentences: list[list[str]] = []
    current: list[str] = []
    for line in read_lines(path):
        if line:
            current.append(line)
        else:
            sentences.append(current)
            current = []
    if current:
        sentences.append(current)
    return sentences


def _read_json(path: Path) -> Any:
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except json.JSONDecodeError as exc:
        raise DataFormatError(path, exc.lineno, f"not valid JSON ({exc.msg})") from None


def _read(kind: str, path: Path, side: str):
    if not path.is_file():
        raise UserError(f"{side} file {path} is missing; every language of a task needs one")
    try:
        if kind == "lines" and path.suffix == ".jsonl":
            return _jsonl_labels(path)
        if kind == "lines":
            return read_lines(path)
        if kind == "pairs":
            return read_pairs(path)
        if kind == "tags":
            return read_tags(path)
        data = _read_json(path)
    except UnicodeDecodeError as exc:
        error = DataFormatError.not_utf8(path) or DataFormatError(path, None, f"not UTF-8 text ({exc.reason})")
        raise error from None
    if kind == "ranked":
        return _ranked(path, data)
    if side == "labels":
        return _squad_labels(path, data)
    if not isinstance(data, dict):
        raise DataFormatError(path, None, "QA predictions must be a JSON object {question id: answer text}")
    for question, answer in data.items():
        if not isinstance(answer, str):
            raise DataFormatError(path, None, f"the answer to question {question!r} is {json.dumps(answer)[:40]}, "
                                              f"not a string; QA predictions are {{question id: answer text}}")
    return data


def _jsonl_labels(path: Path) -> list[str]:
    """The ``label`` of each line of a JSON-lines file (XTREME-R's XCOPA predictions and labels)."""
    labels = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataFormatError(path, number, f"not valid JSON ({exc.msg})") from None
            if not isinstance(record, dict) or "label" not in record:
                raise DataFormatError(path, number, 'each line must be a JSON object with a "label"')
            labels.append(str(record["label"]))
    return labels


def _ranked(path: Path, data: Any) -> dict[str, list[str]]:
    """``{query id: [candidate ids]}``, checked."""
    if not isinstance(data, dict):
        raise DataFormatError(path, None, "expected a JSON object {query id: [candidate ids]}")
    for qid, ids in data.items():
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise DataFormatError(path, None, f"the entry of query {qid!r} must be a list of candidate ids (strings)")
    return data


def _squad_labels(path: Path, data: Any) -> list[dict]:
    """The ``data`` list of SQuAD-format labels, checked as far as the QA metrics read it."""
    articles = data["data"] if isinstance(data, dict) and "data" in data else data
    try:
        for article in articles:
            for paragraph in article["paragraphs"]:
                for qa in paragraph["qas"]:
                    if not isinstance(qa["id"], str):
                        raise DataFormatError(path, None, f"question id {json.dumps(qa['id'])[:40]} is not a string")
                    if not qa["answers"] or not all(isinstance(answer["text"], str) for answer in qa["answers"]):
                        raise DataFormatError(path, None, f"question {qa['id']!r} needs one or more answer texts")
    except (KeyError, TypeError) as exc:
        raise DataFormatError(path, None, f"not SQuAD-format labels (missing or bad {exc})") from None
    return articles


def score_task(task: LeaderboardTask, predictions_dir: Path, labels_dir: Path) -> dict[str, Any]:
    kind, function = METRICS[task.metric]
    per_metric: dict[str, dict[str, float]] = {}
    for lang in task.languages:
        name = f"test-{lang}.{task.extension}"
        predicted = _read(kind, predictions_dir / task.name / name, "prediction")
        gold = _read(kind, labels_dir / task.name / name, "labels")
        if task.metric == "map_at_20" and not gold:
            raise UserError(f"{task.name} {lang}: the label file lists no queries ({labels_dir / task.name / name})")
        if task.metric not in UNORDERED and len(predicted) != len(gold):
            unit = "sentences" if kind == "tags" else "lines"
            raise UserError(f"{task.name} {lang}: {len(predicted)} {unit} of predictions for {len(gold)} of labels "
                            f"({predictions_dir / task.name / name})")
        if kind == "tags":
            for number, (p, g) in enumerate(zip(predicted, gold), start=1):
                if len(p) != len(g):
                    raise UserError(f"{task.name} {lang}: sentence {number} has {len(p)} predicted tags for "
                                    f"{len(g)} words ({predictions_dir / task.name / name})")
        result = function(gold, predicted, lang) if task.metric in QA_METRICS else function(gold, predicted)
        for metric, value in result.items():
            per_metric.setdefault(metric, {})[lang] = value
    scores: dict[str, Any] = dict(per_metric)
    for metric, values in per_metric.items():
        scores[f"avg_{metric}"] = sum(values.values()) / len(values)
    if task.metric in QA_METRICS:
        scores["avg_metric"] = (scores["avg_exact_match"] + scores["avg_f1"]) / 2
    elif "avg_f1" in scores:
        scores["avg_metric"] = scores["avg_f1"]
    elif "avg_map@20" in scores:
        scores["avg_metric"] = scores["avg_map@20"]
    else:
        scores["avg_metric"] = scores["avg_accuracy"]
    return scores


def score_folders(board: Leaderboard, predictions_dir: Path, labels_dir: Path) -> dict[str, Any]:
    """Overall and group scores first, then one entry per task present in both folders."""
    for folder, what in ((predictions_dir, "--predictions"), (labels_dir, "--labels")):
        check_path_names(what, folder)
        if not folder.is_dir():
            raise UserError(f"{what} {folder} is not a folder")
    detailed = {task.name: score_task(task, predictions_dir, labels_dir) for task in board.tasks
                if (predictions_dir / task.name).is_dir() and (labels_dir / task.name).is_dir()}
    if not detailed:
        names = ", ".join(t.name for t in board.tasks)
        raise UserError(f"no task folder ({names}) is present in both {predictions_dir} and {labels_dir}")
    overall: dict[str, Any] = {}
    if len(detailed) == len(board.tasks):
        overall["all_task"] = sum(s["avg_metric"] for s in detailed.values()) / len(detailed)
    for group in board.groups:
        members = [t.name for t in board.tasks if group in t.group_names]
        if members and all(name in detailed for name in members):
            overall[group] = sum(detailed[name]["avg_metric"] for name in members) / len(members)
    return {**overall, **detailed}
