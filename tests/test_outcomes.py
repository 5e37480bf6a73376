"""Per-example outcomes beside results.json: every kind writes them, and they give its scores exactly."""

import json
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from harness.compute import outcomes
from harness.cli import cli
from harness.data.sources import plan_task_data
from harness.kinds import get_kind
from harness.kinds.retrieval import tatoeba_accuracy, tatoeba_search
from harness.compute.metrics import (
    entity_counts, mlqa_em_f1, pair_counts, pair_f1, qa_per_question, seqeval_prf, squad_em_f1, squad_normalize,
    squad_v2_em_f1, squad_v2_per_question, mlqa_normalize,
)
from harness.contract.spec import LocalSource, TaskSpec

#: target → (languages of the run, the aggregate its outcomes use)
RUNS = {
    "pawsx": ("en,de", "accuracy"),
    "udpos": ("en,de", "f1_counts"),
    "panx": ("en,ja", "f1_counts"),
    "xquad": ("en,de", "qa"),
    "mlqa": ("en,de,zh", "qa"),
    "tydiqa": ("en,ko", "qa"),
    "tatoeba": ("de,ja", "accuracy"),
    "bucc2018": ("de,zh", "f1_counts"),
}


def _run(target: str, languages: str, output: Path) -> tuple[Path, dict]:
    result = CliRunner().invoke(cli, ["run", "--inter", "none", "--target", target, "--preset", "smoke",
                                      "--languages", languages, "--target-epochs", "1", "--output", str(output)])
    assert result.exit_code == 0, result.output
    (path,) = (output / "runs").glob("*/results.json")
    return path.parent, json.loads(path.read_text(encoding="utf-8"))


def _gold(registry, target: str, lang: str) -> list[dict]:
    data = plan_task_data(registry.task("target", target), [("test", lang)], source="bundled", data_dir=None)
    return data.load("test", lang)


@pytest.mark.parametrize("target", sorted(RUNS))
def test_outcomes_recompute_every_reported_score_exactly(target, registry, tmp_path):
    languages, aggregate = RUNS[target]
    run_dir, record = _run(target, languages, tmp_path)
    per_language = record["scores"]["per_language"]
    assert sorted(per_language) == sorted(languages.split(","))  # in the task's own order
    assert record["outcomes"]["schema"] == outcomes.SCHEMA
    assert record["outcomes"]["files"] == {lang: f"outcomes/test-{lang}.json" for lang in per_language}
    sealed = json.loads((run_dir / "manifest.json").read_text())["files"]
    kind = registry.task("target", target).spec.kind
    for lang, score in per_language.items():
        assert f"outcomes/test-{lang}.json" in sealed  # covered by the manifest like results.json
        outcome = outcomes.load(run_dir, lang)
        assert outcome["schema"] == outcomes.SCHEMA and outcome["aggregate"] == aggregate
        assert (outcome["task"], outcome["kind"], outcome["lang"]) == (target, kind, lang)
        assert outcomes.score(outcome) == score  # exactly, after the JSON round trip
        _cross_check(registry, target, lang, outcome, run_dir, record)


