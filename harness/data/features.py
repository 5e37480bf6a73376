"""A disk cache of featurised (tokenised) task data.

Tokenising a task's splits gives the same features for every seed and every intermediate task
of a grid: they depend only on the data, the tokenizer, the kind's featurisation code and the
few settings that code reads. Each entry is one safetensors file, ``<cache_dir>/<key>.safetensors``,
written to a temporary file in the same folder and moved into place with ``os.replace``: readers
never see a partial file, and processes that write the same key at once only replace equal
content. A damaged entry is recomputed, never fatal.

An entry can only hold data: integer columns are tensors, everything else is JSON (with tuples
and dictionaries tagged so that they come back as they went in), and reading one parses
safetensors and JSON, nothing that can run code. A store is shared by a group, so whatever a
co-user wrote there is at worst a wrong feature, never a program. Entries of the old pickle
format (``<key>.pkl``) are never opened: they are rebuilt in the new format, with one line.

Nothing here imports torch or transformers at import time.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
import tempfile
from collections.abc import Callable, Mapping
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.common.fsutil import (
    current_umask, remove_dead_temporaries, stable_hash, storage_advice, storage_fault, temp_prefix,
)
from harness.contract.kindset import Kinds
from harness.kinds import builtin_kinds

if TYPE_CHECKING:
    from harness.data.sources import TaskData
    from harness.contract.spec import TaskSpec

log = logging.getLogger(__name__)

#: Bump when featurisation changes in a way the key cannot see (the kinds' own modules are hashed).
FEATURE_CACHE_VERSION = "2"  # 2: safetensors + JSON instead of pickle

#: The settings featurisation reads, each with the type ``runners.featurize`` converts it to.
#: Everything else (lr, epochs, seed, batch sizes …) leaves the features alone.
FEATURE_SETTINGS: dict[str, Callable[[Any], Any]] = {"max_length": int}

SUFFIX = ".safetensors"
#: Entries of the first format: pickles, never opened again (unpickling runs code).
OLD_SUFFIX = ".pkl"

#: Tokenizer options that change encoding and may not show in the backend's serialisation.
_ENCODING_OPTIONS = ("do_lower_case", "add_prefix_space", "strip_accents", "tokenize_chinese_chars",
                     "do_basic_tokenize", "never_split", "add_bos_token", "add_eos_token", "trim_offsets",
                     "split_special_tokens", "legacy")

#: Per-call state of a fast tokenizer's backend: transformers sets truncation and padding before
#: every call, so a tokenizer that has been used (and saved, as phase 2 saves it) carries the last ones.
_BACKEND_CALL_STATE = ("truncation", "padding")

#: tokenizer_config.json entries that say where a tokenizer came from or how it was last called.
_CONFIG_NOISE = ("name_or_path", "is_local", "local_files_only", "_commit_hash", "tokenizer_file",
                 "max_length", "stride", "truncation_strategy")


def tokenizer_identity(tokenizer) -> str:
    """A SHA-256 that changes whenever the tokenizer could encode text differently.

    Two loads of the same files give the same identity, and so does a copy written with
    ``save_pretrained`` (a phase-2 encoder folder keeps one), even after the tokenizer was used.
    """
    material: dict[str, Any] = {
        "class": f"{type(tokenizer).__module__}.{type(tokenizer).__qualname__}",
        "libraries": _library_versions(),
        "special_tokens": _plain(tokenizer.special_tokens_map),
        "special_ids": _plain(tokenizer.all_special_ids),
        "model_max_length": tokenizer.model_max_length,
        "padding_side": getattr(tokenizer, "padding_side", None),
        "truncation_side": getattr(tokenizer, "truncation_side", None),
        # whether token_type_ids come back, which classification and multiple choice keep
        "model_input_names": _plain(getattr(tokenizer, "model_input_names", None)),
        "options": {name: _plain(_option(tokenizer, name)) for name in _ENCODING_OPTIONS},
    }
    backend = getattr(tokenizer, "backend_tokenizer", None) if getattr(tokenizer, "is_fast", False) else None
    if backend is not None:
        material["backend"] = _backend_digest(backend.to_str())
    else:
        material["saved"] = _saved_digest(tokenizer)
    return hashlib.sha256(json.dumps(material, sort_keys=True, default=str).encode()).hexdigest()


def feature_key(kind_name: str, data_identity: Mapping[str, Any], split: str, lang: str, tokenizer_id: str,
                settings: Mapping[str, Any], spec: TaskSpec, kinds: Kinds | None = None) -> str:
    """The cache key of one split's features: a hash of everything that shapes them, and nothing else.
    ``kinds``: the registry's kinds (the core's own when omitted)."""
    kinds = kinds if kinds is not None else builtin_kinds()
    material = {
        "version": FEATURE_CACHE_VERSION,
        "kind": kind_name,
        "kind_code": _kind_material(kinds, kind_name),
        "data": dict(data_identity),
        "split": split,
        "lang": lang,
        "tokenizer": tokenizer_id,
        "settings": {name: convert(settings[name]) for name, convert in FEATURE_SETTINGS.items()},
        # tagging maps tags through labels (derived from training data for CCG), multiple choice
        # checks num_choices; the name only appears in error messages but costs nothing to include
        "spec": {"name": spec.name, "labels": list(spec.labels), "num_choices": spec.num_choices},
    }
    own = kinds.spec(kind_name).settings  # a kind's own settings may shape its features (lengths)
    if own:  # only then: the keys of the other kinds' entries stay as they were
        material["kind_settings"] = {name: _plain(spec.defaults.get(name, default)) for name, default in own.items()}
    return stable_hash(material, length=32)


def cached_featurize(kind, data: TaskData, split: str, lang: str, tokenizer, settings: Mapping[str, Any], *,
                     cache_dir: Path | None, compute: Callable[[], list[dict]]) -> list[dict]:
    """``compute()``'s features, read from ``cache_dir`` when an earlier run stored them.

    ``compute`` must featurise exactly what the other arguments describe (``runners.featurize``
    with the same arguments); with ``cache_dir`` None nothing is cached.
    """
    if cache_dir is None:
        return compute()
    key = feature_key(kind.name, data.identity, split, lang, tokenizer_identity(tokenizer), settings, data.spec,
                      data.kinds)
    path = Path(cache_dir) / f"{key}{SUFFIX}"
    features = load_entry(path, key)
    if features is None:
        _first_miss(Path(cache_dir))
        features = compute()
        _store(path, key, features)
    return features


_NOTED_OLD: set[Path] = set()


def _first_miss(folder: Path) -> None:
    """Once per process and folder: remove temporary entries that killed processes left, and say
    in one line when it holds entries of the old (pickle) format."""
    if folder in _NOTED_OLD:
        return
    _NOTED_OLD.add(folder)
    for path, size in remove_dead_temporaries(folder):
        log.info("removed %s (%.1f MiB), left by a process that stopped", path.name, size / 2**20)
    try:
        old = sum(1 for _ in folder.glob(f"*{OLD_SUFFIX}"))
    except OSError:
        return
    if old:
        log.warning("%s holds %d feature cache entr%s of the old pickle format; they are never read (unpickling "
                    "could run code) and are rebuilt as safetensors; delete the .pkl files to reclaim the space",
                    folder, old, "y" if old == 1 else "ies")


class EntryError(ValueError):
    """A feature cache file that is not a sound entry of this format (it is rebuilt)."""


def load_entry(path: Path, key: str | None = None) -> list[dict] | None:
    """The features in ``path``, or None when there is none or it is damaged, foreign or stale
    (not ``key``'s); reading parses safetensors and JSON only."""
    try:
        return read_entry(path, key)
    except FileNotFoundError:
        return None
    except (OSError, EntryError) as exc:  # truncated, damaged or another key's: a miss, and the entry is rewritten
        log.debug("feature cache entry %s unusable (%s); recomputing", path, exc)
        return None


def read_entry(path: Path, key: str | None = None) -> list[dict]:
    """Decode one entry; raise :class:`EntryError` saying why it is not a sound one (``xharness verify``)."""
    from safetensors import SafetensorError
    from safetensors.numpy import load

    content = path.read_bytes()
    try:
        tensors = load(content)
        header = json.loads(_metadata(content)["xharness"])
    except (SafetensorError, ValueError, KeyError, TypeError) as exc:
        raise EntryError(f"not a feature cache entry ({type(exc).__name__})") from None
    if not isinstance(header, dict) or header.get("version") != FEATURE_CACHE_VERSION:
        version = header.get("version") if isinstance(header, dict) else "?"
        raise EntryError(f"written by another version of the cache ({version})")
    if key is not None and header.get("key") != key:
        raise EntryError(f"holds key {header.get('key')}, not {key}")
    if path.name != f"{header.get('key')}{SUFFIX}":
        raise EntryError(f"holds key {header.get('key')} under another file name")
    if header.get("sha256") != _tensors_digest(tensors):
        raise EntryError("its content does not match its recorded SHA-256 (truncated, edited or corrupted)")
    try:
        return _decode(header, tensors)
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise EntryError(f"its columns do not decode ({type(exc).__name__}: {exc})") from None


def _full_store(exc: OSError, path: Path) -> None:
    """A full or read-only store stops the run now, before training that could not be saved."""
    reason = storage_fault(exc)
    if reason is not None:
        from harness.contract.errors import UserError

        raise UserError(f"could not write the feature cache entry {path} ({reason}); "
                        f"{storage_advice(reason, path.parent)} (or run with "
                        f"XHARNESS_FEATURE_CACHE=0) and run the same command again") from None


def _tensors_digest(tensors: dict[str, Any]) -> str:
    """SHA-256 over every tensor's name, type, shape and bytes: a flipped bit anywhere is noticed."""
    digest = hashlib.sha256()
    for name in sorted(tensors):
        array = tensors[name]
        digest.update(f"{name}\0{array.dtype.str}\0{array.shape}\0".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def _metadata(content: bytes) -> dict[str, str]:
    """The ``__metadata__`` of a safetensors file (the numpy loader drops it)."""
    size = int.from_bytes(content[:8], "little")
    if size <= 0 or size > len(content) - 8:
        raise ValueError("bad header size")
    return json.loads(content[8:8 + size].decode("utf-8"))["__metadata__"]


def _store(path: Path, key: str, features: list[dict]) -> None:
    from safetensors.numpy import save

    try:
        header, tensors = _encode(features)
    except TypeError as exc:  # a kind's feature that is not plain data: computed every time
        log.warning("features for %s are not cached: %s", path.name, exc)
        return
    header.update(key=key, version=FEATURE_CACHE_VERSION, sha256=_tensors_digest(tensors))
    content = save(tensors, metadata={"xharness": json.dumps(header, ensure_ascii=False)})
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=temp_prefix(path.name), suffix=".tmp", dir=path.parent)
    except OSError as exc:  # the cache only saves time; a run goes on without it
        _full_store(exc, path)
        log.warning("cannot write the feature cache in %s (%s); features are not cached", path.parent, exc)
        return
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), 0o666 & ~current_umask())  # mkstemp's 0600 would hide it from the group
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        _full_store(exc, path)
        log.warning("cannot write the feature cache entry %s (%s); features are not cached", path, exc)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# -- the entry format ------------------------------------------------------------------------
