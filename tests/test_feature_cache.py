"""The feature cache: keys, tokenizer identity, exact round trips, damage and concurrent use."""

import copy
import dataclasses
import json
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from harness.data import features as cache
from harness.data.sources import plan_task_data
from harness.data.features import cached_featurize, feature_key, read_entry, tokenizer_identity
from harness.kinds import get_kind
import zygote  # tests/zygote.py: real worker processes without importing torch each time

REPO = Path(__file__).resolve().parent.parent
SETTINGS = {"max_length": 128, "lr": 1e-5, "epochs": 3, "batch_size": 32, "warmup_ratio": 0.1, "seed": 42}


def _tokenizer(folder: Path):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(folder)


@pytest.fixture
def tokenizer(tiny_model_dir):
    return _tokenizer(tiny_model_dir)


def _data(registry, role: str, task: str, needs=(("train", "en"), ("dev", "en"))):
    return plan_task_data(registry.task(role, task), list(needs), source="bundled", data_dir=None)


def _qa_with_long_contexts(registry):
    """XQuAD's bundled samples have one-line contexts; padded, they need several windows at length 64."""
    data = _data(registry, "target", "xquad")
    filler = "Sami lives in Lima, and Maria lives in Delhi. " * 6
    examples = []
    for example in data.load("train", "en"):
        answers = [{**a, "answer_start": a["answer_start"] + len(filler)} for a in example["answers"]]
        examples.append({**example, "context": filler + example["context"] + " " + filler, "answers": answers})
    data._loaded[("train", "en")] = examples
    return data


@pytest.fixture
def pawsx(registry):
    return _data(registry, "target", "pawsx", [("train", "en"), ("dev", "en"), ("test", "de")])


class Counted:
    """A compute function that featurises for real and counts its calls."""

    def __init__(self, kind, data, split, lang, tokenizer, settings):
        self.calls = 0
        self._args = (kind, data, split, lang, tokenizer, settings)

    def __call__(self):
        from harness.cell.phases import featurize

        self.calls += 1
        return featurize(*self._args)


def _cached(kind, data, split, lang, tokenizer, settings, cache_dir):
    compute = Counted(kind, data, split, lang, tokenizer, settings)
    result = cached_featurize(kind, data, split, lang, tokenizer, settings, cache_dir=cache_dir, compute=compute)
    return result, compute.calls


def _key(data, tokenizer, *, kind="classification", split="train", lang="en", settings=SETTINGS, identity=None,
         spec=None):
    return feature_key(kind, identity if identity is not None else data.identity, split, lang,
                       tokenizer_identity(tokenizer), settings, spec or data.spec)


# -- round trips ----------------------------------------------------------------------------------

@pytest.mark.parametrize("role, task, max_length", [
    ("target", "pawsx", 128),            # classification, with token_type_ids where the tokenizer makes them
    ("target", "panx", 16),              # tagging: long sentences become windows of whole words
    ("target", "xquad", 64),             # span_qa: overlapping windows, offset tuples, the example itself
    ("intermediate", "hellaswag", 64),   # multiple choice: a list of rows per feature
])
def test_second_call_returns_equal_features_without_featurising(registry, tokenizer, tmp_path, role, task,
                                                                max_length):
    data = _qa_with_long_contexts(registry) if task == "xquad" else _data(registry, role, task)
    kind = get_kind(data.spec.kind)
    settings = {**SETTINGS, "max_length": max_length}
    first, calls = _cached(kind, data, "train", "en", tokenizer, settings, tmp_path)
    assert calls == 1 and first
    second, calls = _cached(kind, data, "train", "en", tokenizer, settings, tmp_path)
    assert calls == 0
    # == between a list and a tuple is False, so this also checks that offsets stay tuples
    assert second == first == kind.featurize(data.load("train", "en"), tokenizer, max_length, data.spec)
    assert len(list(tmp_path.glob("*.safetensors"))) == 1 and not list(tmp_path.glob("*.tmp"))


def test_span_qa_features_keep_their_types(registry, tokenizer, tmp_path):
    data = _qa_with_long_contexts(registry)
    kind = get_kind("span_qa")
    settings = {**SETTINGS, "max_length": 64}
    first, _ = _cached(kind, data, "train", "en", tokenizer, settings, tmp_path)
    second, calls = _cached(kind, data, "train", "en", tokenizer, settings, tmp_path)
    assert calls == 0 and len(second) > len(data.load("train", "en"))  # some contexts became several windows
    offsets = [o for f in second for o in f["offsets"]]
    assert None in offsets and all(o is None or type(o) is tuple for o in offsets)
    assert [f["qa"] for f in second] == [f["qa"] for f in first]