def _cross_check(registry, target: str, lang: str, outcome: dict, run_dir: Path, record: dict) -> None:
    """The outcomes against the written predictions and the gold data, through harness.compute.metrics."""
    gold = _gold(registry, target, lang)
    predictions = run_dir / "predictions" / target
    score = record["scores"]["per_language"][lang]
    if target == "pawsx":
        predicted = (predictions / f"test-{lang}.tsv").read_text().split()
        assert outcome["ids"] == [example["id"] for example in gold]  # PAWS-X's own id column
        assert outcome["correct"] == [int(p == str(example["label"])) for p, example in zip(predicted, gold)]
    elif target in ("udpos", "panx"):
        blocks = (predictions / f"test-{lang}.tsv").read_text().split("\n\n")
        found = [block.split("\n") for block in blocks if block]
        labels = [example["tags"] for example in gold]
        assert outcome["ids"] == [str(i) for i in range(len(gold))]  # no ids in the data: the index
        official = seqeval_prf(labels, found)
        assert abs(official["f1"] - score) <= 1e-9
        assert official["f1"] == record["phases"]["target"]["test_details"][lang]["f1"]
        assert [list(c) for c in zip(outcome["tp"], outcome["fp"], outcome["fn"])] == \
            [list(c) for c in entity_counts(labels, found)]
    elif target in ("xquad", "mlqa", "tydiqa"):
        answers = json.loads((predictions / f"test-{lang}.json").read_text(encoding="utf-8"))
        assert outcome["ids"] == [example["id"] for example in gold]
        dataset = [{"paragraphs": [{"qas": [{"id": e["id"], "answers": e["answers"]} for e in gold]}]}]
        official = mlqa_em_f1(dataset, answers, lang) if target == "mlqa" else squad_em_f1(dataset, answers)
        assert abs((official["f1"] + official["exact_match"]) / 2 - score) <= 1e-9
        assert abs(100 * sum(outcome["f1"]) / len(gold) - official["f1"]) <= 1e-9
        assert abs(100 * sum(outcome["em"]) / len(gold) - official["exact_match"]) <= 1e-9
    elif target == "tatoeba":
        predicted = [int(line) for line in (predictions / f"test-{lang}.tsv").read_text().split()]
        assert outcome["correct"] == [int(p == i) for i, p in enumerate(predicted)]
        ranks = outcome["extra"]["rank"]
        assert len(ranks) == len(gold) and all((r == 1) == bool(c) for r, c in zip(ranks, outcome["correct"]))
    elif target == "bucc2018":
        mined = [line for line in (predictions / f"test-{lang}.tsv").read_text().splitlines() if line]
        assert ["\t".join(pair) for pair in outcome["extra"]["mined"]] == mined
        (corpus,) = gold
        assert outcome["ids"] == [ident for ident, _ in corpus["source"]]
        assert abs(pair_f1(["\t".join(g) for g in corpus["gold"]], mined)["f1"] - score) <= 1e-9
        assert sum(outcome["tp"]) + sum(outcome["fn"]) == len(set(corpus["gold"]))
        assert sum(outcome["tp"]) + sum(outcome["fp"]) == len(mined)


def test_a_resample_scores_only_the_examples_drawn():
    record = outcomes.make("t", "tagging", "de", "f1_counts", ["a", "b", "c"], tp=[2, 0, 1], fp=[0, 1, 0],
                           fn=[1, 0, 3])
    assert outcomes.score(record) == 100.0 * 2 * 3 / (2 * 3 + 1 + 4)
    assert outcomes.score(record, [0, 0, 1]) == 100.0 * 2 * 4 / (2 * 4 + 1 + 2)
    assert outcomes.score(record, [1]) == 0.0


# -- tagging: entities counted as seqeval counts them ------------------------------------------

def test_entity_counts_per_sentence_follow_seqeval():
    gold = [["B-PER", "I-PER", "O", "B-LOC"],          # a person and a place
            ["O", "B-ORG", "I-ORG", "O"],               # an organisation
            ["B-LOC", "O", "O"]]                        # a place
    found = [["B-PER", "I-PER", "O", "B-ORG"],         # the person; the place with a wrong type
             ["O", "I-ORG", "I-ORG", "O"],              # I- after O starts an entity: the same ORG
             ["O", "O", "O"]]                           # the place is missed
    counts = entity_counts(gold, found)
    assert counts == [(1, 1, 1), (1, 0, 0), (0, 0, 1)]
    tp, fp, fn = (sum(c[i] for c in counts) for i in range(3))
    record = outcomes.make("panx", "tagging", "de", "f1_counts", ["0", "1", "2"], tp=[c[0] for c in counts],
                           fp=[c[1] for c in counts], fn=[c[2] for c in counts])
    assert abs(outcomes.score(record) - seqeval_prf(gold, found)["f1"]) <= 1e-9
    assert (tp, fp, fn) == (2, 1, 2)