# Features are a list of dicts. Each distinct key order is a "layout"; each key a column holding the
# values of the features that have it, in order. A column of ints, of lists of ints, of lists of
# lists of ints or of lists of int tuples (or None: span offsets) is a set of int64 tensors; any
# other column is JSON in a uint8 tensor, each value tagged so that tuples, dictionaries (with any
# keys) and lists come back as they were.


def _encode(features: list[dict]) -> tuple[dict[str, Any], dict[str, Any]]:
    import numpy

    layouts: dict[tuple, int] = {}
    order = []
    columns: dict[str, list] = {}
    for feature in features:
        if not isinstance(feature, dict):
            raise TypeError(f"a feature is a {type(feature).__name__}, not a dict")
        names = tuple(feature)
        order.append(layouts.setdefault(names, len(layouts)))
        for name in names:
            columns.setdefault(name, []).append(feature[name])
    tensors: dict[str, Any] = {"layout": numpy.asarray(order, dtype=numpy.int64)}
    codecs = {}
    for index, (name, values) in enumerate(columns.items()):
        prefix = f"c{index}"
        codecs[name] = codec = _codec(values)
        try:
            _numeric(tensors, prefix, codec, values)
        except OverflowError:  # ints beyond 64 bits: kept exactly, as JSON
            codecs[name] = codec = "json"
        if codec == "json":
            text = json.dumps([_tag(v) for v in values], ensure_ascii=False, allow_nan=True)
            tensors[prefix] = numpy.frombuffer(text.encode("utf-8"), dtype=numpy.uint8).copy()
    for name, array in tensors.items():  # token ids and counts fit in 32 bits: half the disk
        if array.dtype == numpy.int64 and array.size and -2**31 <= array.min() and array.max() < 2**31:
            tensors[name] = array.astype(numpy.int32)
    return {"count": len(features), "layouts": [list(names) for names in layouts], "columns": codecs}, tensors