def test_no_cache_dir_means_no_cache(pawsx, tokenizer, tmp_path):
    kind = get_kind("classification")
    for _ in range(2):
        _, calls = _cached(kind, pawsx, "train", "en", tokenizer, SETTINGS, None)
        assert calls == 1
    assert not list(tmp_path.iterdir())


# -- keys -----------------------------------------------------------------------------------------

def test_another_seed_or_learning_rate_hits_the_cache(pawsx, tokenizer, tmp_path):
    kind = get_kind("classification")
    other = {**SETTINGS, "seed": 7, "lr": 3e-5, "epochs": 5, "batch_size": 16, "per_device_batch_size": 4}
    assert _key(pawsx, tokenizer) == _key(pawsx, tokenizer, settings=other)
    assert _key(pawsx, tokenizer) == _key(pawsx, tokenizer, settings={**SETTINGS, "max_length": "128"})
    _cached(kind, pawsx, "train", "en", tokenizer, SETTINGS, tmp_path)
    again, calls = _cached(kind, pawsx, "train", "en", tokenizer, other, tmp_path)
    assert calls == 0 and again


def test_key_changes_with_everything_that_shapes_features(pawsx, registry, tokenizer, tiny_model_dir):
    extended = _tokenizer(tiny_model_dir)
    extended.add_tokens(["<extra-token>"])
    base = _key(pawsx, tokenizer)
    variants = {
        "max_length": _key(pawsx, tokenizer, settings={**SETTINGS, "max_length": 64}),
        "split": _key(pawsx, tokenizer, split="dev"),
        "language": _key(pawsx, tokenizer, lang="de"),
        "tokenizer": _key(pawsx, extended),
        "data": _key(pawsx, tokenizer, identity={**pawsx.identity, "sha256": "0" * 64}),
        "data version": _key(pawsx, tokenizer, identity={**pawsx.identity, "data_version": "2"}),
        "kind": _key(pawsx, tokenizer, kind="multiple_choice"),
        "labels": _key(pawsx, tokenizer, spec=dataclasses.replace(pawsx.spec, labels=("a", "b", "c"))),
        "choices": _key(pawsx, tokenizer, spec=dataclasses.replace(pawsx.spec, num_choices=4)),
        "task": _key(_data(registry, "target", "xnli"), tokenizer),
    }
    assert base not in variants.values(), [name for name, key in variants.items() if key == base]
    assert len(set(variants.values())) == len(variants)


def test_key_changes_with_the_cache_version(pawsx, tokenizer, monkeypatch):
    base = _key(pawsx, tokenizer)
    monkeypatch.setattr(cache, "FEATURE_CACHE_VERSION", "test-next")
    assert _key(pawsx, tokenizer) != base


def test_key_changes_with_the_kinds_code(pawsx, tokenizer, monkeypatch):
    base = _key(pawsx, tokenizer)
    monkeypatch.setattr("harness.contract.discovery.code_digest", lambda paths, root: "edited")
    assert _key(pawsx, tokenizer) != base


def test_span_qa_stride_is_in_the_key(registry, tokenizer, tmp_path, monkeypatch):
    """The window overlap is span_qa's module constant STRIDE (capped at max_length // 2), not a setting."""
    import harness.kinds.span_qa as span_qa

    data = _qa_with_long_contexts(registry)
    kind = get_kind("span_qa")
    settings = {**SETTINGS, "max_length": 64}
    base = _key(data, tokenizer, kind="span_qa", settings=settings)
    before, _ = _cached(kind, data, "train", "en", tokenizer, settings, tmp_path)
    monkeypatch.setattr(span_qa, "STRIDE", 8)
    assert _key(data, tokenizer, kind="span_qa", settings=settings) != base
    after, calls = _cached(kind, data, "train", "en", tokenizer, settings, tmp_path)
    assert calls == 1 and after != before  # a real change of the features, and not served from the cache
    assert _key(data, tokenizer, kind="span_qa", settings={**settings, "max_length": 96}) != base


def test_tagging_window_length_and_labels_are_in_the_key(registry, tokenizer):
    data = _data(registry, "target", "panx")
    base = _key(data, tokenizer, kind="tagging", settings={**SETTINGS, "max_length": 32})
    assert base != _key(data, tokenizer, kind="tagging", settings={**SETTINGS, "max_length": 33})
    reordered = dataclasses.replace(data.spec, labels=tuple(reversed(data.spec.labels)))
    assert base != _key(data, tokenizer, kind="tagging", settings={**SETTINGS, "max_length": 32}, spec=reordered)


