"""Local readers on the real files in ../shared/data, and their errors on malformed input."""

import csv
import json

import pytest

from harness.data.sources import plan_task_data
from harness.contract.errors import DataFormatError, UserError


def _load(registry, role, name, data_dir, needs):
    data = plan_task_data(registry.task(role, name), needs, source="local", data_dir=data_dir)
    return {need: data.load(*need) for need in needs}


def test_pawsx_reads_every_real_xfinal_file(registry, shared_data):
    languages = registry.task("target", "pawsx").spec.languages
    needs = [("train", "en"), ("dev", "en")] + [(s, lang) for lang in languages for s in ("dev", "test")]
    loaded = _load(registry, "target", "pawsx", shared_data, needs)
    for (split, lang), examples in loaded.items():
        raw = (shared_data / "pawsx" / "x-final" / lang / {"train": "train.tsv", "dev": "dev_2k.tsv",
                                                          "test": "test_2k.tsv"}[split]).read_text(encoding="utf-8")
        rows = [r.split("\t") for r in raw.splitlines()[1:] if r]
        assert [(e["text"], e["text_pair"], e["label"]) for e in examples] == [(r[1], r[2], int(r[3])) for r in rows]
    first = loaded[("train", "en")][0]
    assert first["text"].startswith("In Paris , in October 1560") and first["label"] == 0


def test_pawsx_reads_the_full_german_dev_set(registry, shared_data):
    spec = registry.task("target", "pawsx").spec
    path = shared_data / "pawsx" / "superglebergerman" / "dev.tsv"
    examples = list(spec.local.read(path, "dev", "de"))
    assert len(examples) == 2000
    assert {e["label"] for e in examples} == {0, 1}
    with open(path, encoding="utf-8", newline="") as handle:
        reference = list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    assert [e["text_pair"] for e in examples] == [r["sentence2"] for r in reference]


def test_hellaswag_reads_the_real_files(registry, shared_data):
    loaded = _load(registry, "intermediate", "hellaswag", shared_data, [("train", "en"), ("dev", "en")])
    train = loaded[("train", "en")]
    rows = [json.loads(line) for line in (shared_data / "hellaswag" / "hellaswag_train.jsonl").read_text().splitlines()]
    assert len(train) == len(rows) >= 2
    for example, row in zip(train, rows):
        assert example["context"] == row["ctx_a"] and example["label"] == row["label"]
        assert example["choices"] == [f"{row['ctx_b']} {e}".strip() for e in row["endings"]]
    assert train[0]["choices"][3] == "then , the man continues removing the snow on his car."


def test_bundled_samples_cover_every_language(registry):
    pawsx = registry.task("target", "pawsx")
    needs = [("train", "en"), ("dev", "en")] + [("test", lang) for lang in pawsx.spec.languages]
    data = plan_task_data(pawsx, needs, source="bundled", data_dir=None)
    assert all(len(data.load(*need)) >= 32 for need in needs)