def _numeric(tensors: dict[str, Any], prefix: str, codec: str, values: list) -> None:
    """Put a numeric column's tensors under ``prefix`` (nothing for a JSON column)."""
    from itertools import chain

    import numpy

    def ints(items) -> Any:
        return numpy.fromiter(items, dtype=numpy.int64)

    flat = chain.from_iterable
    if codec == "int":
        tensors[prefix] = ints(values)
    elif codec == "ints":
        tensors[prefix] = ints(flat(values))
        tensors[prefix + ".n"] = ints(map(len, values))
    elif codec == "ints2":
        inner = list(flat(values))
        tensors[prefix] = ints(flat(inner))
        tensors[prefix + ".n"] = ints(map(len, values))
        tensors[prefix + ".m"] = ints(map(len, inner))
    elif codec.startswith("tuples"):
        blank = (0,) * int(codec[len("tuples"):])
        items = list(flat(values))
        tensors[prefix] = ints(flat(blank if item is None else item for item in items))
        tensors[prefix + ".n"] = ints(map(len, values))
        tensors[prefix + ".some"] = numpy.fromiter((item is not None for item in items), dtype=numpy.uint8)


def _types(values) -> set:
    return set(map(type, values))


def _codec(values: list) -> str:
    """How a column is stored: as int64 tensors when its values are ints (or lists of them), else JSON.

    Type checks run over ``map(type, …)``: a column of millions of token ids is checked in C.
    """
    from itertools import chain

    flat = chain.from_iterable
    top = _types(values)
    if top <= {int}:
        return "int"
    if top != {list}:
        return "json"
    items = _types(flat(values))
    if items <= {int}:
        return "ints"
    if items == {list} and _types(flat(flat(values))) <= {int}:
        return "ints2"
    if items <= {tuple, type(None)} and tuple in items:
        tuples = [x for x in flat(values) if x is not None]
        widths = set(map(len, tuples))
        if len(widths) == 1 and _types(flat(tuples)) <= {int}:
            return f"tuples{widths.pop()}"
    return "json"


