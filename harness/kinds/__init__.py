"""Task kinds: the generic machinery (featurisation, head, predictions) per kind of task.

Modules are imported only when a run needs them, because they import torch.
"""

from __future__ import annotations

import importlib

from harness.plugins import KNOWN_KINDS

#: kind name → (module, attribute holding the kind object)
_KINDS = {
    "classification": ("harness.kinds.classification", "KIND"),
    "multiple_choice": ("harness.kinds.multiple_choice", "KIND"),
    "tagging": ("harness.kinds.tagging", "KIND"),
    "span_qa": ("harness.kinds.span_qa", "KIND"),
    "masked_lm": ("harness.kinds.masked_lm", "KIND"),
    "retrieval": ("harness.kinds.retrieval", "KIND"),
    "bitext_mining": ("harness.kinds.retrieval", "BITEXT_MINING"),
}
assert set(_KINDS) == set(KNOWN_KINDS)

#: Kinds that are evaluated without training (phase 3 embeds and searches instead).
UNTRAINED_KINDS = ("retrieval", "bitext_mining")


def get_kind(name: str):
    """Return the kind object (see ``harness.kinds.base.TaskKind``) for a kind name."""
    module, attribute = _KINDS[name]
    return getattr(importlib.import_module(module), attribute)
