"""Scores that look like findings and are not are flagged where they are shown (issue 23, point 2):
one class, empty answers, chance, a dev score that never moved; and n per language."""

from __future__ import annotations

import json

from harness.cell.diagnostics import diagnose, language_flags, prediction_values, run_flags
from harness.compute import outcomes


def _accuracy(correct):
    return outcomes.make("t", "classification", "de", "accuracy", [str(i) for i in range(len(correct))],
                         correct=correct)


def test_one_class_empty_answers_and_chance_are_flagged_and_a_learnt_model_is_not():
    one = ["yes"] * 40
    assert language_flags(one, None, 2) == ["one class: 100% of the predictions are 'yes'"]
    assert language_flags([""] * 19 + ["Paris"], None, 0) == ["empty answers: 95% of the predictions are empty"]
    at_chance = language_flags(["a", "b"] * 20, _accuracy([1, 0] * 20), 2)
    assert len(at_chance) == 1 and at_chance[0].startswith("at chance: 50.0 on 40 examples cannot be told from 50.0")
    # 36 of 40 right on a two-class task is no accident, and the answers vary
    assert language_flags(["a", "b"] * 20, _accuracy([1] * 36 + [0] * 4), 2) == []
    # three classes: 22 of 40 (55%) is far from 33.3
    assert language_flags(["a", "b", "c", "a"] * 10, _accuracy([1] * 22 + [0] * 18), 3) == []
    assert language_flags(["x"] * 5, None, 2) == []  # too few predictions to say


def test_prediction_files_of_every_shape_are_read():
    assert prediction_values("tsv", "O\nB-PER\n\nO\n") == ["O", "B-PER", "O"]  # tagging: sentences apart
    assert prediction_values("jsonl", '{"idx": 0, "label": 1}\n{"idx": 1, "label": 0}\n') == ["1", "0"]
    assert prediction_values("json", json.dumps({"q1": "", "q2": "Paris"})) == ["", "Paris"]
    assert prediction_values("json", json.dumps({"q1": [1, 2]})) is None


def test_a_dev_score_that_never_moved_is_a_run_flag():
    assert run_flags({"epochs": [{"dev_score": 56.25}] * 4}) == ["dev score never moved: 56.25 in each of 4 epochs"]
    assert run_flags({"epochs": [{"dev_score": 50.0}, {"dev_score": 61.0}]}) == []
    assert run_flags({"epochs": [{"dev_score": 50.0}]}) == [] and run_flags(None) == []


def test_diagnose_counts_examples_and_keeps_only_flagged_languages():
    from types import SimpleNamespace

    spec = SimpleNamespace(labels=("no", "yes"), num_choices=None)
    found = diagnose(spec, {"de": ("tsv", "yes\n" * 40), "fr": ("tsv", "yes\nno\n" * 20)},
                     {"de": _accuracy([1] * 20 + [0] * 20), "fr": _accuracy([1] * 38 + [0] * 2)},
                     {"epochs": [{"dev_score": 50.0}, {"dev_score": 70.0}]})
    assert found["n"] == {"de": 40, "fr": 40} and list(found["flags"]) == ["de"] and found["run_flags"] == []


def test_the_smoke_run_records_n_and_says_why_its_scores_sit_at_chance(smoke_run, smoke_results):
    """The tiny random model answers one class on PAWS-X: the record and the printed table say so."""
    record = json.loads(smoke_results.read_text())
    assert set(record["scores"]["n"].values()) == {32}
    assert all(any(f.startswith("one class") for f in flags) for flags in record["scores"]["flags"].values())
    output = smoke_run[1].output
    assert "flag: en: one class" in output and "say little about transfer" in output