def test_entity_counts_sum_to_seqeval_where_a_chunk_runs_over_a_sentence_end():
    # UD's one-letter "X" has the type of the O seqeval puts between sentences, so its chunker
    # carries a chunk across; counts per sentence must still add up to seqeval's totals
    gold = [["NOUN", "X"], ["X", "VERB"], ["X"], ["DET", "NOUN", "NOUN"]]
    found = [["NOUN", "NOUN"], ["X", "VERB"], ["ADJ"], ["DET", "NOUN", "X"]]
    counts = entity_counts(gold, found)
    tp, fp, fn = (sum(c[i] for c in counts) for i in range(3))
    official = seqeval_prf(gold, found)
    assert abs(100.0 * 2 * tp / (2 * tp + fp + fn) - official["f1"]) <= 1e-9
    assert abs(100.0 * tp / (tp + fp) - official["precision"]) <= 1e-9
    assert abs(100.0 * tp / (tp + fn) - official["recall"]) <= 1e-9


def test_tagging_kind_scores_from_its_outcomes(tiny_model_dir):
    spec = TaskSpec(name="ner", kind="tagging", description="", languages=("en",), metric="f1",
                    labels=("O", "B-PER", "I-PER", "B-LOC"), local=LocalSource(file=lambda s, l: "", read=None))
    kind = get_kind("tagging")
    labels = {"O": 0, "B-PER": 1, "I-PER": 2, "B-LOC": 3}
    sentences = [["B-PER", "I-PER", "O"], ["O", "B-LOC"]]
    features = [{"labels": [-100] + [labels[t] for t in tags] + [-100], "example": i, "first_word": 0}
                for i, tags in enumerate(sentences)]
    predictions = [[labels[t] for t in ["B-PER", "O", "O"]], [labels[t] for t in ["O", "B-LOC"]]]
    score, details, (extension, text), outcome = kind.evaluate_test(predictions, features, spec, "en")
    assert outcome["tp"] == [0, 1] and outcome["fp"] == [1, 0] and outcome["fn"] == [1, 0]
    assert score == outcomes.score(outcome) and abs(score - details["f1"]) <= 1e-9
    assert kind.evaluate(predictions, features, spec, "en")[0] == score
    assert text == "B-PER\nO\nO\n\nO\nB-LOC\n\n"


# -- QA: per question, as the official scripts score each ----------------------------------------

def _qa_dataset(questions: list[tuple[str, list[str]]]) -> list[dict]:
    return [{"paragraphs": [{"qas": [{"id": i, "answers": [{"text": t, "answer_start": 0} for t in answers]}
                                     for i, answers in questions]}]}]


def test_qa_per_question_takes_the_best_of_several_gold_answers():
    dataset = _qa_dataset([("q1", ["the Eiffel Tower", "Eiffel Tower in Paris"]), ("q2", ["1889"]),
                           ("q3", ["blue whale"]), ("q4", ["nothing"])])
    answers = {"q1": "Eiffel Tower", "q2": "in 1889", "q3": "a whale"}  # q4 has no prediction
    scored = qa_per_question(dataset, answers, squad_normalize)
    assert [s[0] for s in scored] == ["q1", "q2", "q3", "q4"]
    assert scored[0][1:] == (1.0, 1)                      # "the" is dropped: exact against the first answer
    assert scored[1][2] == 0 and scored[1][1] == pytest.approx(2 / 3)
    assert scored[2][1:] == (pytest.approx(2 / 3), 0)
    assert scored[3][1:] == (0, 0)
    record = outcomes.make("xquad", "span_qa", "en", "qa", [s[0] for s in scored], f1=[s[1] for s in scored],
                           em=[s[2] for s in scored])
    official = squad_em_f1(dataset, answers)
    assert abs(outcomes.score(record) - (official["f1"] + official["exact_match"]) / 2) <= 1e-9