def test_malformed_pawsx_names_file_and_line(registry, tmp_path):
    spec = registry.task("target", "pawsx").spec
    bad = tmp_path / "test_2k.tsv"
    bad.write_text("id\tsentence1\tsentence2\tlabel\n1\ta\tb\t1\n2\tonly two fields\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match=r"test_2k.tsv:3: expected 4 tab-separated fields"):
        list(spec.local.read(bad, "test", "de"))
    bad.write_text("id\tsentence1\tsentence2\tlabel\n1\ta\tb\tyes\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match=r"test_2k.tsv:2: label must be 0 or 1"):
        list(spec.local.read(bad, "test", "de"))


def test_malformed_hellaswag_names_file_and_line(registry, tmp_path):
    spec = registry.task("intermediate", "hellaswag").spec
    bad = tmp_path / "hellaswag_val.jsonl"
    bad.write_text('{"ctx_a": "a", "ctx_b": "b", "endings": ["1", "2", "3", "4"], "label": 0}\n{"ctx_a": \n')
    with pytest.raises(DataFormatError, match=r"hellaswag_val.jsonl:2: not valid JSON"):
        list(spec.local.read(bad, "dev", "en"))


def test_local_source_requires_an_existing_folder(registry, tmp_path):
    with pytest.raises(UserError, match="is not a folder"):
        plan_task_data(registry.task("target", "pawsx"), [("train", "en")], source="local",
                       data_dir=tmp_path / "nope")


def test_hub_source_asks_for_the_right_dataset_and_converts_rows(registry, monkeypatch):
    """The hub path, with datasets.load_dataset replaced by a recorder (there is no hub here)."""
    import datasets

    from harness.data import hub

    calls = []

    def fake_load_dataset(path, name=None, split=None, revision=None):
        calls.append((path, name, split, revision))
        if path == "google-research-datasets/paws-x":  # label: a ClassLabel ("0", "1"), served as its id
            return [{"id": 1, "sentence1": "a", "sentence2": "b", "label": 1},
                    {"id": 2, "sentence1": "c", "sentence2": "d", "label": 0}]
        return [{"ctx_a": "A man", "ctx_b": "he", "endings": ["w", "x", "y", "z"], "label": "2"},
                {"ctx_a": "B", "ctx_b": "", "endings": ["w", "x", "y", "z"], "label": ""}]

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    monkeypatch.setattr(hub, "dataset_maybe_cached", lambda path: True)  # pretend the HF cache has it
    pawsx = plan_task_data(registry.task("target", "pawsx"), [("test", "de")], source="hub", data_dir=None)
    assert pawsx.load("test", "de") == [{"text": "a", "text_pair": "b", "label": 1},
                                        {"text": "c", "text_pair": "d", "label": 0}]
    hellaswag = plan_task_data(registry.task("intermediate", "hellaswag"), [("dev", "en")], source="hub",
                               data_dir=None)
    assert hellaswag.load("dev", "en") == [{"context": "A man", "choices": ["he w", "he x", "he y", "he z"],
                                            "label": 2}]  # the unlabelled row is dropped
    assert calls == [("google-research-datasets/paws-x", "de", "test", None),
                     ("Rowan/hellaswag", None, "validation", "218ec52e09a7e7462a5400043bb9a69a41d06b76")]
    assert pawsx.identity["dataset"] == "google-research-datasets/paws-x" and pawsx.identity["source"] == "hub"


def test_xnli_reads_the_real_release_files(registry, shared_data):
    xnli = registry.task("target", "xnli")
    languages = xnli.spec.languages
    assert len(languages) == 15
    needs = [("train", "en")] + [(split, lang) for lang in languages for split in ("dev", "test")]
    data = plan_task_data(xnli, needs, source="local", data_dir=shared_data / "xnli")
    labels = xnli.spec.labels
    for split in ("dev", "test"):
        with open(shared_data / "xnli" / "XNLI-1.0" / f"xnli.{split}.tsv", encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
        for lang in languages:
            expected = [(r["sentence1"], r["sentence2"], r["gold_label"]) for r in rows if r["language"] == lang]
            got = [(e["text"], e["text_pair"], labels[e["label"]]) for e in data.load(split, lang)]
            assert got == expected and len(got) >= 1
    train = data.load("train", "en")
    assert train[0]["text"].startswith("Conceptually cream skimming") and labels[train[0]["label"]] == "neutral"


def test_xnli_train_maps_contradictory_and_rejects_unknown_labels(registry, tmp_path):
    spec = registry.task("target", "xnli").spec
    path = tmp_path / "multinli.train.en.tsv"
    path.write_text("premise\thypo\tlabel\na\tb\tcontradictory\nc\td\tmaybe\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match=r"multinli.train.en.tsv:3: unknown label 'maybe'"):
        list(spec.local.read(path, "train", "en"))
    path.write_text("premise\thypo\tlabel\na\tb\tcontradictory\n", encoding="utf-8")
    assert list(spec.local.read(path, "train", "en"))[0]["label"] == spec.labels.index("contradiction")


def test_xnli_hub_trains_on_glue_mnli_and_filters_languages(registry, monkeypatch):
    import datasets

    from harness.data import hub

    calls = []

    def fake_load_dataset(path, name=None, split=None, revision=None):
        calls.append((path, name, split))
        if path == "nyu-mll/glue":
            return [{"premise": "p", "hypothesis": "h", "label": 2}]
        return [{"language": "de", "sentence1": "a", "sentence2": "b", "gold_label": "neutral"},
                {"language": "fr", "sentence1": "c", "sentence2": "d", "gold_label": "entailment"}]

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    monkeypatch.setattr(hub, "dataset_maybe_cached", lambda path: True)
    data = plan_task_data(registry.task("target", "xnli"), [("train", "en"), ("test", "de")], source="hub",
                          data_dir=None)
    assert data.load("train", "en") == [{"text": "p", "text_pair": "h", "label": 2}]
    assert data.load("test", "de") == [{"text": "a", "text_pair": "b", "label": 1}]
    assert calls == [("nyu-mll/glue", "mnli", "train"), ("google/xtreme", "XNLI", "test")]


def test_the_core_conll_reader_gives_sentences_with_their_lines(tmp_path):
    from harness.api import read_conll

    path = tmp_path / "mini.conllu"
    path.write_text("# sent_id = 1\n1\tHallo\thallo\tINTJ\t_\t_\t0\troot\t_\t_\n2\tWelt\tWelt\tNOUN\t_\t_\t1\tnmod\t_\t_\n"
                    "\n\n# sent_id = 2\n1\tJa\tja\tINTJ\t_\t_\t0\troot\t_\t_\n", encoding="utf-8")
    sentences = list(read_conll(path))
    assert [[(number, fields[1]) for number, fields in s] for s in sentences] == [[(2, "Hallo"), (3, "Welt")],
                                                                                  [(7, "Ja")]]
    path.write_text("1\tHallo\tINTJ\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match=r"mini.conllu:1: expected 10 tab-separated CoNLL-U fields, found 3"):
        list(read_conll(path))
    pairs = tmp_path / "ner.conll"
    pairs.write_text("Maria\tB-PER\nruns\tO\n", encoding="utf-8")
    assert [[fields for _, fields in s] for s in read_conll(pairs, columns=2)] == [[["Maria", "B-PER"], ["runs", "O"]]]


def test_the_core_conll_reader_reads_every_sentence_of_real_ud_files(registry, shared_data):
    """The same sentences, words and tags as the xtreme plugin's UD reader (which interprets them)."""
    from harness.api import read_conll

    path = shared_data / "udpos" / "de_gsd-ud-dev.conllu"
    sentences = list(read_conll(path))
    text = path.read_text(encoding="utf-8")
    assert len(sentences) == text.count("# sent_id")
    words = [[f[1] for _, f in s if f[0].isdigit()] for s in sentences]
    examples = _load(registry, "target", "udpos", shared_data, [("dev", "de")])[("dev", "de")]
    assert [e.get("split_words", e["words"]) for e in examples] == words
