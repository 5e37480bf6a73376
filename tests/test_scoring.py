"""`xharness score` equals XTREME's evaluate.py, on the mock data and on hard cases worked out by hand."""

import json
import math

import pytest
from click.testing import CliRunner

from harness.compute import metrics
from harness.cli import cli


def test_mock_data_equals_the_official_scores(shared_data):
    mock = shared_data / "xtreme_mock_test_data"
    result = CliRunner().invoke(cli, ["score", "--predictions", str(mock / "predictions"),
                                      "--labels", str(mock / "labels"), "--json"])
    assert result.exit_code == 0, result.output
    ours = json.loads(result.output)
    official = json.loads((mock / "official_scores.json").read_text())

    def same(a, b, where):
        if isinstance(b, dict):
            assert list(a) == list(b), where  # same keys, same order
            for key in b:
                same(a[key], b[key], f"{where}/{key}")
        else:
            assert math.isclose(a, b, rel_tol=0, abs_tol=1e-9), where

    same(ours, official, "")


def test_text_output_lists_tasks_and_summary(shared_data):
    mock = shared_data / "xtreme_mock_test_data"
    result = CliRunner().invoke(cli, ["score", "--predictions", str(mock / "predictions"),
                                      "--labels", str(mock / "labels")])
    assert result.exit_code == 0
    assert "udpos score: 70.40" in result.output and "all_task" in result.output and "62.19" in result.output


# -- tagging: seqeval's reading of tags ------------------------------------------------------

def test_i_tag_after_o_starts_an_entity():
    gold = [["B-PER", "I-PER", "O", "I-LOC"]]
    assert metrics.entities(gold) == {("PER", 0, 1), ("LOC", 3, 3)}
    predicted = [["I-PER", "I-PER", "O", "B-LOC"]]  # same chunks, other prefixes
    assert metrics.seqeval_prf(gold, predicted)["f1"] == 100.0


def test_type_change_and_sentence_boundary_split_entities():
    assert metrics.entities([["B-PER", "I-LOC"]]) == {("PER", 0, 0), ("LOC", 1, 1)}
    # the O joined after each sentence ends an entity at the boundary
    assert metrics.entities([["B-PER"], ["I-PER"]]) == {("PER", 0, 0), ("PER", 2, 2)}


def test_precision_recall_and_f1_from_counts():
    gold = [["B-PER", "I-PER", "O", "B-LOC"]]
    predicted = [["B-PER", "I-PER", "O", "O"]]
    scores = metrics.seqeval_prf(gold, predicted)  # 1 correct of 1 predicted, of 2 gold
    assert scores["precision"] == 100.0 and scores["recall"] == 50.0
    assert scores["f1"] == pytest.approx(200 / 3)
    assert metrics.seqeval_prf(gold, [["O", "O", "O", "O"]]) == {"f1": 0.0, "precision": 0.0, "recall": 0.0}


def test_pos_tags_are_read_as_seqeval_reads_them():
    # 'NOUN' is tag 'N' of type 'OUN': two NOUNs in a row form one chunk, so getting only the
    # first right scores nothing; 'SCONJ' starts with 'S' (single), so each is its own chunk.
    assert metrics.entities([["NOUN", "NOUN"]]) == {("OUN", 0, 1)}
    assert metrics.seqeval_prf([["NOUN", "NOUN"]], [["NOUN", "VERB"]])["f1"] == 0.0
    assert metrics.entities([["SCONJ", "SCONJ"]]) == {("CONJ", 0, 0), ("CONJ", 1, 1)}


# -- QA: SQuAD and MLQA normalisation -------------------------------------------------------------

def _dataset(*qas):
    return [{"paragraphs": [{"context": "", "qas": [{"id": str(i), "answers": [{"text": a} for a in answers]}
                                                     for i, answers in enumerate(qas)]}]}]


@pytest.mark.parametrize("lang, predicted, gold", [
    ("en", "The cat!", "cat"),
    ("de", "Der Hund.", "Hund"),
    ("es", "los perros", "perros"),
    ("vi", "những con mèo", "con mèo"),
    ("ar", "الكتاب", "كتاب"),
    ("hi", "भारत।", "भारत"),      # the danda is Unicode punctuation
    ("zh", "北京。", "北京"),
])
def test_mlqa_normalisation_per_language(lang, predicted, gold):
    assert metrics.mlqa_em_f1(_dataset([gold]), {"0": predicted}, lang) == {"exact_match": 100.0, "f1": 100.0}


