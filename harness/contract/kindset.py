"""The task kinds of one discovery (``Registry.kind_set``): each name's ``KindSpec`` and plugin,
and the kind objects, imported on first use and kept by that object alone. A plan carries it, so
two registries in one process (a notebook, the tests) never see each other's kinds."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from harness.contract.errors import UserError
from harness.contract.spec import KindSpec, TaskSpec


class KindLoadError(UserError):
    """A registered kind whose module fails to import: reported like a broken plugin."""

    exit_code = 2


class Kinds:
    """The task kinds of one discovery: each name's ``KindSpec`` and plugin, and the kind objects,
    imported on first use and kept by this object alone."""

    def __init__(self, entries: Mapping[str, tuple[KindSpec, str]]):
        self._entries = dict(entries)
        self._loaded: dict[str, Any] = {}

    def names(self) -> list[str]:
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def spec(self, name: str) -> KindSpec:
        """The registered description of a kind (cheap: imports nothing)."""
        try:
            return self._entries[name][0]
        except KeyError:
            raise UserError(f"task kind {name!r} is not registered; is the plugin that adds it installed "
                            f"(see `xharness list`)?") from None

    def plugin(self, name: str) -> str:
        self.spec(name)
        return self._entries[name][1]

    def trained(self, name: str) -> bool:
        """Whether phase 3 fine-tunes on the task (False: the encoder's embeddings are used as they are)."""
        return self.spec(name).trained

    def get(self, name: str):
        """The kind object (see ``harness.kinds.base.TaskKind``) for a kind name."""
        if name not in self._loaded:
            spec = self.spec(name)
            try:
                self._loaded[name] = load_object(spec.load)
            except Exception as exc:  # a plugin's bug: one line naming it, as for a broken plugin
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
                raise KindLoadError(f"task kind {name!r} of plugin {self.plugin(name)!r} failed to load "
                                    f"({spec.load}): {type(exc).__name__}: {first}; fix or uninstall the plugin"
                                    ) from None
        return self._loaded[name]

    def open_labels(self, spec: TaskSpec) -> bool:
        """Whether ``spec`` takes its labels from its training data (its kind reads them off it)."""
        return not spec.labels and self.spec(spec.kind).labels_from_training is not None \
            and "label_min_count" in spec.defaults

    def labels_from_training(self, spec: TaskSpec, examples: list) -> list[str] | None:
        """The labels of a task with an open label set, read off its training ``examples``; None when
        the task declares its labels or its kind takes none from training data."""
        if not self.open_labels(spec):
            return None
        return load_object(self.spec(spec.kind).labels_from_training)(examples, int(spec.defaults["label_min_count"]))


def load_object(path: str) -> Any:
    """The object a ``"package.module:attribute"`` string names."""
    module, _, attribute = path.partition(":")
    return getattr(importlib.import_module(module), attribute)
