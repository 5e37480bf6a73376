"""The plugin's own tests: xharness's contract kit (registration, samples, featurisation, a smoke
run on the tiny model), the readers on the released layouts and on anything else, and the kind's
metrics. Run with ``python -m pytest tests``; nothing is downloaded."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # before any Hugging Face import: never wait on the hub
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

import pytest  # noqa: E402

from harness.api import DataFormatError, outcome_score  # noqa: E402
from harness.testing import assert_plugin_ok, example_problem  # noqa: E402

import xharness_sts as plugin  # noqa: E402


def test_plugin_ok():
    """Registration, metric, samples, featurisation and a smoke run, checked as for a built-in kind."""
    assert_plugin_ok("xharness_sts", smoke=True)


def test_the_samples_are_parallel_translations():
    """stsb_multi_mt's row i translates STS-B's row i with the same score, in every language."""
    read = {lang: list(plugin.read_task_file(plugin.SAMPLES / plugin.task_file("test", lang), "test", lang))
            for lang in plugin.LANGUAGES}
    scores = {lang: [e["score"] for e in examples] for lang, examples in read.items()}
    assert len(scores["en"]) == 64 and all(values == scores["en"] for values in scores.values())


def test_the_benchmark_layout_reads_scores_and_pairs():
    examples = list(plugin.read_task_file(plugin.SAMPLES / "stsbenchmark" / "sts-train.csv", "train", "en"))
    assert len(examples) == 128 and all(0 <= e["score"] <= 5 for e in examples)
    assert all(e["text"] and e["text_pair"] for e in examples)


@pytest.mark.parametrize("name, text, problem", [
    ("sts-dev.csv", "main\tx\t2014\t1\t3.0\tonly one sentence\n", "expected at least 7 tab-separated fields"),
    ("sts-dev.csv", "main\tx\t2014\t1\thigh\ta\tb\n", "score 'high' is not a number"),
    ("stsb-de-test.csv", "a,b\n", "expected 3 comma-separated fields"),
])
def test_other_layouts_are_one_line_errors(tmp_path, name, text, problem):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataFormatError) as caught:
        list(plugin.read_task_file(path, "dev", "de"))
    assert problem in str(caught.value) and "\n" not in str(caught.value)


def test_a_score_off_the_scale_is_an_example_problem():
    from harness.testing import discover

    kinds = discover([("sts", plugin)], autoload=False).kind_set
    good = {"text": "a", "text_pair": "b", "score": 4.2}
    assert example_problem(plugin.TASK_SPEC, good, kinds) is None
    assert example_problem(plugin.TASK_SPEC, {**good, "score": 7.0}, kinds) == \
        "score 7.0 is outside [0, 5] (the task's score_max)"
    assert "no field 'score'" in example_problem(plugin.TASK_SPEC, {"text": "a", "text_pair": "b"}, kinds)


def test_correlations_may_be_negative_and_are_recomputed_from_outcomes():
    from scipy import stats

    from xharness_sts.kind import KIND

    spec = plugin.TASK_SPEC
    gold = [0.2, 0.4, 0.6, 0.8, 1.0]
    features = [{"label": g} for g in gold]
    reversed_predictions = [1.0, 0.9, 0.5, 0.3, 0.0]
    outcome = KIND.outcome(reversed_predictions, features, spec, "de")
    expected = 100 * stats.pearsonr(reversed_predictions, gold).statistic
    assert outcome_score(outcome) == pytest.approx(expected) and expected < 0
    # a resample of the examples gives the correlation of exactly the pairs it holds
    assert outcome_score(outcome, [0, 1, 2]) == pytest.approx(100 * stats.pearsonr([1.0, 0.9, 0.5], gold[:3]).statistic)