# -- tokenizer identity ---------------------------------------------------------------------------

def test_tokenizer_identity_is_stable_across_loads_use_and_save(tiny_model_dir, tmp_path):
    first, second = _tokenizer(tiny_model_dir), _tokenizer(tiny_model_dir)
    identity = tokenizer_identity(first)
    assert len(identity) == 64 and identity == tokenizer_identity(second)
    # phase 2 featurises (which leaves truncation state in the backend), then saves the tokenizer
    # beside the encoder; phase 3 loads it from there
    first(["a question"], ["a long context " * 20], truncation="only_second", max_length=24, stride=4,
          return_overflowing_tokens=True)
    assert tokenizer_identity(first) == identity
    first.save_pretrained(tmp_path / "encoder")
    assert tokenizer_identity(_tokenizer(tmp_path / "encoder")) == identity
    second.save_pretrained(tmp_path / "again")
    assert tokenizer_identity(_tokenizer(tmp_path / "again")) == identity


def test_real_tokenizer_identity_survives_save_and_reload(e5_model, tmp_path):
    original = _tokenizer(e5_model)
    original.save_pretrained(tmp_path)
    assert tokenizer_identity(_tokenizer(tmp_path)) == tokenizer_identity(original)


def test_tokenizer_identity_changes_with_vocabulary_normalizer_and_options(tiny_model_dir):
    from tokenizers import normalizers

    identity = tokenizer_identity(_tokenizer(tiny_model_dir))
    added = _tokenizer(tiny_model_dir)
    added.add_tokens(["<extra-token>"])
    lowered = _tokenizer(tiny_model_dir)
    lowered.backend_tokenizer.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()])
    without_types = _tokenizer(tiny_model_dir)
    without_types.model_input_names = ["input_ids"]
    left = _tokenizer(tiny_model_dir)
    left.padding_side = "left"
    changed = [tokenizer_identity(t) for t in (added, lowered, without_types, left)]
    assert identity not in changed and len(set(changed)) == len(changed)


def test_slow_tokenizer_identity_hashes_what_it_saves(tmp_path):
    legacy = pytest.importorskip("transformers.models.bert.tokenization_bert_legacy")
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hello", "world", "##s"]) + "\n")
    slow = legacy.BertTokenizerLegacy(str(vocab))
    assert not slow.is_fast
    identity = tokenizer_identity(slow)
    assert identity == tokenizer_identity(legacy.BertTokenizerLegacy(str(vocab)))
    slow.save_pretrained(tmp_path / "saved")
    assert tokenizer_identity(legacy.BertTokenizerLegacy.from_pretrained(tmp_path / "saved")) == identity
    vocab.write_text(vocab.read_text() + "again\n")
    assert tokenizer_identity(legacy.BertTokenizerLegacy(str(vocab))) != identity


# -- damage and concurrency -----------------------------------------------------------------------

