"""A disk cache of featurised (tokenised) task data.

Tokenising a task's splits gives the same features for every seed and every intermediate task
of a grid: they depend only on the data, the tokenizer, the kind's featurisation code and the
few settings that code reads. Each entry is one pickle, ``<cache_dir>/<key>.pkl``, written to a
temporary file in the same folder and moved into place with ``os.replace``: readers never see a
partial file, and processes that write the same key at once only replace equal content. A damaged
entry is recomputed, never fatal.

Nothing here imports torch or transformers at import time.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import pickle
import sys
import tempfile
from collections.abc import Callable, Mapping
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.fsutil import current_umask, file_sha256, stable_hash

if TYPE_CHECKING:
    from harness.data import TaskData
    from harness.spec import TaskSpec

log = logging.getLogger(__name__)

#: Bump when featurisation changes in a way the key cannot see (the kinds' own modules are hashed).
FEATURE_CACHE_VERSION = "1"

#: The settings featurisation reads, each with the type ``runners.featurize`` converts it to.
#: Everything else (lr, epochs, seed, batch sizes …) leaves the features alone.
FEATURE_SETTINGS: dict[str, Callable[[Any], Any]] = {"max_length": int}

#: Module constants that shape a kind's features: span_qa's window overlap is
#: ``min(STRIDE, max_length // 2)``, a constant rather than a setting.
KIND_CONSTANTS: dict[str, tuple[str, ...]] = {"span_qa": ("STRIDE",)}

_PICKLE_PROTOCOL = 5

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
                settings: Mapping[str, Any], spec: TaskSpec) -> str:
    """The cache key of one split's features: a hash of everything that shapes them, and nothing else."""
    material = {
        "version": FEATURE_CACHE_VERSION,
        "kind": kind_name,
        "kind_code": _kind_material(kind_name),
        "data": dict(data_identity),
        "split": split,
        "lang": lang,
        "tokenizer": tokenizer_id,
        "settings": {name: convert(settings[name]) for name, convert in FEATURE_SETTINGS.items()},
        # tagging maps tags through labels (derived from training data for CCG), multiple choice
        # checks num_choices; the name only appears in error messages but costs nothing to include
        "spec": {"name": spec.name, "labels": list(spec.labels), "num_choices": spec.num_choices},
    }
    from harness.kinds import kind_spec

    own = kind_spec(kind_name).settings  # a kind's own settings may shape its features (lengths)
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
    key = feature_key(kind.name, data.identity, split, lang, tokenizer_identity(tokenizer), settings, data.spec)
    path = Path(cache_dir) / f"{key}.pkl"
    features = _load(path, key)
    if features is None:
        features = compute()
        _store(path, key, features)
    return features


def _load(path: Path, key: str) -> list[dict] | None:
    try:
        with open(path, "rb") as handle:
            entry = pickle.load(handle)
    except FileNotFoundError:
        return None
    except Exception as exc:  # truncated or damaged: a miss, and the entry is rewritten
        log.debug("feature cache entry %s unreadable (%s: %s); recomputing", path, type(exc).__name__, exc)
        return None
    if (not isinstance(entry, dict) or entry.get("key") != key or entry.get("version") != FEATURE_CACHE_VERSION
            or not isinstance(entry.get("features"), list)):
        log.debug("feature cache entry %s does not hold key %s; recomputing", path, key)
        return None
    return entry["features"]


def _store(path: Path, key: str, features: list[dict]) -> None:
    entry = {"key": key, "version": FEATURE_CACHE_VERSION, "features": features}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:  # the cache only saves time; a run goes on without it
        log.warning("cannot write the feature cache in %s (%s); features are not cached", path.parent, exc)
        return
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), 0o666 & ~current_umask())  # mkstemp's 0600 would hide it from the group
            pickle.dump(entry, handle, protocol=_PICKLE_PROTOCOL)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        log.warning("cannot write the feature cache entry %s (%s); features are not cached", path, exc)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _kind_material(kind_name: str) -> dict[str, Any]:
    """The kind's feature-shaping constants and a digest of its module's source.

    The digest is a safety net for a forgotten FEATURE_CACHE_VERSION bump: any edit of the kind's
    module (featurize lives there) starts a fresh set of entries.
    """
    from harness.kinds import get_kind

    module = sys.modules[type(get_kind(kind_name)).__module__]
    source = Path(module.__file__) if getattr(module, "__file__", None) else None
    return {"source": file_sha256(source) if source is not None and source.suffix == ".py" else None,
            "constants": {name: getattr(module, name) for name in KIND_CONSTANTS.get(kind_name, ())}}


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