def test_qa_per_question_uses_mlqas_normalisation_for_the_answer_language():
    # German articles and Unicode punctuation go under MLQA's rules, not under SQuAD's
    dataset = _qa_dataset([("q1", ["die Berliner Mauer"]), ("q2", ["«Faust»"]), ("q3", ["der Rhein"])])
    answers = {"q1": "Berliner Mauer", "q2": "Faust", "q3": "den Main"}
    scored = qa_per_question(dataset, answers, lambda text: mlqa_normalize(text, "de"))
    assert [s[2] for s in scored] == [1, 1, 0]
    assert [s[2] for s in qa_per_question(dataset, answers, squad_normalize)] == [0, 0, 0]
    official = mlqa_em_f1(dataset, answers, "de")
    assert abs(100 * sum(s[1] for s in scored) / 3 - official["f1"]) <= 1e-9
    assert abs(100 * sum(s[2] for s in scored) / 3 - official["exact_match"]) <= 1e-9


def test_squad_v2_per_question_scores_unanswerable_questions():
    dataset = _qa_dataset([("q1", []), ("q2", []), ("q3", ["Marie Curie"]), ("q4", ["radium"])])
    answers = {"q1": "", "q2": "polonium", "q3": "Curie"}
    scored = squad_v2_per_question(dataset, answers)
    assert [(s[1], s[2]) for s in scored] == [(1.0, 1), (0.0, 0), (pytest.approx(2 / 3), 0), (0.0, 0)]
    official = squad_v2_em_f1(dataset, answers)
    assert abs(100 * sum(s[1] for s in scored) / 4 - official["f1"]) <= 1e-9
    assert abs(100 * sum(s[2] for s in scored) / 4 - official["exact_match"]) <= 1e-9


# -- the other kinds -----------------------------------------------------------------------------

def test_multiple_choice_outcomes_are_whether_each_answer_is_the_label():
    kind = get_kind("multiple_choice")
    spec = TaskSpec(name="mc", kind="multiple_choice", description="", languages=("en",), metric="accuracy",
                    num_choices=4, local=LocalSource(file=lambda s, l: "", read=None))
    features = [{"label": label} for label in (0, 3, 2, 1, 1)]
    predictions = [0, 3, 1, 1, 2]
    score, _, (extension, text), outcome = kind.evaluate_test(predictions, features, spec, "en", ["a", "b", "c", "d", "e"])
    assert outcome["aggregate"] == "accuracy" and outcome["kind"] == "multiple_choice"
    assert outcome["ids"] == ["a", "b", "c", "d", "e"] and outcome["correct"] == [1, 1, 0, 1, 0]
    assert score == outcomes.score(outcome) == 60.0 == kind.score(predictions, features, spec)
    assert kind.outcome(predictions, features, spec, "en")["ids"] == ["0", "1", "2", "3", "4"]


def test_tatoeba_rank_is_one_exactly_when_the_search_is_right():
    source = torch.nn.functional.normalize(torch.randn(40, 16, generator=torch.Generator().manual_seed(0)), dim=-1)
    target = torch.nn.functional.normalize(source + 0.9 * torch.randn(40, 16, generator=torch.Generator().manual_seed(1)),
                                           dim=-1)
    predicted, ranks = tatoeba_search(source, target, chunk=7)
    accuracy, expected = tatoeba_accuracy(source, target)
    assert predicted == expected
    correct = [int(p == i) for i, p in enumerate(predicted)]
    assert 0 < sum(correct) < 40  # some right, some wrong
    assert all((r == 1) == bool(c) for r, c in zip(ranks, correct))
    full = source @ target.T
    for i, rank in enumerate(ranks):
        assert rank == 1 + int((full[i] > full[i, i]).sum()) or correct[i]
    record = outcomes.make("tatoeba", "retrieval", "de", "accuracy", [str(i) for i in range(40)], correct=correct,
                           extra={"rank": ranks})
    assert outcomes.score(record) == accuracy