def _damage_truncate(path: Path, other: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _damage_garbage(path: Path, other: Path) -> None:
    path.write_bytes(b"not a safetensors file at all")


def _damage_wrong_type(path: Path, other: Path) -> None:
    path.write_bytes(pickle.dumps([{"input_ids": [1, 2]}]))


def _damage_flipped_bit(path: Path, other: Path) -> None:
    content = bytearray(path.read_bytes())
    content[len(content) // 2] ^= 0x01  # a token id changes, or the JSON breaks
    path.write_bytes(bytes(content))


def _damage_other_key(path: Path, other: Path) -> None:
    path.write_bytes(other.read_bytes())  # a valid entry, but of another split


@pytest.mark.parametrize("damage", [_damage_truncate, _damage_garbage, _damage_wrong_type, _damage_other_key,
                                    _damage_flipped_bit])
def test_damaged_entry_is_a_miss_and_is_replaced(pawsx, tokenizer, tmp_path, damage):
    kind = get_kind("classification")
    expected, _ = _cached(kind, pawsx, "train", "en", tokenizer, SETTINGS, tmp_path)
    (path,) = tmp_path.glob("*.safetensors")
    _cached(kind, pawsx, "dev", "en", tokenizer, SETTINGS, tmp_path)
    (other,) = set(tmp_path.glob("*.safetensors")) - {path}
    damage(path, other)
    result, calls = _cached(kind, pawsx, "train", "en", tokenizer, SETTINGS, tmp_path)
    assert calls == 1 and result == expected
    again, calls = _cached(kind, pawsx, "train", "en", tokenizer, SETTINGS, tmp_path)
    assert calls == 0 and again == expected
    assert not list(tmp_path.glob("*.tmp"))


_WORKER = textwrap.dedent("""
    import copy, json, sys, time
    from pathlib import Path

    from transformers import AutoTokenizer

    from harness.data.sources import plan_task_data
    from harness.data.features import cached_featurize
    from harness.kinds import get_kind
    from harness.contract.discovery import discover

    cache_dir, model, folder, index, count = sys.argv[1:]
    tokenizer = AutoTokenizer.from_pretrained(model)
    data = plan_task_data(discover().task("target", "pawsx"), [("train", "en")], source="bundled", data_dir=None)
    kind = get_kind("classification")
    base = kind.featurize(data.load("train", "en"), tokenizer, 128, data.spec)
    expected = [copy.deepcopy(f) for _ in range(100) for f in base]  # a few MB: writes take a while
    calls = []

    def compute():
        calls.append(len(reads))
        time.sleep(0.3 + 0.1 * int(index))  # everyone misses, then writes land one after another
        return expected

    # start together: every worker waits until all have loaded
    Path(folder, f"ready-{index}").touch()
    deadline = time.time() + 120
    while len(list(Path(folder).glob("ready-*"))) < int(count) and time.time() < deadline:
        time.sleep(0.005)
    reads = []
    stop = time.time() + 2.0
    while time.time() < stop or len(reads) < 2:
        got = cached_featurize(kind, data, "train", "en", tokenizer, {"max_length": 128, "seed": int(index)},
                               cache_dir=Path(cache_dir), compute=compute)
        reads.append(got == expected)
    Path(folder, f"result-{index}.json").write_text(json.dumps({"calls": calls, "reads": reads}))
""")


@pytest.mark.slow
def test_concurrent_writers_and_readers_of_one_key(pawsx, tokenizer, tiny_model_dir, tmp_path):
    workers = 4
    script = tmp_path / "worker.py"
    script.write_text(_WORKER)
    cache_dir, folder = tmp_path / "features", tmp_path / "sync"
    folder.mkdir()
    # real processes, forked from a zygote that has imported torch and transformers (tests/zygote.py)
    processes = [zygote.popen([sys.executable, str(script), str(cache_dir), str(tiny_model_dir), str(folder), str(i),
                               str(workers)], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
                 for i in range(workers)]
    outputs = [p.communicate(timeout=300)[0].decode() for p in processes]
    assert all(p.returncode == 0 for p in processes), outputs
    results = [json.loads((folder / f"result-{i}.json").read_text()) for i in range(workers)]
    for result in results:
        assert all(result["reads"]) and len(result["reads"]) >= 2
        # at most the first call may miss: a reader that saw a partial file would have recomputed
        assert result["calls"] in ([], [0]), result["calls"]
    assert sum(len(r["calls"]) for r in results) >= 2, "no two workers wrote the key at the same time"
    assert [p.name for p in cache_dir.iterdir()] == [next(cache_dir.glob("*.safetensors")).name], "leftover files"
    kind = get_kind("classification")
    base = kind.featurize(pawsx.load("train", "en"), tokenizer, 128, pawsx.spec)
    stored = read_entry(next(cache_dir.glob("*.safetensors")))
    assert stored == [copy.deepcopy(f) for _ in range(100) for f in base]


def test_importing_the_module_imports_neither_torch_nor_transformers():
    code = "import sys, harness.data.features; print(sorted({'torch', 'transformers'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_an_entry_gives_back_exactly_what_was_stored(tmp_path):
    """Columns of every shape a kind makes (ids, nested ids, offsets with gaps, raw examples,
    strings, None, big ints) come back equal and of the same types, tuples included."""
    features = [
        {"input_ids": [0, 5, 2], "choices": [[1, 2], [3]], "offsets": [None, (0, 3), (4, 7)], "label": 1,
         "qa": {"id": "q1", "answers": [{"text": "a", "answer_start": 0}], 7: (1.5, None)}, "big": 2**70},
        {"input_ids": [], "choices": [], "offsets": [], "label": None, "qa": {}, "big": -1, "extra": "only here"},
        {"label": 0, "input_ids": [9], "choices": [[]], "offsets": [None], "qa": {"id": "q3"}, "big": 0},
    ]
    path = tmp_path / f"k{cache.SUFFIX}"
    cache._store(path, "k", features)
    back = cache.read_entry(path, "k")
    assert back == features
    for got, want in zip(back, features):
        assert list(got) == list(want)  # key order kept
        assert [type(v) for v in got.values()] == [type(v) for v in want.values()]
    assert type(back[0]["offsets"][1]) is tuple and type(back[0]["qa"][7]) is tuple
    assert not path.read_bytes().startswith(b"\x80")  # not a pickle: a safetensors header
