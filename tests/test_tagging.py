"""Token tagging: readers on real UD and PAN-X files, the gold-label oracle, windows, learning."""

import json
import random

import pytest
from click.testing import CliRunner

from harness.cli import cli
from harness.data.sources import plan_task_data
from harness.contract.errors import DataFormatError
from harness.kinds import get_kind
from harness.kinds.tagging import IGNORE
from learning import fit, synthetic_spec


def _conllu_words(path):
    """Reference reading: word lines (integer ids) of each sentence."""
    sentences, words = [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            if words:
                sentences.append(words)
            words = []
        elif not line.startswith("#") and line.split("\t")[0].isdigit():
            words.append((line.split("\t")[1], line.split("\t")[3]))
    return sentences + ([words] if words else [])


def test_udpos_reads_real_conllu_with_multiword_tokens_fused(registry, shared_data):
    udpos = registry.task("target", "udpos")
    assert len(udpos.spec.languages) == 33 and len(registry.task("target", "panx").spec.languages) == 40
    data = plan_task_data(udpos, [("test", "de"), ("dev", "en"), ("test", "zh")], source="local",
                          data_dir=shared_data)
    german = data.load("test", "de")
    reference = _conllu_words(shared_data / "udpos" / "de_gsd-ud-test.conllu")
    assert len(german) == len(reference) == 300
    # the syntactic words (--setting ud_tokens=split); tests/test_ud_preprocessing.py tests the rest
    assert [list(zip(s.get("split_words", s["words"]), s.get("split_tags", s["tags"]))) for s in german] == reference
    # the multi-word token 19-20 of the second sentence ("in" + "dem") is one word, as in XTREME
    assert german[1]["words"][18] == "im" and german[1]["split_words"][18:20] == ["in", "dem"]


def test_panx_reads_the_real_files(registry, shared_data):
    panx = registry.task("target", "panx")
    langs = ["ar", "de", "en", "es", "fr", "hi", "ja", "ru", "sw", "zh"]
    data = plan_task_data(panx, [(s, lang) for lang in langs for s in ("train", "dev", "test")], source="local",
                          data_dir=shared_data)
    german = data.load("test", "de")[0]
    assert german["words"][:4] == ["WEITERLEITUNG", "Hu", "(", "Xi’an"]
    assert german["tags"][:4] == ["O", "B-LOC", "I-LOC", "I-LOC"]
    assert all(data.load(s, lang) for lang in langs for s in ("train", "dev", "test"))


def test_malformed_tag_files_name_file_and_line(registry, tmp_path):
    panx = registry.task("target", "panx").spec
    path = tmp_path / "test"
    path.write_text("de:Berlin\tB-LOC\nde:Mitte\tB-CITY\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match=r"test:2: expected de:<token><TAB><tag>"):
        list(panx.local.read(path, "test", "de"))
    udpos = registry.task("target", "udpos").spec
    path = tmp_path / "x-ud-test.conllu"
    path.write_text("1\tHaus\tHaus\tNOUN\t_\t_\t0\troot\t_\t_\n2\tist\tsein\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match=r"x-ud-test.conllu:2: expected 10 tab-separated"):
        list(udpos.local.read(path, "test", "de"))


@pytest.mark.parametrize("max_length", [512, 24])
def test_gold_labels_through_alignment_and_windows_score_100(registry, shared_data, e5_model, max_length):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(e5_model)
    udpos = registry.task("target", "udpos")
    kind = get_kind("tagging")
    for name in ("de_gsd", "en_ewt", "zh_gsd"):
        lang = name[:2]
        data = plan_task_data(udpos, [("test", lang)], source="local", data_dir=shared_data)
        examples = data.load("test", lang)
        features = kind.featurize(examples, tokenizer, max_length, udpos.spec)
        assert all(len(f["input_ids"]) <= max_length for f in features)
        # the oracle: predict exactly the gold label at every labelled (first sub-word) position
        oracle = [[label for label in f["labels"] if label != IGNORE] for f in features]
        assert kind.score(oracle, features, udpos.spec) == 100.0
        written = kind.example_predictions(oracle, features, udpos.spec)
        assert [w.split() for w in written] == [e["tags"] for e in examples]  # every word predicted
        if max_length == 24:
            assert len(features) > len(examples)  # long sentences were split into windows


def test_tagging_head_fits_a_learnable_task(tiny_model_dir):
    spec = synthetic_spec("tagging", labels=("O", "B-LOC", "B-PER"), metric="f1")
    rng = random.Random(3)
    places, people = ["Paris", "Cairo", "Tokyo", "Lima"], ["Anna", "David", "Maria", "Omar"]
    filler = ["met", "in", "and", "saw"]
    examples = []
    for _ in range(120):
        words = [rng.choice(places + people + filler) for _ in range(rng.randint(3, 8))]
        tags = ["B-LOC" if w in places else "B-PER" if w in people else "O" for w in words]
        examples.append({"words": words, "tags": tags})
    kind, features, predictions, _ = fit(tiny_model_dir, spec, examples)
    assert kind.score(predictions, features, spec) >= 95.0


def test_udpos_after_hellaswag_predicts_every_word(smoke_run):
    output, first = smoke_run
    assert first.exit_code == 0
    result = CliRunner().invoke(cli, ["run", "--inter", "hellaswag", "--target", "udpos", "--preset", "smoke",
                                      "--output", str(output), "--target-epochs", "1"])
    assert result.exit_code == 0, result.output
    (path,) = (output / "runs").glob("hellaswag__udpos__*/results.json")
    record = json.loads(path.read_text())
    assert record["scores"]["metric"] == "f1" and len(record["scores"]["per_language"]) == 33
    written = (path.parent / "predictions" / "udpos" / "test-en.tsv").read_text()
    blocks = [b.split() for b in written.strip().split("\n\n")]
    assert len(blocks) == 17 and len(blocks[-1]) == 140  # the long sentence (140 words) is predicted whole
