"""Per-example outcomes of a test evaluation: what a score is recomputed from on a resample.

Every run writes, beside ``results.json``, one ``outcomes/test-<lang>.json`` per test language:
the example ids in test-file order and, per example, what the task's metric needs. A score is a
function of these arrays alone, so a report can recompute it on any resample of the examples
(the paired bootstrap) without a model:

=============  ======================================  ==========================================
aggregate      arrays (one entry per example)          language score (percent)
=============  ======================================  ==========================================
``accuracy``   ``correct`` (0/1)                       100 · mean(correct)
``f1_counts``  ``tp``, ``fp``, ``fn`` (ints)           100 · 2 Σtp / (2 Σtp + Σfp + Σfn); entity
                                                       counts per sentence (seqeval) or mined
                                                       pairs per source sentence (BUCC)
``qa``         ``f1`` (0–1), ``em`` (0/1)              100 · (mean(f1) + mean(em)) / 2, XTREME's
                                                       QA score; F1 and EM alone are kept too
``mean``       ``value`` (0–1)                         100 · mean(value); a per-query score such
                                                       as average precision at 20 (mAP@20)
``pearson``    ``prediction``, ``gold`` (numbers)      100 · Pearson's r of predictions and gold
                                                       scores (-100 to 100; STS-style regression)
``spearman``   ``prediction``, ``gold`` (numbers)      100 · Spearman's rank correlation (ties
                                                       share their mean rank)
=============  ======================================  ==========================================

A correlation is not a mean of per-example values, so a resample recomputes it from the pairs it
holds (a resample whose predictions or gold scores are all equal has none: NaN).

A record may also hold ``extra`` (Tatoeba: each query's ``rank`` of its gold sentence; BUCC: the
``mined`` pairs), which no score reads. With ``--select-on both`` the state the other criterion
picks has its outcomes in ``outcomes/select-<criterion>/test-<lang>.json``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

SCHEMA = "xharness.outcomes/1"
AGGREGATES = {"accuracy": ("correct",), "f1_counts": ("tp", "fp", "fn"), "qa": ("f1", "em"), "mean": ("value",),
              "pearson": ("prediction", "gold"), "spearman": ("prediction", "gold")}


def make(task: str, kind: str, lang: str, aggregate: str, ids: Sequence[str], *,
         extra: Mapping[str, Any] | None = None, **arrays: Sequence) -> dict[str, Any]:
    """An outcomes record; checks that the arrays fit the aggregate and the ids.

    ``extra`` holds further per-language information that no score is computed from (Tatoeba's
    per-query ``rank`` of the gold sentence, BUCC's ``mined`` pairs); ``score`` ignores it, and a
    record without it reads as before.
    """
    if aggregate not in AGGREGATES:
        raise ValueError(f"unknown aggregate {aggregate!r}")
    if set(arrays) != set(AGGREGATES[aggregate]):
        raise ValueError(f"aggregate {aggregate!r} needs the arrays {AGGREGATES[aggregate]}, got {tuple(arrays)}")
    for name, values in arrays.items():
        if len(values) != len(ids):
            raise ValueError(f"{name} has {len(values)} entries for {len(ids)} examples")
    record = {"schema": SCHEMA, "task": task, "kind": kind, "lang": lang, "aggregate": aggregate,
              "ids": [str(i) for i in ids], **{name: list(values) for name, values in arrays.items()}}
    if extra:
        record["extra"] = {name: list(values) if isinstance(values, (list, tuple)) else values
                           for name, values in extra.items()}
    return record


def score(outcome: dict[str, Any], indices: Sequence[int] | None = None) -> float:
    """The language score of ``outcome`` (as in ``results.json``), on ``indices`` (a resample) or on all."""
    def pick(name: str) -> list:
        values = outcome[name]
        return values if indices is None else [values[i] for i in indices]

    aggregate = outcome["aggregate"]
    if aggregate == "accuracy":
        correct = pick("correct")
        return 100.0 * sum(correct) / len(correct) if correct else float("nan")
    if aggregate == "f1_counts":
        tp, fp, fn = sum(pick("tp")), sum(pick("fp")), sum(pick("fn"))
        return 100.0 * 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    if aggregate == "qa":
        f1, em = pick("f1"), pick("em")
        if not f1:
            return float("nan")
        return (100.0 * sum(f1) / len(f1) + 100.0 * sum(em) / len(em)) / 2
    if aggregate == "mean":
        values = pick("value")
        return 100.0 * sum(values) / len(values) if values else float("nan")
    if aggregate in ("pearson", "spearman"):
        return 100.0 * _correlation(aggregate, pick("prediction"), pick("gold"))
    raise ValueError(f"unknown aggregate {aggregate!r}")


def _correlation(method: str, predictions: Sequence[float], gold: Sequence[float]) -> float:
    """Pearson's r or Spearman's rho (scipy), NaN where it is undefined (fewer than two pairs, or
    either side constant)."""
    import warnings

    from scipy import stats

    if len(predictions) < 2 or len(set(predictions)) < 2 or len(set(gold)) < 2:
        return float("nan")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = (stats.pearsonr if method == "pearson" else stats.spearmanr)(predictions, gold)
    return float(result.statistic)


def path_for(run_dir: Path, lang: str) -> Path:
    return run_dir / "outcomes" / f"test-{lang}.json"


def dumps(outcome: dict[str, Any]) -> str:
    return json.dumps(outcome, ensure_ascii=False, separators=(",", ":")) + "\n"


def load(run_dir: Path, lang: str) -> dict[str, Any]:
    return json.loads(path_for(run_dir, lang).read_text(encoding="utf-8"))


def selection_path_for(run_dir: Path, criterion: str, lang: str) -> Path:
    """Outcomes of the state another model-selection criterion picks (``--select-on both``)."""
    return run_dir / "outcomes" / f"select-{criterion}" / f"test-{lang}.json"
