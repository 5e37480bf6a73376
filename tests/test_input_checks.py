"""Malformed input named in one line (issue 14): BUCC files, SQuAD answer offsets, invalid
UTF-8 in task data, and `xharness score` on undecodable or mistyped prediction files."""

import json
import logging
import shutil
import subprocess
import sys

import pytest
from clicheck import one_error_line
from click.testing import CliRunner

from harness.cli import cli
from harness.data.sources import plan_task_data
from harness.contract.errors import DataFormatError
from harness.data.readers import read_squad_json


# -- BUCC -----------------------------------------------------------------------------------

def _bucc(folder, split="sample", de=("de-1\tHallo", "de-2\tWelt"), en=("en-1\tHello", "en-2\tWorld", "en-3\tYou"),
          gold=("de-1\ten-1", "de-2\ten-3")):
    pair = folder / "de-en"
    pair.mkdir(parents=True, exist_ok=True)
    for suffix, lines in (("de", de), ("en", en), ("gold", gold)):
        if lines is not None:
            (pair / f"de-en.{split}.{suffix}").write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return pair / f"de-en.{split}.de"


@pytest.mark.parametrize("side", ["de", "en"])
def test_bucc_empty_sentences_file_is_named_instead_of_the_gold(registry, tmp_path, side):
    path = _bucc(tmp_path, **{side: ()})
    with pytest.raises(DataFormatError, match=rf"de-en\.sample\.{side}: holds no sentences"):
        list(registry.task("target", "bucc2018").spec.local.read(path, "dev", "de"))


@pytest.mark.parametrize(("side", "gold", "missing"), [("en", "de-2\ten-3", "'en-3' is not in de-en.sample.en"),
                                                       ("de", "de-9\ten-2", "'de-9' is not in de-en.sample.de")])
def test_bucc_gold_id_missing_from_a_truncated_sentences_file_names_id_and_file(registry, tmp_path, side, gold,
                                                                               missing):
    path = _bucc(tmp_path, en=("en-1\tHello", "en-2\tWorld"), gold=("de-1\ten-1", gold))
    with pytest.raises(DataFormatError) as caught:
        list(registry.task("target", "bucc2018").spec.local.read(path, "dev", "de"))
    message = str(caught.value)
    assert "de-en.sample.gold:2: " in message and missing in message
    assert "2 sentences, the last" in message


def test_bucc_empty_test_side_without_gold_is_one_line_not_an_index_error(tmp_path):
    """Before: the empty side reached mining and ended in an IndexError traceback."""
    import xharness_xtreme

    samples = __import__("pathlib").Path(xharness_xtreme.__file__).parent / "samples" / "bucc2018" / "de-en"
    data = tmp_path / "data" / "de-en"
    shutil.copytree(samples, data)
    (data / "de-en.test.gold").unlink()
    (data / "de-en.test.en").write_text("", encoding="utf-8")
    result = CliRunner().invoke(cli, ["run", "--inter", "none", "--target", "bucc2018", "--preset", "smoke",
                                      "--languages", "de", "--data-dir", str(tmp_path / "data"),
                                      "--output", str(tmp_path / "out")])
    one_error_line(result, "de-en.test.en: holds no sentences")


def test_bucc_invalid_utf8_in_the_gold_file_names_gold_file_and_line(registry, tmp_path):
    path = _bucc(tmp_path)
    (path.parent / "de-en.sample.gold").write_bytes(b"de-1\ten-1\nde-2\xff\ten-3\n")
    data = plan_task_data(registry.task("target", "bucc2018"), [("dev", "de")], source="local", data_dir=tmp_path)
    with pytest.raises(DataFormatError, match=r"de-en\.sample\.gold:2: not UTF-8 text \(invalid start byte 0xff"):
        data.load("dev", "de")


# -- SQuAD-format answers -------------------------------------------------------------------

CONTEXT = "Denver Broncos won Super Bowl 50 in\nSanta Clara."


def _squad_file(path, qas, context=CONTEXT):
    path.write_text(json.dumps({"version": "1.1", "data": [{"title": "t", "paragraphs": [
        {"context": context, "qas": [{"id": i, "question": f"{i}?", **rest} for i, rest in qas]}]}]}),
        encoding="utf-8")
    return path


def _answers(*pairs):
    return {"answers": [{"text": text, "answer_start": start} for text, start in pairs]}


