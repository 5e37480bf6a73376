"""XTREME-R's added languages for UD-POS, PAN-X, XQuAD and Tatoeba: extra languages only, so XTREME
runs (their languages, files, hub sources and keys) stay as they were."""

import json

import pytest

from harness.data.sources import TaskData, plan_task_data
from harness.cell.planning import plan_languages

# XTREME-R's additions, in its order (evaluate.py's XTREME_R_TASK2LANGS)
ADDED = {
    "udpos": ("lt", "pl", "uk", "wo", "ro"),
    "panx": ("qu", "pl", "uk", "az", "lt", "pa", "gu", "ro"),
    "xquad": ("ro",),
    "tatoeba": ("az", "lt", "pl", "uk", "ro"),
}
# the dataset each added language is read from on the hub
HUB = {"udpos": "izhx/xtreme-r-udpos", "panx": "unimelb-nlp/wikiann", "xquad": "google/xquad",
       "tatoeba": "mteb/tatoeba-bitext-mining"}


@pytest.mark.parametrize("name", sorted(ADDED))
def test_xtreme_languages_stay_and_xtreme_r_adds_extra_ones(registry, name):
    spec = registry.task("target", name).spec
    board = registry.leaderboard("xtreme").spec
    xtreme = next(t.languages for t in board.tasks if t.name == name)
    # PAN-X's leaderboard list holds en too; Tatoeba's has no en (it is the retrieval target)
    assert set(spec.languages) == set(xtreme) and len(spec.languages) == len(xtreme)
    assert spec.extra_languages == ADDED[name]
    assert spec.all_languages == spec.languages + ADDED[name]
    assert not set(ADDED[name]) & set(spec.languages)
    # a run without --languages evaluates XTREME's; asking for an added one adds it, in task order
    task = registry.task("target", name)
    assert plan_languages(None, task, registry) == list(spec.languages)
    assert plan_languages(["ro", spec.languages[-1]], task, registry) == [spec.languages[-1], "ro"]


def test_added_languages_keep_each_tasks_local_layout(registry):
    spec = lambda name: registry.task("target", name).spec  # noqa: E731
    assert spec("udpos").local.file("test", "wo") == "**/wo_*-ud-test.conllu"
    assert spec("udpos").local.file("test", "de") == "**/de_*-ud-test.conllu"
    assert spec("panx").local.file("dev", "qu") == "qu/dev"
    assert spec("xquad").local.file("test", "ro") == "xquad.ro.json"
    assert spec("xquad").local.file("test", "de") == "xquad.de.json"
    assert spec("tatoeba").local.file("test", "az") == "v1/tatoeba.aze-eng.aze"
    assert spec("tatoeba").local.file("test", "fa") == "v1/tatoeba.pes-eng.pes"


def _check_shape(name, spec, example):
    if name in ("udpos", "panx"):
        assert example["words"] and len(example["words"]) == len(example["tags"])
        assert set(example["tags"]) <= set(spec.labels)
    elif name == "xquad":
        assert example["id"] and example["question"]
        for answer in example["answers"]:
            start = answer["answer_start"]
            assert example["context"][start:start + len(answer["text"])] == answer["text"]
    else:
        assert example["source"].strip() and example["target"].strip()
        assert example["source"] != example["target"]


@pytest.mark.parametrize("name", sorted(ADDED))
def test_bundled_samples_load_for_every_added_language(registry, name):
    task = registry.task("target", name)
    splits = ("dev", "test") if name in ("udpos", "panx") else ("test",)
    needs = [(split, lang) for lang in ADDED[name] for split in splits]
    data = plan_task_data(task, needs, source="bundled", data_dir=None)
    for split, lang in needs:
        (path,) = data.files[(split, lang)]
        assert path.is_relative_to(task.spec.samples)
        examples = data.load(split, lang)
        assert len(examples) >= 4, (split, lang)
        for example in examples:
            _check_shape(name, task.spec, example)
    if name == "panx":  # the <lang>: prefix of PAN-X's lines is the added language's own
        assert all(":" not in w for e in data.load("test", "qu") for w in e["words"])


def test_real_romanian_xquad_reads_through_the_local_reader(registry, shared_data):
    task = registry.task("target", "xquad")
    data = plan_task_data(task, [("test", "ro")], source="local", data_dir=shared_data)
    assert data.files[("test", "ro")] == [shared_data / "xquad" / "xquad.ro.json"]
    examples = data.load("test", "ro")
    assert len(examples) == 1190
    raw = json.loads((shared_data / "xquad" / "xquad.ro.json").read_text(encoding="utf-8"))
    assert [e["id"] for e in examples] == [q["id"] for a in raw["data"] for p in a["paragraphs"] for q in p["qas"]]
    for example in examples:
        _check_shape("xquad", task.spec, example)


