"""The English intermediate tasks: readers on the real files, errors, and a smoke run each."""

import csv
import json

import pytest
from click.testing import CliRunner

from harness.cli import cli
from harness.contract.errors import DataFormatError


def _read(registry, name, path, split="train"):
    return list(registry.task("intermediate", name).spec.local.read(path, split, "en"))


def test_mnli_reads_glue_tsv(registry, shared_data):
    for split, name in (("train", "train.tsv"), ("dev", "dev_matched.tsv")):
        path = shared_data / "mnli" / "glue_MNLI" / name
        examples = _read(registry, "mnli", path, split)
        with open(path, encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
        labels = registry.task("intermediate", "mnli").spec.labels
        assert [(e["text"], e["text_pair"], labels[e["label"]]) for e in examples] == \
            [(r["sentence1"], r["sentence2"], r["gold_label"]) for r in rows]


def test_qqp_reads_glue_tsv(registry, shared_data):
    examples = _read(registry, "qqp", shared_data / "qqp" / "QQP" / "train.tsv")
    assert len(examples) == 9 and examples[1]["label"] == 1
    assert examples[1]["text"] == "How do I control my horny emotions?"


def test_squad_reads_real_squad_json(registry, shared_data):
    examples = _read(registry, "squad", shared_data / "squad" / "v1.1" / "xquad.en.json", "dev")
    assert len(examples) == 1190
    assert all(e["context"][e["answers"][0]["answer_start"]:].startswith(e["answers"][0]["text"]) for e in examples)


def test_cosmosqa_reads_the_real_csv(registry, shared_data):
    examples = _read(registry, "cosmosqa", shared_data / "cosmosqa" / "valid.csv", "dev")
    assert len(examples) == 300 and all(len(e["choices"]) == 4 for e in examples)
    with open(shared_data / "cosmosqa" / "valid.csv", encoding="utf-8", newline="") as handle:
        first = next(csv.DictReader(handle))
    assert examples[0]["choices"][int(first["label"])] == first[f"answer{first['label']}"]
    assert examples[0]["context"] == f"{first['context']} {first['question']}"


def test_commonsenseqa_reads_nested_and_flattened_records(registry, shared_data):
    nested = _read(registry, "commonsenseqa", shared_data / "commonsenseqa" / "train_rand_split.jsonl")
    assert nested[0]["context"] == "Where would you find magazines along side many other printed works?"
    assert nested[0]["choices"][nested[0]["label"]] == "bookstore"
    flat = _read(registry, "commonsenseqa", shared_data / "commonsenseqa" / "hf_flattened_format" /
                 "dev_rand_split.jsonl", "dev")
    assert len(flat) == 1221
    record = json.loads((shared_data / "commonsenseqa" / "hf_flattened_format" / "dev_rand_split.jsonl")
                        .read_text().splitlines()[0])
    assert flat[0]["choices"][flat[0]["label"]] == record["choices"]["text"][record["choices"]["label"].index(
        record["answerKey"])]


def test_malformed_intermediate_files_name_file_and_line(registry, tmp_path):
    bad = tmp_path / "dev_matched.tsv"
    bad.write_text("sentence1\tsentence2\tgold_label\na\tb\tneutral\nc\td\t-\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match=r"dev_matched.tsv:3: unknown label '-'"):
        _read(registry, "mnli", bad)
    bad = tmp_path / "valid.csv"
    bad.write_text("id,context,question,answer0,answer1,answer2,answer3,label\n1,c,q,a,b,c,d,7\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match=r"valid.csv:2: label must be 0-3"):
        _read(registry, "cosmosqa", bad)


@pytest.mark.parametrize("task", ["anli", "mnli", "qqp", "squad", "squad_v2", "cosmosqa", "commonsenseqa", "ccg"])
def test_each_intermediate_task_runs_the_smoke_preset(task, tmp_path):
    result = CliRunner().invoke(cli, ["run", "--inter", task, "--target", "pawsx", "--preset", "smoke",
                                      "--output", str(tmp_path), "--inter-epochs", "1", "--target-epochs", "1",
                                      "--languages", "en,de"])
    assert result.exit_code == 0, result.output
    (path,) = (tmp_path / "runs").glob("*/results.json")
    record = json.loads(path.read_text())
    # ANLI+ joins three rounds, MNLI and SNLI; the CCG sample has 48 sentences in section 02
    expected = {"anli": 16 * 3 + 8 + 8, "ccg": 48}.get(task, 64)
    assert record["intermediate_tasks"] == [task] and record["phases"]["intermediate"]["train_examples"] == expected


def test_anli_plus_reads_the_real_anli_rounds(registry, shared_data):
    folder = shared_data / "anli" / "anli_v0.1_hf_dummy"
    labels = registry.task("intermediate", "anli").spec.labels
    for round_ in ("R1", "R2", "R3"):
        for split in ("train", "dev"):
            path = folder / round_ / f"{split}.jsonl"
            rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
            examples = _read(registry, "anli", path, split)
            assert [(e["text"], e["text_pair"], labels[e["label"]][0]) for e in examples] == \
                [(r["context"], r["hypothesis"], r["label"]) for r in rows]
    mnli = _read(registry, "anli", shared_data / "mnli" / "glue_MNLI" / "train.tsv")
    assert mnli and all(0 <= e["label"] < 3 for e in mnli)


def test_squad_v2_reads_unanswerable_questions(registry, shared_data):
    examples = _read(registry, "squad_v2", shared_data / "squad" / "v2.0" / "dev-v2.0.json", "dev")
    raw = json.loads((shared_data / "squad" / "v2.0" / "dev-v2.0.json").read_text())
    impossible = sum(qa["is_impossible"] for a in raw["data"] for p in a["paragraphs"] for qa in p["qas"])
    assert len(examples) == 208 and impossible > 0
    assert sum(not e["answers"] for e in examples) == impossible


def test_squad_v2_scoring_follows_the_official_definition():
    from harness.compute.metrics import squad_v2_em_f1

    data = [{"paragraphs": [{"qas": [
        {"id": "a", "answers": [{"text": "Paris"}]},            # answerable, answered right
        {"id": "b", "answers": []},                              # unanswerable, predicted empty: right
        {"id": "c", "answers": []},                              # unanswerable, answered: wrong
        {"id": "d", "answers": [{"text": "the city of Lima"}]},  # answerable, predicted empty: wrong
    ]}]}]
    result = squad_v2_em_f1(data, {"a": "Paris", "b": "", "c": "Lima", "d": ""})
    assert result["exact_match"] == 50.0 and result["f1"] == 50.0
    assert result["HasAns_exact"] == 50.0 and result["NoAns_exact"] == 50.0
    # "d": "lima" against "city of lima": precision 1, recall 1/3, F1 1/2
    partial = squad_v2_em_f1(data, {"a": "Paris", "b": "", "c": "", "d": "Lima"})
    assert partial["exact_match"] == 75.0 and partial["f1"] == pytest.approx(100 * (3 + 0.5) / 4)


def test_no_answer_wins_when_its_score_beats_every_span():
    from harness.kinds import get_kind

    kind = get_kind("span_qa")
    feature = {"example": 0, "offsets": [None, (0, 4), (5, 10)]}
    span = ([(1, 2.0)], [(2, 2.0)])
    assert kind.answers([(*span, 5.0)], [feature], 1, ["Anna lives"], allow_no_answer=True) == [""]
    assert kind.answers([(*span, 3.0)], [feature], 1, ["Anna lives"], allow_no_answer=True) == ["Anna lives"]
    assert kind.answers([(*span, 5.0)], [feature], 1, ["Anna lives"]) == ["Anna lives"]  # SQuAD 1.1: always a span


def test_translated_training_files_are_read_like_the_english_ones(registry, shared_data):
    mnli = registry.task("intermediate", "mnli").spec
    assert "de" in mnli.translated_train
    path = shared_data / "xnli" / "XNLI-MT-1.0" / "multinli" / "multinli.train.de.tsv"
    rows = [line.split("\t") for line in path.read_text(encoding="utf-8").splitlines()[1:] if line]
    examples = list(mnli.local.read(path, "train", "de"))
    assert [(e["text"], e["text_pair"]) for e in examples] == [(r[0], r[1]) for r in rows]
    squad = registry.task("intermediate", "squad").spec
    translated = shared_data / "mlqa" / "mlqa-translate-train" / "de_squad-translate-train-train-v1.1.json"
    german = list(squad.local.read(translated, "train", "de"))
    assert german and all(e["context"][e["answers"][0]["answer_start"]:].startswith(e["answers"][0]["text"])
                          for e in german)


def test_translated_intermediate_training_runs_and_is_recorded(tmp_path):
    result = CliRunner().invoke(cli, ["run", "--inter", "mnli", "--translated", "de", "--target", "pawsx",
                                      "--preset", "smoke", "--output", str(tmp_path), "--inter-epochs", "1",
                                      "--target-epochs", "1", "--languages", "en"])
    assert result.exit_code == 0, result.output
    (path,) = (tmp_path / "runs").glob("*/results.json")
    record = json.loads(path.read_text())
    assert record["hyperparameters"]["intermediate"]["translated"] == "de"
    assert record["phases"]["intermediate"]["train_examples"] == 48  # the German sample, not the English one
    refused = CliRunner().invoke(cli, ["run", "--inter", "qqp", "--translated", "de", "--target", "pawsx",
                                       "--preset", "smoke", "--output", str(tmp_path)])
    assert refused.exit_code == 1 and "qqp has no translated training data in 'de'" in refused.output


def test_ccg_reads_ccgbank_auto_by_section_and_takes_its_tags_from_training(registry, tmp_path):
    from harness.kinds.tagging import OTHER, labels_from_training

    spec = registry.task("intermediate", "ccg").spec
    section = tmp_path / "data" / "AUTO" / "02"
    section.mkdir(parents=True)
    auto = section / "wsj_0201.auto"
    auto.write_text("ID=wsj_0201.1 PARSER=GOLD NUMPARSE=1\n"
                    "(<T S[dcl] 0 2> (<T NP 0 1> (<L N NNP NNP Pierre N>) ) (<T S[dcl]\\NP 0 1> "
                    "(<L S[dcl]\\NP VBZ VBZ sleeps S[dcl]\\NP>) ) )\n", encoding="utf-8")
    (example,) = spec.local.read(auto, "train", "en")
    assert example == {"words": ["Pierre", "sleeps"], "tags": ["N", "S[dcl]\\NP"]}
    assert list(spec.local.read(auto, "dev", "en")) == []  # section 02 belongs to training
    assert labels_from_training([example] * 3 + [{"words": ["x"], "tags": ["N"]}], 4) == ("N", OTHER)
    auto.write_text("ID=wsj_0201.1\n(<T S[dcl] 0 2> (<L N NNP NNP Pierre N>)\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match=r"wsj_0201.auto:2: not a CCGbank AUTO derivation"):
        list(spec.local.read(auto, "train", "en"))


def test_ccg_without_local_files_says_where_to_put_them(tmp_path):
    result = CliRunner().invoke(cli, ["run", "--inter", "ccg", "--target", "pawsx", "--model", "tiny",
                                      "--output", str(tmp_path)])
    assert result.exit_code == 1 and "ccg is read from local files only" in result.output
    assert "data/AUTO/*/*.auto" in result.output and len(result.output.strip().splitlines()) == 1
