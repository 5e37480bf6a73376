"""Plugin discovery and the registry of tasks and models.

Each entry point is loaded and registered on its own: a plugin that fails to import,
implements a misspelt hook or registers something invalid is recorded with its error and
the others keep working. ``XHARNESS_DISABLE_PLUGIN_AUTOLOAD=1`` switches entry-point
loading off; ``XHARNESS_PLUGINS=a,b`` loads only the named entry points.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import pluggy

from harness import hookspecs
from harness.errors import UnknownNameError
from harness.spec import SPLITS, Leaderboard, ModelSpec, TaskSpec

DISABLE_ENV = "XHARNESS_DISABLE_PLUGIN_AUTOLOAD"
ONLY_ENV = "XHARNESS_PLUGINS"

#: Task kinds the core implements; a task of another kind is rejected at registration.
KNOWN_KINDS = ("classification", "multiple_choice", "tagging", "span_qa", "masked_lm", "retrieval", "bitext_mining")

ROLES = {"intermediate": "register_intermediate_tasks", "target": "register_target_tasks"}


@dataclass
class PluginInfo:
    name: str
    distribution: str | None
    version: str | None
    error: str | None = None
    provides: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class Registered:
    """A spec together with the plugin (and version) that supplied it."""

    spec: Any
    plugin: str
    plugin_version: str | None


class DuplicateNameError(ValueError):
    pass


class Registry:
    def __init__(self) -> None:
        self.tasks: dict[str, dict[str, Registered]] = {role: {} for role in ROLES}
        self.models: dict[str, Registered] = {}
        self.leaderboards: dict[str, Registered] = {}
        self.plugins: dict[str, PluginInfo] = {}

    # -- lookups -------------------------------------------------------------------
    def task(self, role: str, name: str) -> Registered:
        table = self.tasks[role]
        if name not in table:
            raise UnknownNameError(f"{role} task", name, table)
        return table[name]

    def model(self, name: str) -> Registered | None:
        return self.models.get(name)

    def plugin_versions(self) -> dict[str, str | None]:
        return {p.name: p.version for p in self.plugins.values() if p.ok}

    # -- registration ----------------------------------------------------------------
    def _add(self, table: dict[str, Registered], what: str, spec: Any, plugin: PluginInfo) -> None:
        existing = table.get(spec.name)
        if existing is not None:
            raise DuplicateNameError(
                f"{what} {spec.name!r} is registered by both plugin {existing.plugin!r} "
                f"and plugin {plugin.name!r}"
            )
        table[spec.name] = Registered(spec, plugin.name, plugin.version)
        plugin.provides.append(f"{what}:{spec.name}")

    def register_plugin(self, obj: object, info: PluginInfo, pm: pluggy.PluginManager) -> None:
        """Register one plugin object; on any failure record the error and undo it."""
        self.plugins[info.name] = info
        staged = Registry()
        try:
            pm.register(obj, name=info.name)
            try:
                pm.check_pending()
            except pluggy.PluginValidationError:
                pm.unregister(obj)
                raise
            for role, hook_name in ROLES.items():
                for impl in _impls(pm, hook_name, info.name):
                    impl(register=lambda spec, role=role: _register_task(staged, role, spec, info, self))
            for impl in _impls(pm, "register_models", info.name):
                impl(register=lambda spec: _register_model(staged, spec, info, self))
            for impl in _impls(pm, "register_leaderboards", info.name):
                impl(register=lambda spec: _register_leaderboard(staged, spec, info, self))
        except Exception as exc:  # a plugin's bug must not take the tool down
            info.error = f"{type(exc).__name__}: {exc}"
            info.provides.clear()
            if pm.is_registered(obj):
                pm.unregister(obj)
            return
        for role in ROLES:
            self.tasks[role].update(staged.tasks[role])
        self.models.update(staged.models)
        self.leaderboards.update(staged.leaderboards)


def _impls(pm: pluggy.PluginManager, hook_name: str, plugin_name: str):
    hook = getattr(pm.hook, hook_name)
    plugin = pm.get_plugin(plugin_name)
    return [impl.function for impl in hook.get_hookimpls() if impl.plugin is plugin]


def _register_task(staged: Registry, role: str, spec: Any, info: PluginInfo, reg: Registry) -> None:
    if not isinstance(spec, TaskSpec):
        raise TypeError(f"register() for {role} tasks expects a TaskSpec, got {type(spec).__name__}")
    if spec.kind not in KNOWN_KINDS:
        raise ValueError(f"task {spec.name!r} has unknown kind {spec.kind!r} (known: {', '.join(KNOWN_KINDS)})")
    if not spec.languages:
        raise ValueError(f"task {spec.name!r} declares no languages")
    open_tags = spec.kind == "tagging" and not spec.labels and "label_min_count" in spec.defaults
    if spec.kind in ("classification", "tagging") and len(spec.labels) < 2 and not open_tags:
        raise ValueError(f"{spec.kind} task {spec.name!r} needs at least two labels (or, for tagging, "
                         f"defaults['label_min_count'] to take them from the training data)")
    if spec.kind == "multiple_choice" and not spec.num_choices:
        raise ValueError(f"multiple-choice task {spec.name!r} needs num_choices")
    if spec.hub is not None and not set(spec.hub.splits) <= set(SPLITS):
        raise ValueError(f"task {spec.name!r}: hub splits must be among {SPLITS}")
    if spec.name in reg.tasks[role]:
        other = reg.tasks[role][spec.name]
        raise DuplicateNameError(
            f"{role} task {spec.name!r} is registered by both plugin {other.plugin!r} and plugin {info.name!r}"
        )
    staged._add(staged.tasks[role], f"{role} task", spec, info)


def _register_model(staged: Registry, spec: Any, info: PluginInfo, reg: Registry) -> None:
    if not isinstance(spec, ModelSpec):
        raise TypeError(f"register() for models expects a ModelSpec, got {type(spec).__name__}")
    if (spec.hub_id is None) == (spec.build is None):
        raise ValueError(f"model {spec.name!r} needs exactly one of hub_id and build")
    if spec.name in reg.models:
        other = reg.models[spec.name]
        raise DuplicateNameError(
            f"model {spec.name!r} is registered by both plugin {other.plugin!r} and plugin {info.name!r}"
        )
    staged._add(staged.models, "model", spec, info)


def _register_leaderboard(staged: Registry, spec: Any, info: PluginInfo, reg: Registry) -> None:
    from harness.scoring import METRICS

    if not isinstance(spec, Leaderboard):
        raise TypeError(f"register() for leaderboards expects a Leaderboard, got {type(spec).__name__}")
    for task in spec.tasks:
        if task.metric not in METRICS:
            raise ValueError(f"leaderboard {spec.name!r}: task {task.name!r} has unknown metric {task.metric!r} "
                             f"(known: {', '.join(METRICS)})")
        if task.group not in spec.groups:
            raise ValueError(f"leaderboard {spec.name!r}: task {task.name!r} is in undeclared group {task.group!r}")
    if spec.name in reg.leaderboards:
        other = reg.leaderboards[spec.name]
        raise DuplicateNameError(f"leaderboard {spec.name!r} is registered by both plugin {other.plugin!r} "
                                 f"and plugin {info.name!r}")
    staged._add(staged.leaderboards, "leaderboard", spec, info)


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() not in ("", "0", "false", "no")


def discover(extra: Iterable[tuple[str, object]] = (), *, autoload: bool | None = None) -> Registry:
    """Build the registry from entry points (unless switched off) plus ``extra`` plugins.

    ``extra`` holds ``(name, plugin_object)`` pairs: tests and embedding code use it to add
    plugins that are not installed.
    """
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    registry = Registry()
    if autoload is None:
        autoload = not _truthy(os.environ.get(DISABLE_ENV))
    if autoload:
        only = {n.strip() for n in os.environ.get(ONLY_ENV, "").split(",") if n.strip()}
        for ep in sorted(metadata.entry_points(group=hookspecs.ENTRY_POINT_GROUP), key=lambda e: e.name):
            if only and ep.name not in only:
                continue
            dist = getattr(ep, "dist", None)
            info = PluginInfo(ep.name, dist.name if dist else None, dist.version if dist else None)
            if ep.name in registry.plugins:
                info.error = f"another plugin is already registered under the name {ep.name!r}"
                registry.plugins[f"{ep.name} ({info.distribution})"] = info
                continue
            try:
                obj = ep.load()
            except Exception as exc:  # broken import: report it, keep going
                info.error = f"{type(exc).__name__}: {exc}"
                registry.plugins[ep.name] = info
                continue
            registry.register_plugin(obj, info, pm)
    for name, obj in extra:
        registry.register_plugin(obj, PluginInfo(name, None, getattr(obj, "__version__", None)), pm)
    return registry
