"""Task kinds: the generic machinery (featurisation, head, predictions) per kind of task.

Kinds are registered like tasks, through the ``register_task_kinds`` hook (see
``harness.hookspecs``); the core's own kinds below come from the built-in plugin
``harness.kinds.builtin``. A kind's module is imported only when a run needs it, because it
imports torch; ``xharness list`` never does.
"""

from __future__ import annotations

import importlib
from typing import Any

from harness.errors import UserError
from harness.spec import KindSpec, TaskSpec


def _labelled(spec: TaskSpec) -> None:
    open_tags = spec.kind == "tagging" and not spec.labels and "label_min_count" in spec.defaults
    if len(spec.labels) < 2 and not open_tags:
        raise ValueError(f"{spec.kind} task {spec.name!r} needs at least two labels (or, for tagging, "
                         f"defaults['label_min_count'] to take them from the training data)")


def _choices(spec: TaskSpec) -> None:
    if not spec.num_choices:
        raise ValueError(f"multiple-choice task {spec.name!r} needs num_choices")


def _dual_encoder_settings(values) -> None:
    for name in ("query_max_length", "candidate_max_length", "top_k"):
        if int(values[name]) < 1:
            raise ValueError(f"{name} must be at least 1, not {values[name]}")
    if values["pooling"] not in ("cls", "mean"):
        raise ValueError(f"pooling must be cls or mean, not {values['pooling']!r}")
    if float(values["scale"]) <= 0:
        raise ValueError(f"scale must be positive, not {values['scale']}")


def _tagging_settings(values) -> None:
    if values["ud_tokens"] not in ("fused", "split"):
        raise ValueError(f"ud_tokens must be fused or split, not {values['ud_tokens']!r}")
    if values["label_piece"] not in ("first", "first_nonempty"):
        raise ValueError(f"label_piece must be first or first_nonempty, not {values['label_piece']!r}")


#: The core's kinds, registered by the built-in plugin.
BUILTIN: tuple[KindSpec, ...] = (
    KindSpec("classification", "sentence(-pair) classification on the first token",
             "harness.kinds.classification:KIND", check=_labelled),
    KindSpec("multiple_choice", "one score per (context, choice) pair, softmax over the choices",
             "harness.kinds.multiple_choice:KIND", check=_choices),
    KindSpec("tagging", "one label per word (first sub-token), seqeval F1",
             "harness.kinds.tagging:KIND", check=_labelled,
             # ud_tokens: a UD multi-word token is one word (XTREME's reading) or its syntactic
             # words (a reader's split_words); label_piece: the word's label sits on its first
             # sub-token (XTREME) or its first that is not bare whitespace (docs/udpos.md)
             settings={"ud_tokens": "fused", "label_piece": "first"}, check_settings=_tagging_settings),
    KindSpec("span_qa", "extractive QA: answer span start and end over sliding windows",
             "harness.kinds.span_qa:KIND"),
    KindSpec("masked_lm", "masked-language-model training on raw text (intermediate only)",
             "harness.kinds.masked_lm:KIND"),
    KindSpec("retrieval", "sentence retrieval with the encoder's embeddings, no training (Tatoeba)",
             "harness.kinds.retrieval:KIND", trained=False),
    KindSpec("bitext_mining", "parallel-sentence mining by margin, no training (BUCC)",
             "harness.kinds.retrieval:BITEXT_MINING", trained=False),
    KindSpec("dual_encoder", "trained dual-encoder retrieval: shared encoder, in-batch softmax, "
             "ranking a candidate pool (LAReQA, Mewsli-X)",
             "harness.kinds.dual_encoder:KIND", pooled_test=True,
             # XTREME-R's dual encoder (third_party/run_retrieval_qa.py): L2-normalised first-token
             # vectors, logits = a trainable scale (starting at 100) × dot products; mAP@20
             settings={"query_max_length": 96, "candidate_max_length": 256, "pooling": "cls", "normalize": True,
                       "scale": 100.0, "learn_scale": True, "top_k": 20},
             check_settings=_dual_encoder_settings),
)

#: name → (KindSpec, plugin): what ``get_kind`` can load. Discovery (``harness.plugins.discover``)
#: installs every registered kind; the built-in ones are there from the start.
_ACTIVE: dict[str, tuple[KindSpec, str]] = {spec.name: (spec, "core") for spec in BUILTIN}
_LOADED: dict[str, tuple[KindSpec, Any]] = {}  # name → (the spec it was loaded by, the kind object)


class KindLoadError(UserError):
    """A registered kind whose module fails to import: reported like a broken plugin."""

    exit_code = 2


def install(kinds: dict[str, tuple[KindSpec, str]]) -> None:
    """Make the kinds of a discovery the ones ``get_kind`` loads (built-in ones stay)."""
    _ACTIVE.clear()
    _ACTIVE.update({spec.name: (spec, "core") for spec in BUILTIN})
    _ACTIVE.update(kinds)
    for name in [n for n, (spec, _) in _LOADED.items() if n not in _ACTIVE or _ACTIVE[n][0] != spec]:
        del _LOADED[name]  # gone, or registered anew by another spec


def kind_spec(name: str) -> KindSpec:
    """The registered description of a kind (cheap: imports nothing)."""
    try:
        return _ACTIVE[name][0]
    except KeyError:
        raise UserError(f"task kind {name!r} is not registered; is the plugin that adds it installed "
                        f"(see `xharness list`)?") from None


def is_trained(name: str) -> bool:
    """Whether phase 3 fine-tunes on the task (False: the encoder's embeddings are used as they are)."""
    return kind_spec(name).trained


def get_kind(name: str):
    """Return the kind object (see ``harness.kinds.base.TaskKind``) for a kind name."""
    if name not in _LOADED:
        spec = kind_spec(name)
        plugin = _ACTIVE[name][1]
        module, _, attribute = spec.load.partition(":")
        try:
            _LOADED[name] = (spec, getattr(importlib.import_module(module), attribute))
        except Exception as exc:  # a plugin's bug: one line naming it, as for a broken plugin
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            raise KindLoadError(f"task kind {name!r} of plugin {plugin!r} failed to load ({spec.load}): "
                                f"{type(exc).__name__}: {first}; fix or uninstall the plugin") from None
    return _LOADED[name][1]