def _tag(value: Any) -> Any:
    if value is None or type(value) in (str, int, float, bool):
        return value
    if type(value) is list:
        return [_tag(v) for v in value]
    if type(value) is tuple:
        return {"t": [_tag(v) for v in value]}
    if type(value) is dict:
        return {"d": [[_tag(k), _tag(v)] for k, v in value.items()]}
    raise TypeError(f"a {type(value).__name__} is not plain data (ints, floats, strings, lists, tuples, dicts)")


def _untag(value: Any) -> Any:
    if type(value) is list:
        return [_untag(v) for v in value]
    if type(value) is dict:
        if "t" in value:
            return tuple(_untag(v) for v in value["t"])
        return {_untag(k): _untag(v) for k, v in value["d"]}
    return value


def _split(flat: list, counts: list[int]) -> list[list]:
    rows, at = [], 0
    for count in counts:
        rows.append(flat[at:at + count])
        at += count
    if at != len(flat):
        raise ValueError("column lengths do not add up")
    return rows


def _decode(header: dict[str, Any], tensors: dict[str, Any]) -> list[dict]:
    layouts = [tuple(names) for names in header["layouts"]]
    columns: dict[str, list] = {}
    for index, (name, codec) in enumerate(header["columns"].items()):
        prefix = f"c{index}"
        if codec == "int":
            columns[name] = tensors[prefix].tolist()
        elif codec == "ints":
            columns[name] = _split(tensors[prefix].tolist(), tensors[prefix + ".n"].tolist())
        elif codec == "ints2":
            inner = _split(tensors[prefix].tolist(), tensors[prefix + ".m"].tolist())
            columns[name] = _split(inner, tensors[prefix + ".n"].tolist())
        elif codec.startswith("tuples"):
            width = int(codec[len("tuples"):])
            some = tensors[prefix + ".some"]
            if tensors[prefix].size != width * some.size:
                raise ValueError("a tuple column's lengths do not add up")
            flat = tensors[prefix]
            items = list(zip(*(flat[j::width].tolist() for j in range(width)))) if width else [()] * some.size
            for missing in (some == 0).nonzero()[0].tolist():
                items[missing] = None
            columns[name] = _split(items, tensors[prefix + ".n"].tolist())
        elif codec == "json":
            columns[name] = [_untag(v) for v in json.loads(tensors[prefix].tobytes().decode("utf-8"))]
        else:
            raise ValueError(f"unknown column codec {codec!r}")
    order = tensors["layout"].tolist()
    if len(order) != header["count"]:
        raise ValueError("the layout column does not match the count")
    positions = dict.fromkeys(columns, 0)
    features = []
    for layout in order:
        feature = {}
        for name in layouts[layout]:
            feature[name] = columns[name][positions[name]]
            positions[name] += 1
        features.append(feature)
    if any(positions[name] != len(values) for name, values in columns.items()):
        raise ValueError("a column holds more values than the features use")
    return features


