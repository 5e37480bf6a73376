"""UD as XTREME reads it: multi-word tokens fused (``ud_tokens``), and which sub-word carries a
word's label (``label_piece``); on real CoNLL-U and the real e5 (XLM-R sentencepiece) tokenizer.
docs/udpos.md explains both settings and what they measure."""

import os

import pytest

from harness.contract.errors import UserError
from harness.kinds import get_kind
from harness.kinds.tagging import IGNORE
from harness.cell.planning import RunRequest, plan_run
from harness.cell.phases import with_kind_settings
from xharness_xtreme.tagging import UD_POS_PRECEDENCE, fused_tag, read_conllu


@pytest.fixture
def transfer(shared_data):
    """../shared/transfer/udpos: full UD dev/test files of en/de/fr/zh (its README says which)."""
    path = shared_data.parent / "transfer" / "udpos"
    if not path.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{path} is missing: CI must have ../shared beside the checkout")
        pytest.skip(f"{path} not available")
    return path


def _ranges(path):
    """Reference count of the file's multi-word tokens and of the words they stand for."""
    tokens = words = 0
    for line in path.read_text(encoding="utf-8").splitlines():
        ident = line.split("\t")[0]
        if "-" in ident and ident.replace("-", "").isdigit():
            first, last = map(int, ident.split("-"))
            tokens, words = tokens + 1, words + last - first + 1
    return tokens, words


def _read(path, lang):
    return list(read_conllu(path, "test", lang))


def _count(examples, split=False):
    return sum(len(e["split_words"] if split and "split_words" in e else e["words"]) for e in examples)


def _spec(registry, **settings):
    import dataclasses

    spec = registry.task("target", "udpos").spec
    return dataclasses.replace(spec, defaults={**spec.defaults, **settings})


@pytest.mark.parametrize("folder, name, lang, fused, split", [
    ("transfer", "de_gsd-ud-test", "de", 16225, 16499),
    ("transfer", "fr_gsd-ud-test", "fr", 9738, 10018),
    ("transfer", "en_ewt-ud-train", "en", 24787, 25147),
    ("transfer", "zh_gsd-ud-test", "zh", 12010, 12010),
    ("data", "de_gsd-ud-test", "de", 4159, 4218),
])
def test_multiword_tokens_are_one_word_by_default(shared_data, transfer, folder, name, lang, fused, split):
    path = (transfer if folder == "transfer" else shared_data / "udpos") / f"{name}.conllu"
    examples = _read(path, lang)
    tokens, words = _ranges(path)
    assert (_count(examples), _count(examples, split=True)) == (fused, split)
    assert split - fused == words - tokens  # each range line of n words is one word instead of n
    for example in examples:
        assert len(example["words"]) == len(example["tags"])
        if "split_words" in example:  # only sentences with a multi-word token carry the split reading
            assert len(example["split_words"]) == len(example["split_tags"]) > len(example["words"])
    if lang == "en":
        # this EWT release (newer than XTREME's UD 2.5) has range lines: "don't" = "do" + "n't"
        assert tokens == 359


def test_known_fused_forms_and_their_tags(shared_data, transfer):
    german = _read(transfer / "de_gsd-ud-test.conllu", "de")
    french = _read(transfer / "fr_gsd-ud-test.conllu", "fr")
    english = _read(transfer / "en_ewt-ud-train.conllu", "en")

    def tagged(examples, form):
        """The tags of ``form`` where it is a fused word (not also a word of the split reading)."""
        return {t for e in examples if "split_words" in e and form not in e["split_words"]
                for w, t in zip(e["words"], e["tags"]) if w == form}

    # zu/ADP + dem/DET both attach to the noun: a tie, and ADP precedes DET in the default list
    # (German's own list is commented out in XTREME's converter)
    assert tagged(german, "zum") == tagged(german, "im") == {"ADP"}
    assert tagged(french, "du") == {"ADP"}  # de/ADP + le/DET, fr's list: ADP before DET
    assert tagged(english, "don't") == {"AUX"}  # do/AUX + n't/PART: AUX before PART
    assert "PRON" in tagged(english, "I'm")  # I/PRON + 'm/AUX under the predicate: PRON before AUX
    first = next(e for e in german if "zum" in e["words"])
    at = first["words"].index("zum")
    assert first["split_words"][at:at + 2] == ["zu", "dem"] and first["split_tags"][at:at + 2] == ["ADP", "DET"]
    # a fused word's tag is always one of its sub-tokens' tags
    for examples in (german, french, english):
        for example in examples:
            if "split_words" in example:
                assert set(example["tags"]) <= set(example["split_tags"])


