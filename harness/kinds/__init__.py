"""Task kinds: the generic machinery (featurisation, head, predictions) per kind of task.

Modules are imported only when a run needs them, because they import torch.
"""

from __future__ import annotations

import importlib

from harness.plugins import KNOWN_KINDS

_MODULES = {
    "classification": "harness.kinds.classification",
    "multiple_choice": "harness.kinds.multiple_choice",
    "tagging": "harness.kinds.tagging",
    "span_qa": "harness.kinds.span_qa",
    "retrieval": "harness.kinds.retrieval",
    "bitext_mining": "harness.kinds.retrieval",
}
#: Kinds that are evaluated without training (phase 3 embeds and searches instead).
UNTRAINED_KINDS = ("retrieval", "bitext_mining")
assert set(_MODULES) == set(KNOWN_KINDS)


def get_kind(name: str):
    """Return the kind object (see ``harness.kinds.base.TaskKind``) for a kind name."""
    module = importlib.import_module(_MODULES[name])
    return module.BITEXT_MINING if name == "bitext_mining" else module.KIND