@pytest.mark.parametrize("name", sorted(ADDED))
def test_hub_identity_of_an_xtreme_run_is_unchanged(registry, name):
    task = registry.task("target", name)
    spec = task.spec
    # plan_task_data(source="hub") checks the hub or the cache, which tests cannot reach: build it directly
    default = TaskData(task, "hub", [("test", lang) for lang in spec.languages]).identity
    assert "per_language" not in default
    assert default["dataset"] == "google/xtreme" and default["revision"] is None
    assert default["data_version"] == "1"
    for lang in spec.languages:
        assert [s.path for s in spec.hub.sources_for("test", lang)] == ["google/xtreme"]
    added = ADDED[name][-1]
    widened = TaskData(task, "hub", [("test", lang) for lang in spec.all_languages]).identity
    assert set(widened["per_language"]) == set(ADDED[name])
    assert widened["per_language"][added]["dataset"] == HUB[name]
    assert {k: v for k, v in widened.items() if k != "per_language"} == default
    one = TaskData(task, "hub", [("test", "de" if name != "tatoeba" else "ar"), ("test", added)]).identity
    assert list(one["per_language"]) == [added]


def test_per_language_hub_configs(registry):
    config = lambda name, lang: registry.task("target", name).spec.hub.sources_for("test", lang)[0].config_for(lang)  # noqa: E731
    assert config("udpos", "wo") == "wo"
    assert config("udpos", "de") == "udpos.German"
    assert config("panx", "qu") == "qu"
    assert config("panx", "de") == "PAN-X.de"
    assert config("xquad", "ro") == "xquad.ro"
    assert config("xquad", "de") == "XQuAD.de"
    assert config("tatoeba", "ro") == "ron-eng"
    assert config("tatoeba", "de") == "tatoeba.deu"
    revision = registry.task("target", "udpos").spec.hub.sources_for("test", "ro")[0].revision
    assert revision == "7e002378cc5704114200c479db0c592c7f77f8f8"
    assert registry.task("target", "xquad").spec.hub.sources_for("test", "ro")[0].splits["test"] == "validation"
    assert registry.task("target", "panx").spec.hub.sources_for("dev", "qu")[0].splits["dev"] == "validation"


def _convert(registry, name, lang, row, split="test"):
    (source,) = registry.task("target", name).spec.hub.sources_for(split, lang)
    return source.convert(row, lang)


def test_udpos_hub_converter_accepts_either_column_naming(registry):
    words = ["Ana", "locuiește", "în", "Cluj", "."]
    tags = ["PROPN", "VERB", "ADP", "PROPN", "PUNCT"]
    expected = {"words": words, "tags": tags}
    assert _convert(registry, "udpos", "ro", {"tokens": words, "pos_tags": tags}) == expected
    assert _convert(registry, "udpos", "ro", {"words": words, "tags": tags}) == expected
    ids = [11, 15, 1, 11, 12]  # UPOS order: PROPN VERB ADP PROPN PUNCT
    assert _convert(registry, "udpos", "ro", {"tokens": words, "upos": ids, "lang": "ro"}) == expected
    with pytest.raises(ValueError, match="unknown UPOS tag '_'"):
        _convert(registry, "udpos", "wo", {"tokens": ["a"], "pos_tags": ["_"]})
    with pytest.raises(ValueError, match="no tag column"):
        _convert(registry, "udpos", "wo", {"tokens": ["a"], "ner_tags": [0]})
    with pytest.raises(ValueError, match="2 tokens but 1 tags"):
        _convert(registry, "udpos", "wo", {"tokens": ["a", "b"], "pos_tags": ["X"]})


def test_panx_hub_converter_reads_wikiann_rows(registry):
    row = {"tokens": ["Ana", "Popescu", "din", "Cluj", "."], "ner_tags": [1, 2, 0, 5, 0],
           "langs": ["ro"] * 5, "spans": ["PER: Ana Popescu", "LOC: Cluj"]}
    for split in ("train", "dev", "test"):
        assert _convert(registry, "panx", "ro", row, split) == {
            "words": ["Ana", "Popescu", "din", "Cluj", "."], "tags": ["B-PER", "I-PER", "O", "B-LOC", "O"]}


def test_xquad_hub_converter_reads_google_xquad_rows(registry):
    context = "Ana locuiește în Cluj."
    row = {"id": "56beb4343aeaaa14008c925c", "context": context, "question": "Unde locuiește Ana?",
           "answers": {"text": ["Cluj"], "answer_start": [context.index("Cluj")]}}
    assert _convert(registry, "xquad", "ro", row) == {
        "id": "56beb4343aeaaa14008c925c", "question": "Unde locuiește Ana?", "context": context,
        "answers": [{"text": "Cluj", "answer_start": 17}]}


def test_tatoeba_hub_converter_reads_mteb_rows(registry):
    row = {"sentence1": "Mulțumesc.", "sentence2": "Thank you."}
    assert _convert(registry, "tatoeba", "ro", row) == {"source": "Mulțumesc.", "target": "Thank you."}
    # XTREME's languages still read google/xtreme's columns
    row = {"source_sentence": "Danke.", "target_sentence": "Thank you.", "source_lang": "deu", "target_lang": "eng"}
    assert _convert(registry, "tatoeba", "de", row) == {"source": "Danke.", "target": "Thank you."}