def _conllu(tmp_path, rows):
    path = tmp_path / "xx_t-ud-test.conllu"
    path.write_text("# text = x\n" + "".join("\t".join(map(str, row)) + "\n" for row in rows) + "\n",
                    encoding="utf-8")
    return path


def _row(ident, form, tag, head, deps="_"):
    return (ident, form, "_", tag, "_", "_", head, "dep", deps, "_")


def test_the_highest_sub_token_wins_before_the_precedence_list(tmp_path):
    # "auquel" = à (ADP, case of lequel) + lequel (PRON): lequel is higher, its tag wins although
    # ADP precedes PRON nowhere and PRON precedes ADP in fr's list: the tree decides first
    rows = [("1-2", "auquel", "_", "_", "_", "_", "_", "_", "_", "_"), _row(1, "à", "ADP", 2),
            _row(2, "lequel", "PRON", 3), _row(3, "pense", "VERB", 0)]
    (example,) = read_conllu(_conllu(tmp_path, rows), "test", "fr")
    assert example["words"] == ["auquel", "pense"] and example["tags"] == ["PRON", "VERB"]
    assert example["split_words"] == ["à", "lequel", "pense"]


def test_a_tie_follows_the_languages_precedence_list():
    tags, parents = {1: "NOUN", 2: "PRON", 3: "VERB"}, {1: {3}, 2: {3}, 3: {0}}
    assert fused_tag([1, 2], tags, parents, "de") == "NOUN"  # default list: NOUN before PRON
    assert fused_tag([1, 2], tags, parents, "fr") == "PRON"  # fr's list: PRON before NOUN
    assert UD_POS_PRECEDENCE["fr"].index("PRON") < UD_POS_PRECEDENCE["fr"].index("NOUN")
    # enhanced heads (DEPS) add ancestors, as XTREME's converter reads them: 1 is now deeper
    assert fused_tag([1, 2], tags, {1: {3, 2}, 2: {3}, 3: {0}}, "de") == "PRON"
    # a tag missing from the list ranks after every listed one (XTREME's script fails there)
    assert fused_tag([1, 2], {1: "SYM", 2: "PUNCT", 3: "VERB"}, parents, "de") == "PUNCT"


def test_ud_tokens_split_tags_the_syntactic_words(registry, shared_data, e5_model):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(e5_model)
    kind = get_kind("tagging")
    examples = _read(shared_data / "udpos" / "de_gsd-ud-test.conllu", "de")
    for setting, words in (("fused", 4159), ("split", 4218)):
        spec = _spec(registry, ud_tokens=setting)
        features = kind.featurize(examples, tokenizer, 256, spec)
        assert sum(label != IGNORE for f in features for label in f["labels"]) == words
        oracle = [[label for label in f["labels"] if label != IGNORE] for f in features]
        assert kind.score(oracle, features, spec) == 100.0
        written = kind.example_predictions(oracle, features, spec)
        key = "split_tags" if setting == "split" else "tags"
        assert [w.split() for w in written] == [e.get(key, e["tags"]) for e in examples]
    # Chinese has no multi-word tokens: both settings give the same features
    chinese = _read(shared_data / "udpos" / "zh_gsd-ud-test.conllu", "zh")[:20]
    assert (kind.featurize(chinese, tokenizer, 256, _spec(registry, ud_tokens="fused"))
            == kind.featurize(chinese, tokenizer, 256, _spec(registry, ud_tokens="split")))