def test_tatoeba_rank_counts_a_tie_the_search_broke_the_other_way():
    vectors = torch.tensor([[1.0, 0.0], [1.0, 0.0]])  # both sources see both targets alike
    predicted, ranks = tatoeba_search(vectors, vectors.clone())
    assert predicted[0] == predicted[1]  # the search picks one of the tied targets for both
    assert ranks == [1 if p == i else 2 for i, p in enumerate(predicted)]


def test_bucc_counts_per_source_sentence_sum_to_pair_f1():
    gold = ["de-1\ten-1", "de-2\ten-2", "de-3\ten-3"]
    found = ["de-1\ten-1", "de-2\ten-9", "de-4\ten-4"]
    counts = pair_counts(["de-1", "de-2", "de-3", "de-4", "de-5"], gold, found)
    assert counts == [("de-1", 1, 0, 0), ("de-2", 0, 1, 1), ("de-3", 0, 0, 1), ("de-4", 0, 1, 0), ("de-5", 0, 0, 0)]
    record = outcomes.make("bucc2018", "bitext_mining", "de", "f1_counts", [c[0] for c in counts],
                           tp=[c[1] for c in counts], fp=[c[2] for c in counts], fn=[c[3] for c in counts],
                           extra={"mined": [line.split("\t") for line in found]})
    assert abs(outcomes.score(record) - pair_f1(gold, found)["f1"]) <= 1e-9


def test_extra_is_kept_and_ignored_by_the_score_and_arrays_stay_fixed():
    plain = outcomes.make("t", "classification", "en", "accuracy", ["a", "b"], correct=[1, 0])
    with_extra = outcomes.make("t", "classification", "en", "accuracy", ["a", "b"], correct=[1, 0],
                               extra={"rank": [1, 3]})
    assert "extra" not in plain and with_extra["extra"] == {"rank": [1, 3]}
    assert outcomes.score(plain) == outcomes.score(with_extra) == 50.0
    with pytest.raises(ValueError):
        outcomes.make("t", "classification", "en", "accuracy", ["a", "b"], correct=[1, 0], rank=[1, 3])


@pytest.mark.parametrize("aggregate", ["pearson", "spearman"])
def test_the_bootstrap_recomputes_a_correlation_on_every_resample_exactly(aggregate):
    """Pearson and Spearman are not means of per-example values: each resample's score is the
    correlation of exactly the pairs it drew (Pearson from five summed moments, Spearman from the
    drawn pairs themselves), equal to outcomes.score on the same indices."""
    import numpy as np
    from scipy import stats

    from harness.analysis.report import CHUNK, Resampler

    rng = np.random.default_rng(7)
    gold = [round(float(g), 1) for g in rng.uniform(0, 5, 40)]
    prediction = [g + float(e) for g, e in zip(gold, rng.normal(0, 1.5, 40))]
    record = outcomes.make("stsb", "sentence_regression", "de", aggregate, [str(i) for i in range(40)],
                           prediction=prediction, gold=gold)
    expected = (stats.pearsonr if aggregate == "pearson" else stats.spearmanr)(prediction, gold).statistic
    assert outcomes.score(record) == pytest.approx(100 * expected)
    resampler = Resampler(resamples=60, seed=3)
    resampler.add("stsb", "de", "run", record)
    full, resampled = resampler.scores("stsb", "de", "run")
    assert full == outcomes.score(record)
    assert 60 <= CHUNK // 40  # one chunk of draws: replay them
    draws = resampler._rng("stsb", "de").integers(0, 40, size=(60, 40))
    assert list(resampled) == pytest.approx([outcomes.score(record, row) for row in draws.tolist()], abs=1e-9)
    assert len(set(np.round(resampled, 6))) > 50  # resamples differ: the draws are not ignored