def test_squad_normalisation_is_english_only():
    assert metrics.squad_em_f1(_dataset(["cat"]), {"0": "The cat!"}) == {"exact_match": 100.0, "f1": 100.0}
    # ASCII punctuation only, English articles only
    assert metrics.squad_em_f1(_dataset(["भारत"]), {"0": "भारत।"})["exact_match"] == 0.0
    assert metrics.squad_em_f1(_dataset(["Hund"]), {"0": "der Hund"})["f1"] == pytest.approx(100 * 2 / 3)


def test_chinese_answers_are_scored_per_character():
    # pred 北京大学 → 4 tokens, gold 北京 → 2; overlap 2: P 1/2, R 1 → F1 2/3
    scores = metrics.mlqa_em_f1(_dataset(["北京"]), {"0": "北京大学"}, "zh")
    assert scores["exact_match"] == 0.0 and scores["f1"] == pytest.approx(100 * 2 / 3)


def test_missing_predictions_score_zero_and_best_gold_answer_counts():
    data = _dataset(["Paris", "the city of Paris"], ["Rome"])
    assert metrics.squad_em_f1(data, {"0": "city of Paris"}) == {"exact_match": 50.0, "f1": 50.0}


def test_bucc_pair_f1():
    gold = ["de-1\ten-1", "de-2\ten-2"]
    predicted = ["de-1\ten-1", "de-2\ten-9", "de-3\ten-3", "de-1\ten-1"]  # duplicates count once
    scores = metrics.pair_f1(gold, predicted)
    assert scores["precision"] == pytest.approx(100 / 3) and scores["recall"] == 50.0
    assert scores["f1"] == pytest.approx(40.0)
    assert metrics.pair_f1(gold, ["de-5\ten-5"])["f1"] == 0.0


# -- folders and errors ----------------------------------------------------------------------

def _write(folder, task, lang, lines):
    path = folder / task / f"test-{lang}.tsv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{line}\n" for line in lines))


def test_partial_folders_give_group_but_no_overall_score(tmp_path):
    for side in ("p", "l"):
        for lang in ("de", "en", "es", "fr", "ja", "ko", "zh"):
            _write(tmp_path / side, "pawsx", lang, ["1", "0"] if side == "l" else ["1", "1"])
    result = CliRunner().invoke(cli, ["score", "--predictions", str(tmp_path / "p"), "--labels",
                                      str(tmp_path / "l"), "--json"])
    scores = json.loads(result.output)
    assert "all_task" not in scores and "classification" not in scores  # xnli is missing
    assert scores["pawsx"]["avg_metric"] == 50.0 and scores["pawsx"]["accuracy"]["ja"] == 50.0


def test_length_mismatch_and_missing_file_are_one_line_errors(tmp_path):
    for lang in ("de", "en", "es", "fr", "ja", "ko", "zh"):
        _write(tmp_path / "l", "pawsx", lang, ["1", "0"])
        if lang != "zh":
            _write(tmp_path / "p", "pawsx", lang, ["1"] if lang == "fr" else ["1", "0"])
    result = CliRunner().invoke(cli, ["score", "--predictions", str(tmp_path / "p"), "--labels", str(tmp_path / "l")])
    assert result.exit_code == 1 and "pawsx fr: 1 lines of predictions for 2 of labels" in result.output
    _write(tmp_path / "p", "pawsx", "fr", ["1", "0"])
    result = CliRunner().invoke(cli, ["score", "--predictions", str(tmp_path / "p"), "--labels", str(tmp_path / "l")])
    assert result.exit_code == 1 and "test-zh.tsv is missing" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_a_runs_predictions_rescore_to_its_own_numbers(smoke_results, tmp_path):
    """`run` writes leaderboard-format predictions: re-scoring them offline gives the run's scores."""
    import xharness_xtreme

    results = smoke_results
    record = json.loads(results.read_text())
    samples = __import__("pathlib").Path(xharness_xtreme.__file__).parent / "samples" / "pawsx" / "x-final"
    for lang in record["languages"]:
        rows = (samples / lang / "test_2k.tsv").read_text().splitlines()[1:]
        _write(tmp_path / "labels", "pawsx", lang, [row.split("\t")[3] for row in rows])
    scored = CliRunner().invoke(cli, ["score", "--predictions", str(results.parent / "predictions"),
                                      "--labels", str(tmp_path / "labels"), "--json"])
    assert scored.exit_code == 0, scored.output
    assert json.loads(scored.output)["pawsx"]["accuracy"] == record["scores"]["per_language"]