def test_answers_not_at_their_offset_are_skipped_and_counted_once(registry, tmp_path, caplog):
    path = _squad_file(tmp_path / "train-v1.1.json", [
        ("good", _answers(("Broncos", 7))),
        ("one-bad", _answers(("Super Bowl 50", 19), ("Super Bowl 50", 20))),  # second is one character late
        ("all-bad", _answers(("Santa Clara", 400), ("Santa Clara", -1), ("Denver", 7))),  # out of range, wrong text
        ("spaces", _answers((" Santa  Clara ", 35))),  # whitespace differs from the context's "\nSanta Clara"
    ])
    with caplog.at_level(logging.WARNING):
        examples = list(registry.task("target", "xquad").spec.local.read(path, "train", "en"))
    assert [e["id"] for e in examples] == ["good", "one-bad", "spaces"]
    assert examples[1]["answers"] == [{"text": "Super Bowl 50", "answer_start": 19}]
    assert examples[2]["answers"] == [{"text": "Santa Clara", "answer_start": 36}]
    for example in examples:
        for answer in example["answers"]:
            start = answer["answer_start"]
            assert CONTEXT[start:start + len(answer["text"])] == answer["text"]
    (record,) = caplog.records
    assert record.levelno == logging.WARNING
    assert record.getMessage() == (f"{path}: skipped 4 answer(s) whose text is not at their answer_start in the "
                                   f"context; dropped 1 question(s) left with no answer")


def test_squad_v2_unanswerable_questions_are_kept_without_a_warning(tmp_path, caplog):
    path = _squad_file(tmp_path / "dev-v2.0.json", [
        ("impossible", {"answers": [], "plausible_answers": [{"text": "Lima", "answer_start": 3}],
                        "is_impossible": True}),
        ("answerable", {**_answers(("Santa Clara", 36)), "is_impossible": False}),
    ])
    with caplog.at_level(logging.WARNING):
        examples = list(read_squad_json(path))
    assert [(e["id"], len(e["answers"])) for e in examples] == [("impossible", 0), ("answerable", 1)]
    assert not caplog.records


def test_tydiqa_warning_names_the_language_it_read(tmp_path, caplog):
    path = _squad_file(tmp_path / "tydiqa-goldp-v1.1-dev.json", [
        ("arabic-1", _answers(("Broncos", 8))), ("english-1", _answers(("Broncos", 7)))])
    with caplog.at_level(logging.WARNING):
        assert [e["id"] for e in read_squad_json(path, id_prefix="english-")] == ["english-1"]
        assert list(read_squad_json(path, id_prefix="arabic-")) == []
    assert [r.getMessage().split(": ")[0] for r in caplog.records] == [f"{path} (questions arabic-*)"]


def test_the_warning_is_one_line_on_stderr(tmp_path):
    """Readers have no reporter: the warning goes through logging, which prints just the message."""
    path = _squad_file(tmp_path / "dev-v1.1.json", [("bad", _answers(("Broncos", 0)))])
    code = "import sys; from pathlib import Path; from harness.data.readers import read_squad_json; " \
           "print(len(list(read_squad_json(Path(sys.argv[1])))))"
    done = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True)
    assert done.stdout == "0\n"
    assert done.stderr.splitlines() == [f"{path}: skipped 1 answer(s) whose text is not at their answer_start in "
                                        f"the context; dropped 1 question(s) left with no answer"]


def test_real_squad_xquad_mlqa_and_tydiqa_files_read_unchanged_without_warnings(shared_data, caplog):
    paths = sorted([*shared_data.glob("squad/**/*.json"), *shared_data.glob("xquad/*.json"),
                    *shared_data.glob("mlqa/MLQA_V1/*/*.json"), *shared_data.glob("mlqa/mlqa-translate-train/*.json"),
                    *shared_data.glob("tydiqa/*.json")])
    assert len(paths) >= 40
    with caplog.at_level(logging.WARNING):
        for path in paths:
            raw = json.loads(path.read_text(encoding="utf-8"))["data"]
            given = [(qa["id"], [] if qa.get("is_impossible") else [(a["text"], a["answer_start"]) for a in qa["answers"]])
                     for article in raw for paragraph in article["paragraphs"] for qa in paragraph["qas"]]
            read = [(e["id"], [(a["text"], a["answer_start"]) for a in e["answers"]]) for e in read_squad_json(path)]
            assert read == given, path
    assert not caplog.records


# -- invalid UTF-8 in task data -------------------------------------------------------------