def _kind_material(kinds: Kinds, kind_name: str) -> dict[str, Any]:
    """The kind's feature-shaping constants and a digest of its module's code.

    The digest is a safety net for a forgotten FEATURE_CACHE_VERSION bump: any edit of what the
    kind's module does (featurize lives there) starts a fresh set of entries; moving its imports or
    editing its prose does not (the digest is ``code_digest``'s, as for run keys).
    """
    from harness.contract.discovery import code_digest

    module = sys.modules[type(kinds.get(kind_name)).__module__]
    source = Path(module.__file__) if getattr(module, "__file__", None) else None
    return {"source": code_digest([source], root=source.parent) if source is not None and source.suffix == ".py"
            else None,
            "constants": {name: getattr(module, name) for name in kinds.spec(kind_name).feature_constants}}


@lru_cache(maxsize=None)
def _library_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {}
    for name in ("transformers", "tokenizers"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def _option(tokenizer, name: str) -> Any:
    value = getattr(tokenizer, name, None)
    return value if value is not None else tokenizer.init_kwargs.get(name)


def _plain(value: Any) -> Any:
    """JSON-ready and order-stable (a set's order changes from one process to the next)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (set, frozenset)):
        return sorted(str(v) for v in value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)  # AddedToken and the like print as their content


_canonical_backends: dict[str, str] = {}


def _backend_digest(serialised: str) -> str:
    """Digest of a fast tokenizer's JSON without its per-call state.

    Re-reading the JSON takes about a second for a 250k-token vocabulary, so the result is kept
    per exact serialisation (a few per run: one per truncation state).
    """
    raw = hashlib.sha256(serialised.encode()).hexdigest()
    if raw not in _canonical_backends:
        content = json.loads(serialised)
        for name in _BACKEND_CALL_STATE:
            content.pop(name, None)
        canonical = json.dumps(content, sort_keys=True, ensure_ascii=False)
        _canonical_backends[raw] = hashlib.sha256(canonical.encode()).hexdigest()
    return _canonical_backends[raw]


def _saved_digest(tokenizer) -> str:
    """Digest of what ``save_pretrained`` writes, for tokenizers without a serialisable backend."""
    digest = hashlib.sha256()
    with tempfile.TemporaryDirectory(prefix="xharness-tokenizer-") as folder:
        tokenizer.save_pretrained(folder)
        for path in sorted(p for p in Path(folder).rglob("*") if p.is_file()):
            content = path.read_bytes()
            if path.name == "tokenizer_config.json":
                config = json.loads(content)
                for name in _CONFIG_NOISE:
                    config.pop(name, None)
                content = json.dumps(config, sort_keys=True).encode()
            digest.update(path.relative_to(folder).as_posix().encode() + b"\0")
            digest.update(hashlib.sha256(content).digest())
    return digest.hexdigest()