def test_hub_rows_are_read_as_they_come(registry):
    """google/xtreme's udpos rows hold split words (its builder drops the range lines): nothing to
    fuse, so both settings tag the row's tokens."""
    spec = registry.task("target", "udpos").spec
    example = spec.hub.convert({"tokens": ["zu", "dem", "Haus"], "pos_tags": [1, 5, 7]}, "de")
    assert example == {"words": ["zu", "dem", "Haus"], "tags": ["ADP", "DET", "NOUN"]}


def test_label_piece_on_the_first_chinese_test_sentence(registry, transfer, e5_model):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(e5_model)
    kind = get_kind("tagging")
    (example,) = _read(transfer / "zh_gsd-ud-test.conllu", "zh")[:1]
    assert example["words"][:3] == ["然而", "，", "這樣"] and len(example["words"]) == 11
    bare = tokenizer.convert_tokens_to_ids("▁")
    labelled = {}
    for setting in ("first", "first_nonempty"):
        (feature,) = kind.featurize([example], tokenizer, 256, _spec(registry, label_piece=setting))
        labelled[setting] = [i for i, label in zip(feature["input_ids"], feature["labels"]) if label != IGNORE]
        gold = [registry.task("target", "udpos").spec.labels[label] for label in feature["labels"] if label != IGNORE]
        assert gold == example["tags"]  # the same labels, in order, on other pieces
    # measured: 10 of the 11 words begin with a bare "▁" piece; XTREME's featurisation labels it
    assert labelled["first"].count(bare) == 10
    assert bare not in labelled["first_nonempty"]
    assert tokenizer.convert_ids_to_tokens(labelled["first_nonempty"][:3]) == ["▁然而", ",", "這樣"]


def test_label_piece_keeps_windows_and_scores(registry, shared_data, e5_model):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(e5_model)
    kind = get_kind("tagging")
    examples = _read(shared_data / "udpos" / "zh_gsd-ud-test.conllu", "zh")[:40]
    spec = _spec(registry, label_piece="first_nonempty")
    features = kind.featurize(examples, tokenizer, 24, spec)
    assert len(features) > len(examples) and all(len(f["input_ids"]) <= 24 for f in features)
    oracle = [[label for label in f["labels"] if label != IGNORE] for f in features]
    assert kind.score(oracle, features, spec) == 100.0
    written = kind.example_predictions(oracle, features, spec)
    assert [w.split() for w in written] == [e["tags"] for e in examples]


def test_the_settings_are_recorded_keyed_and_checked(registry, tmp_path):
    from harness.data.features import feature_key
    from harness.cell.protocol import cell_paths, prepare_model

    def plan(*settings):
        return plan_run(RunRequest(inter="none", target="udpos", preset="smoke", output=tmp_path / "runs",
                                   overrides={"setting": list(settings)}), registry)

    base = plan()
    assert base.target_settings["ud_tokens"] == "fused" and base.target_settings["label_piece"] == "first"
    split, nonempty = plan("ud_tokens=split"), plan("label_piece=first_nonempty")
    assert split.target_settings["ud_tokens"] == "split"
    identity = prepare_model(base)
    keys = {cell_paths(p, identity).run_key for p in (base, split, nonempty)}
    assert len(keys) == 3

    def features(p):
        data = with_kind_settings(p.target, p.target_settings)
        return feature_key("tagging", data.identity, "test", "de", "tok", p.target_settings, data.spec)

    assert len({features(p) for p in (base, split, nonempty)}) == 3
    with pytest.raises(UserError, match="ud_tokens must be fused or split"):
        plan("ud_tokens=words")
    with pytest.raises(UserError, match="label_piece must be first or first_nonempty"):
        plan("label_piece=last")