def test_invalid_utf8_names_the_line_even_far_into_the_file(registry, tmp_path):
    rows = [f"{i}\tEin Satz Nummer {i} mit Umlauten äöü.\tA sentence number {i}.\t1" for i in range(1, 5001)]
    raw = ("id\tsentence1\tsentence2\tlabel\n" + "".join(f"{row}\n" for row in rows)).encode("utf-8")
    at = raw.index(b"Satz Nummer 4321 ")
    path = tmp_path / "pawsx" / "x-final" / "de" / "test_2k.tsv"
    path.parent.mkdir(parents=True)
    path.write_bytes(raw[:at] + b"\xe4" + raw[at:])  # a Latin-1 "ä", far beyond the first decoded chunk
    data = plan_task_data(registry.task("target", "pawsx"), [("test", "de")], source="local", data_dir=tmp_path)
    with pytest.raises(DataFormatError) as caught:
        data.load("test", "de")
    assert str(caught.value) == f"{path}:4322: not UTF-8 text (invalid continuation byte 0xe4 at byte 10 of the line)"


def test_invalid_utf8_in_a_file_read_beside_the_named_one_does_not_blame_its_lines(registry, tmp_path):
    folder = tmp_path / "v1"
    folder.mkdir()
    (folder / "tatoeba.deu-eng.deu").write_text("Hallo\n", encoding="utf-8")
    (folder / "tatoeba.deu-eng.eng").write_bytes(b"Caf\xe9\n")
    data = plan_task_data(registry.task("target", "tatoeba"), [("test", "de")], source="local", data_dir=tmp_path)
    with pytest.raises(DataFormatError, match=r"tatoeba\.deu-eng\.deu: a file read with it is not UTF-8 text"):
        data.load("test", "de")


# -- xharness score -------------------------------------------------------------------------

def _mock_task(shared_data, tmp_path, task):
    mock = shared_data / "xtreme_mock_test_data"
    for side in ("predictions", "labels"):
        shutil.copytree(mock / side / task, tmp_path / side / task)
    return tmp_path / "predictions" / task, tmp_path / "labels" / task


def _score(tmp_path):
    return CliRunner().invoke(cli, ["score", "--predictions", str(tmp_path / "predictions"),
                                    "--labels", str(tmp_path / "labels"), "--leaderboard", "xtreme"])


@pytest.mark.parametrize(("task", "side", "name"), [("pawsx", "predictions", "test-fr.tsv"),
                                                    ("udpos", "labels", "test-de.tsv"),
                                                    ("xquad", "predictions", "test-de.json"),
                                                    ("xquad", "labels", "test-de.json")])
def test_score_names_file_and_line_of_invalid_utf8(shared_data, tmp_path, task, side, name):
    folders = dict(zip(("predictions", "labels"), _mock_task(shared_data, tmp_path, task)))
    path = folders[side] / name
    lines = path.read_bytes().split(b"\n")
    lines[2] = b"\xff" + lines[2]
    path.write_bytes(b"\n".join(lines))
    one_error_line(_score(tmp_path), f"{path}:3: not UTF-8 text (invalid start byte 0xff at byte 1 of the line)")


@pytest.mark.parametrize(("answer", "shown"), [(3, "3"), (["308", "136"], '["308", "136"]'), (None, "null")])
def test_score_names_file_and_question_of_a_non_string_qa_answer(shared_data, tmp_path, answer, shown):
    predictions, _ = _mock_task(shared_data, tmp_path, "xquad")
    path = predictions / "test-de.json"
    answers = json.loads(path.read_text(encoding="utf-8"))
    question = list(answers)[1]
    answers[question] = answer
    path.write_text(json.dumps(answers), encoding="utf-8")
    one_error_line(_score(tmp_path), str(path), f"the answer to question {question!r} is {shown}, not a string")


def test_score_rejects_labels_that_are_not_squad_format(shared_data, tmp_path):
    _, labels = _mock_task(shared_data, tmp_path, "xquad")
    path = labels / "test-de.json"
    path.write_text(json.dumps({"data": [{"paragraphs": [{"qas": [{"id": "q1", "answers": []}]}]}]}), encoding="utf-8")
    one_error_line(_score(tmp_path), f"{path}: question 'q1' needs one or more answer texts")
    path.write_text(json.dumps({"data": [{"title": "no paragraphs"}]}), encoding="utf-8")
    one_error_line(_score(tmp_path), f"{path}: not SQuAD-format labels (missing or bad 'paragraphs')")
