"""Flags on scores that look like findings and are not: a model that gives one answer to every
input, answers that are all empty, a score indistinguishable from chance, a dev score that never
moved. Computed from what a run writes anyway (its prediction files, per-example outcomes and
training history), so they cost nothing to train and are recorded in ``results.json``
(``scores.n``, ``scores.flags``, ``scores.run_flags``) for ``run`` and ``report`` to show.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

#: A share of predictions this large, all the same, is "one class".
ONE_CLASS = 0.95
#: Fewer predictions than this say nothing about a distribution.
MIN_PREDICTIONS = 10
#: The significance below which a score is told apart from chance (two-sided binomial test).
CHANCE_ALPHA = 0.05


def prediction_values(extension: str, content: str) -> list[str] | None:
    """The predicted values of a leaderboard prediction file, one per prediction: a line of a tsv
    (a label, a choice, a tag: a tagging file's blank lines between sentences are dropped), the
    ``label`` of a jsonl object, or the answer of a json ``{id: answer}`` (span QA); None for a
    shape these do not describe."""
    if extension == "tsv":
        return [line for line in content.splitlines() if line.strip()]
    if extension == "jsonl":
        rows = [json.loads(line) for line in content.splitlines() if line.strip()]
        return [str(row.get("label")) for row in rows] if all(isinstance(r, dict) for r in rows) else None
    if extension == "json":
        data = json.loads(content)
        if isinstance(data, dict) and all(isinstance(v, str) for v in data.values()):
            return list(data.values())
    return None


def language_flags(values: list[str] | None, outcome: dict[str, Any] | None, classes: int) -> list[str]:
    """What is degenerate about one language's predictions and score."""
    flags = []
    if values is not None and len(values) >= MIN_PREDICTIONS:
        empty = sum(1 for v in values if not v.strip()) / len(values)
        if empty >= ONE_CLASS:
            flags.append(f"empty answers: {empty:.0%} of the predictions are empty")
        else:
            value, count = Counter(values).most_common(1)[0]
            if count / len(values) >= ONE_CLASS:
                flags.append(f"one class: {count / len(values):.0%} of the predictions are {value!r}")
    if outcome is not None and outcome.get("aggregate") == "accuracy" and classes >= 2 and outcome.get("correct"):
        from scipy.stats import binomtest

        correct, n = int(sum(outcome["correct"])), len(outcome["correct"])
        test = binomtest(correct, n, 1 / classes)
        if test.pvalue >= CHANCE_ALPHA:
            flags.append(f"at chance: {100 * correct / n:.1f} on {n} examples cannot be told from {100 / classes:.1f} "
                         f"(1 in {classes}; binomial p={test.pvalue:.2f})")
    return flags


def run_flags(history: dict[str, Any] | None) -> list[str]:
    """What is degenerate about the target training: a dev score that never moved."""
    epochs = (history or {}).get("epochs") or []
    scores = [e.get("dev_score") for e in epochs if e.get("dev_score") is not None]
    if len(scores) >= 2 and max(scores) - min(scores) < 1e-9:
        return [f"dev score never moved: {scores[0]:.2f} in each of {len(scores)} epochs"]
    return []


def diagnose(spec, predictions: dict[str, tuple[str, str]], outcomes: dict[str, dict],
             history: dict[str, Any] | None) -> dict[str, Any]:
    """``{"n": {lang: examples}, "flags": {lang: [flag, ...]}, "run_flags": [...]}`` of a target
    phase (languages without a flag are left out of ``flags``)."""
    classes = len(spec.labels) or int(spec.num_choices or 0)
    found: dict[str, Any] = {"n": {lang: len(outcome.get("ids", [])) for lang, outcome in outcomes.items()},
                             "flags": {}, "run_flags": run_flags(history)}
    for lang in outcomes:
        extension, content = predictions.get(lang, ("", ""))
        try:
            values = prediction_values(extension, content)
        except (ValueError, TypeError):
            values = None
        flags = language_flags(values, outcomes.get(lang), classes)
        if flags:
            found["flags"][lang] = flags
    return found
