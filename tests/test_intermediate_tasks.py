"""The English intermediate tasks: readers on the real files, errors, and a smoke run each."""

import csv
import json

import pytest
from click.testing import CliRunner

from harness.cli import cli
from harness.errors import DataFormatError


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


@pytest.mark.parametrize("task", ["mnli", "qqp", "squad", "cosmosqa", "commonsenseqa"])
def test_each_intermediate_task_runs_the_smoke_preset(task, tmp_path):
    result = CliRunner().invoke(cli, ["run", "--inter", task, "--target", "pawsx", "--preset", "smoke",
                                      "--output", str(tmp_path), "--inter-epochs", "1", "--target-epochs", "1",
                                      "--languages", "en,de"])
    assert result.exit_code == 0, result.output
    (path,) = (tmp_path / "runs").glob("*/results.json")
    record = json.loads(path.read_text())
    assert record["intermediate_tasks"] == [task] and record["phases"]["intermediate"]["train_examples"] == 64
