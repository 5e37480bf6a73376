"""Plugin discovery and the registry of tasks and models.

Each entry point is loaded and registered on its own: a plugin that fails to import,
implements a misspelt hook or registers something invalid is recorded with its error and
the others keep working. ``XHARNESS_DISABLE_PLUGIN_AUTOLOAD=1`` switches entry-point
loading off; ``XHARNESS_PLUGINS=a,b`` loads only the named entry points.

Task kinds are registered first, by every plugin (the core's own kinds by the built-in plugin
``harness.kinds.builtin``), then tasks, models and leaderboards, so a task may use a kind that
another plugin adds. A task whose kind is missing, clashing or withdrawn (its plugin broke) is
left out and noted on its plugin; the rest of that plugin works.

When two or more plugins register the same name (task of one role, kind, model or leaderboard),
none of them wins: the name is left out of the tables and recorded in ``Registry.conflicts``,
asking for it raises :class:`NameClashError` naming every claimant, and everything else the
plugins register keeps working. The outcome does not depend on load order or plugin names.
A plugin that registers one name twice itself is rejected as a whole (its own bug).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import pluggy

from harness.contract import hookspecs
from harness.contract.errors import UnknownNameError, UserError, WrongRoleError
from harness.contract.kindset import Kinds
from harness.contract.spec import (GRANULARITIES, LEADERBOARD_METRICS, SPLITS, KindSpec, Leaderboard, ModelSpec,
                                   StudySpec, TaskSpec, TrackerSpec, TranslationSpec, LocalSource)

DISABLE_ENV = "XHARNESS_DISABLE_PLUGIN_AUTOLOAD"
ONLY_ENV = "XHARNESS_PLUGINS"

#: The plugin name under which the core registers its own kinds.
CORE_PLUGIN = "core"
#: The module of the core's own plugin (it registers the built-in task kinds).
BUILTIN_PLUGIN = "harness.kinds.builtin"
#: The distributions of the built-in plugins: the core and the plugin packages shipped with it. A
#: name one of them registers stays theirs: a third party registering it too is left out of that
#: name (in one line on its plugin), so installing a plugin never takes a built-in task away.
BUILTIN_DISTRIBUTIONS = ("xtreme-harness", "xharness-xtreme", "xharness-stilts", "xharness-models",
                         "xharness-studies")

ROLES = {"intermediate": "register_intermediate_tasks", "target": "register_target_tasks"}


@dataclass
class PluginInfo:
    name: str
    distribution: str | None
    version: str | None
    error: str | None = None
    provides: list[str] = field(default_factory=list)
    #: ``"what:name"`` entries of ``provides`` that another plugin registers too (kept sorted);
    #: those names are unavailable, the rest of the plugin works.
    clashes: list[str] = field(default_factory=list)
    #: tasks left out because their kind is unavailable, each with the reason
    unavailable: list[str] = field(default_factory=list)
    #: ``"what:name"`` entries of ``provides`` left out because a built-in plugin has the name (kept sorted)
    rejected: list[str] = field(default_factory=list)
    #: the full traceback of ``error`` (``xharness list --plugin NAME --verbose``)
    details: str | None = None
    #: the module its hooks live in (the entry point's module): its package's code enters the keys
    module: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def builtin(self) -> bool:
        """Shipped with xharness (the core or one of its plugin packages): its names win a clash."""
        return self.distribution in BUILTIN_DISTRIBUTIONS

    @property
    def note(self) -> str | None:
        notes = []
        if self.rejected:
            notes.append("left out, a built-in plugin has the name (rename yours): " + ", ".join(self.rejected))
        if self.clashes:
            notes.append("name clash, unavailable: " + ", ".join(self.clashes))
        notes.extend(self.unavailable)
        return "; ".join(notes) or None


@dataclass(frozen=True)
class Registered:
    """A spec together with the plugin (and version) that supplied it."""

    spec: Any
    plugin: str
    plugin_version: str | None


class HookError(ValueError):
    """A plugin's hooks cannot be called as the contract says (unmarked, or the wrong arguments)."""


def _unmarked_hooks(obj: object) -> list[str]:
    """Functions of a plugin named as hooks but lacking the @hookimpl mark (pluggy ignores them)."""
    names = [name for name in dir(hookspecs) if hasattr(getattr(hookspecs, name), f"{hookspecs.PROJECT}_spec")]
    return [name for name in names if callable(getattr(obj, name, None)) and
            not hasattr(getattr(obj, name), f"{hookspecs.PROJECT}_impl")]


def _signature_problem(exc: Exception) -> str:
    """pluggy's validation error as one line: the hook, what it takes, what the plugin wrote."""
    import re

    text = str(exc)
    hook = re.search(r"for hook '(\w+)'", text)
    wrote = re.search(r"hookimpl definition: (.+)", text)
    name = hook.group(1) if hook else "a hook"
    expected = f"def {name}(register)" if hook and hook.group(1).startswith("register_") else "the hook's arguments"
    return (f"{name} must be written as {expected}: it receives one argument, register"
            + (f"; the plugin wrote {wrote.group(1).strip()}" if wrote else f" ({text.splitlines()[0]})"))


class DuplicateNameError(ValueError):
    """One plugin registered the same name twice: that plugin is rejected as a whole."""


class NameClashError(UserError):
    """A name registered by several plugins was asked for: it is unavailable until one is left out."""

    exit_code = 2

    def __init__(self, what: str, name: str, plugins: Iterable[str]):
        self.what, self.name, self.plugins = what, name, sorted(plugins)
        quoted = [repr(p) for p in self.plugins]
        if len(quoted) == 2:
            by = f"both plugin {quoted[0]} and plugin {quoted[1]}"
            leave = "one is left out"
        else:
            by = "plugins " + ", ".join(quoted[:-1]) + f" and {quoted[-1]}"
            leave = "all but one are left out"
        super().__init__(f"{what} {name!r} is registered by {by}; it is unavailable until {leave}: "
                         f"set {ONLY_ENV} to the plugins to load (see `xharness list`)")


#: The kinds of name a plugin registers, as used in messages and as keys of ``Registry.conflicts``.
TASK_WHAT = {role: f"{role} task" for role in ROLES}
WHATS = (*TASK_WHAT.values(), "task kind", "model", "leaderboard", "study", "tracker", "translations")


class Registry:
    """Registered task kinds, tasks, models and leaderboards, by name.

    ``kinds``, ``tasks``, ``models`` and ``leaderboards`` hold only the usable names. A name that several
    plugins register is in none of them but in ``conflicts[what][name]``: every claimant, sorted by
    plugin name, so the state is the same whatever order the plugins were registered in.
    """

    def __init__(self) -> None:
        self.tasks: dict[str, dict[str, Registered]] = {role: {} for role in ROLES}
        self.kinds: dict[str, Registered] = {}
        self.models: dict[str, Registered] = {}
        self.leaderboards: dict[str, Registered] = {}
        self.studies: dict[str, Registered] = {}
        self.trackers: dict[str, Registered] = {}
        #: translations by the name of the task they translate
        self.translations: dict[str, Registered] = {}
        self.plugins: dict[str, PluginInfo] = {}
        self.conflicts: dict[str, dict[str, tuple[Registered, ...]]] = {what: {} for what in WHATS}
        #: names a built-in plugin keeps: what -> name -> the third-party registrations left out
        self.rejections: dict[str, dict[str, tuple[Registered, ...]]] = {what: {} for what in WHATS}
        self._kind_set = None
        self._kind_set_of: dict[str, Registered] = {}

    @property
    def kind_set(self) -> Kinds:
        """The usable task kinds as a ``harness.kinds.Kinds``: what a plan built from this registry
        loads its kinds from (each registry has its own)."""
        if self._kind_set is None or self._kind_set_of != self.kinds:
            self._kind_set = Kinds({name: (item.spec, item.plugin) for name, item in self.kinds.items()})
            self._kind_set_of = dict(self.kinds)
        return self._kind_set

    # -- lookups -------------------------------------------------------------------
    def clash(self, what: str, name: str) -> NameClashError | None:
        """The error for a clashing name (``what`` is e.g. "target task", "model"), or None."""
        claimants = self.conflicts[what].get(name)
        if claimants is None:
            return None
        return NameClashError(what, name, [c.plugin for c in claimants])

    def task(self, role: str, name: str) -> Registered:
        table = self.tasks[role]
        if name not in table:
            other = next((r for r in ROLES if r != role and name in self.tasks[r]), None)
            if other is not None:  # the right name in the wrong place: say so, no "did you mean"
                option = {"intermediate": "--inter", "target": "--target"}
                raise WrongRoleError(name, role, other, option.get(other), option.get(role))
            error = self.clash(TASK_WHAT[role], name)
            raise error or UnknownNameError(f"{role} task", name, table,
                                            failed=[p.name for p in self.plugins.values() if not p.ok])
        return table[name]

    def model(self, name: str) -> Registered | None:
        """The registered model, or None for a name no plugin registers; raises for a clashing name."""
        error = self.clash("model", name)
        if error is not None:
            raise error
        return self.models.get(name)

    def leaderboard(self, name: str) -> Registered:
        table = self.leaderboards
        if name not in table:
            error = self.clash("leaderboard", name)
            raise error or UnknownNameError("leaderboard", name, table)
        return table[name]

    def study(self, name: str) -> Registered:
        if name not in self.studies:
            error = self.clash("study", name)
            raise error or UnknownNameError("study", name, self.studies)
        return self.studies[name]

    def tracker(self, name: str) -> Registered:
        if name not in self.trackers:
            error = self.clash("tracker", name)
            raise error or UnknownNameError("tracker", name, self.trackers)
        return self.trackers[name]

    def translation(self, task: str) -> Registered | None:
        """The translations registered for ``task``, or None; raises for a task several plugins translate."""
        error = self.clash("translations", task)
        if error is not None:
            raise error
        return self.translations.get(task)

    def conflict_list(self) -> list[dict[str, Any]]:
        """Every clash as ``{"what", "name", "plugins"}``, sorted (for `xharness list`)."""
        return [{"what": what, "name": name, "plugins": [c.plugin for c in claimants]}
                for what in WHATS for name, claimants in sorted(self.conflicts[what].items())]

    def plugin_versions(self) -> dict[str, str | None]:
        return {p.name: p.version for p in self.plugins.values() if p.ok}

    # -- registration ----------------------------------------------------------------
    def _add(self, table: dict[str, Registered], what: str, spec: Any, plugin: PluginInfo) -> None:
        """Stage one spec of the plugin being registered (``self`` is its private staging registry)."""
        if spec.name in table:
            raise DuplicateNameError(f"{what} {spec.name!r} is registered twice by plugin {plugin.name!r}")
        table[spec.name] = Registered(spec, plugin.name, plugin.version)
        plugin.provides.append(f"{what}:{spec.name}")

    def _merge(self, what: str, table: dict[str, Registered], staged: dict[str, Registered]) -> None:
        """Add a validated plugin's names. A name a built-in plugin has stays the built-in's, and a
        third party's registration of it is left out (noted on that plugin); a name several third
        parties (or several built-in plugins) register becomes a conflict of all its claimants, in
        no order: whichever way round they are loaded, the outcome is the same."""
        conflicts = self.conflicts[what]
        for name, item in staged.items():
            builtin = self.plugins[item.plugin].builtin
            held = table.get(name)
            if name in self.rejections[what] or (held is not None and self.plugins[held.plugin].builtin
                                                 and not builtin):
                self._reject(what, name, item)  # a built-in plugin keeps the name
                continue
            if builtin and (held is not None or name in conflicts) and \
                    not any(self.plugins[c.plugin].builtin for c in conflicts.get(name, ())):
                losers = [held] if held is not None else list(conflicts.pop(name))
                table[name] = item
                for loser in losers:
                    clashes = self.plugins[loser.plugin].clashes
                    if f"{what}:{name}" in clashes:
                        clashes.remove(f"{what}:{name}")
                    self._reject(what, name, loser)
                continue
            if name in conflicts:
                claimants = (*conflicts[name], item)
            elif name in table:
                claimants = (table.pop(name), item)
            else:
                table[name] = item
                continue
            conflicts[name] = tuple(sorted(claimants, key=lambda c: c.plugin))
            for claimant in claimants:
                info = self.plugins[claimant.plugin]
                entry = f"{what}:{name}"
                if entry not in info.clashes:
                    info.clashes.append(entry)
                    info.clashes.sort()

    def _reject(self, what: str, name: str, item: Registered) -> None:
        self.rejections[what][name] = tuple(sorted((*self.rejections[what].get(name, ()), item),
                                                   key=lambda c: c.plugin))
        rejected = self.plugins[item.plugin].rejected
        if f"{what}:{name}" not in rejected:
            rejected.append(f"{what}:{name}")
            rejected.sort()

    def rejection_list(self) -> list[dict[str, Any]]:
        """Every name a built-in plugin kept against a third party's, as ``{"what", "name", "kept",
        "left_out"}``, sorted (for `xharness list`)."""
        found = []
        for what in WHATS:
            for name, losers in sorted(self.rejections[what].items()):
                kept = self._table(what).get(name)
                found.append({"what": what, "name": name, "kept": kept.plugin if kept else None,
                              "left_out": [c.plugin for c in losers]})
        return found

    def _table(self, what: str) -> dict[str, Registered]:
        roles = {value: role for role, value in TASK_WHAT.items()}
        if what in roles:
            return self.tasks[roles[what]]
        return {"task kind": self.kinds, "model": self.models, "leaderboard": self.leaderboards,
                "study": self.studies, "tracker": self.trackers, "translations": self.translations}[what]

    def register_kinds(self, obj: object, info: PluginInfo, pm: pluggy.PluginManager) -> bool:
        """First pass: add the plugin to pluggy and register its task kinds. False if it failed.

        ``discover`` runs this for every plugin, then ``register_contents`` for each that passed,
        then ``settle_kinds``.
        """
        if info.name in self.plugins:  # keep the first one's record (its names may be in conflicts)
            info.error = f"another plugin is already registered under the name {info.name!r}"
            key, n = f"{info.name} ({info.distribution or 'duplicate'})", 2
            while key in self.plugins:
                key, n = f"{info.name} ({info.distribution or 'duplicate'} {n})", n + 1
            self.plugins[key] = info
            return False
        self.plugins[info.name] = info
        staged = Registry()
        try:
            unmarked = _unmarked_hooks(obj)
            if unmarked:
                raise HookError(f"{' and '.join(unmarked)} {'is' if len(unmarked) == 1 else 'are'} not marked "
                                f"@hookimpl, so nothing is registered: decorate "
                                f"{'it' if len(unmarked) == 1 else 'them'} with @hookimpl (from harness.api)")
            try:
                pm.register(obj, name=info.name)
            except pluggy.PluginValidationError as exc:
                raise HookError(_signature_problem(exc)) from None
            try:
                pm.check_pending()
            except pluggy.PluginValidationError:
                pm.unregister(obj)
                raise
            for impl in _impls(pm, "register_task_kinds", info.name):
                impl(register=lambda spec: _register_kind(staged, spec, info))
        except Exception as exc:  # a plugin's bug must not take the tool down
            self._fail(obj, info, pm, exc)
            return False
        self._merge("task kind", self.kinds, staged.kinds)
        return True

    def register_contents(self, obj: object, info: PluginInfo, pm: pluggy.PluginManager) -> None:
        """Second pass, once every plugin's kinds are known: tasks, models and leaderboards."""
        staged = Registry()
        try:
            for role, hook_name in ROLES.items():
                for impl in _impls(pm, hook_name, info.name):
                    impl(register=lambda spec, role=role: _register_task(staged, role, spec, info, self))
            for impl in _impls(pm, "register_models", info.name):
                impl(register=lambda spec: _register_model(staged, spec, info))
            for impl in _impls(pm, "register_leaderboards", info.name):
                impl(register=lambda spec: _register_leaderboard(staged, spec, info))
            for impl in _impls(pm, "register_studies", info.name):
                impl(register=lambda spec: _register_study(staged, spec, info))
            for impl in _impls(pm, "register_trackers", info.name):
                impl(register=lambda spec: _register_tracker(staged, spec, info))
            for impl in _impls(pm, "register_translations", info.name):
                impl(register=lambda spec: _register_translation(staged, spec, info))
        except Exception as exc:  # a plugin's bug must not take the tool down
            self._fail(obj, info, pm, exc)
            self._withdraw_kinds(info.name)
            return
        for role, what in TASK_WHAT.items():
            self._merge(what, self.tasks[role], staged.tasks[role])
        self._merge("model", self.models, staged.models)
        self._merge("leaderboard", self.leaderboards, staged.leaderboards)
        self._merge("study", self.studies, staged.studies)
        self._merge("tracker", self.trackers, staged.trackers)
        self._merge("translations", self.translations, staged.translations)

    def _withdraw_kinds(self, plugin: str) -> None:
        """A broken plugin's kinds go with it; a kind it clashed on goes back to a sole other claimant."""
        for name in [n for n, item in self.kinds.items() if item.plugin == plugin]:
            del self.kinds[name]
        conflicts = self.conflicts["task kind"]
        for name, claimants in list(conflicts.items()):
            if not any(c.plugin == plugin for c in claimants):
                continue
            left = tuple(c for c in claimants if c.plugin != plugin)
            entry = f"task kind:{name}"
            if len(left) == 1:
                del conflicts[name]
                self.kinds[name] = left[0]
                clashes = self.plugins[left[0].plugin].clashes
                if entry in clashes:
                    clashes.remove(entry)
            else:
                conflicts[name] = left
        self.plugins[plugin].clashes = [c for c in self.plugins[plugin].clashes if not c.startswith("task kind:")]

    def settle_kinds(self) -> None:
        """Leave out every task whose kind is not (or no longer) available, noting why on its plugin."""
        for role, table in self.tasks.items():
            for name, item in list(table.items()):
                kind = item.spec.kind
                if kind in self.kinds:
                    continue
                del table[name]
                if kind in self.conflicts["task kind"]:
                    why = f"its kind {kind!r} is registered by several plugins"
                else:
                    why = (f"no working plugin registers its kind {kind!r} (known: {', '.join(sorted(self.kinds))}); "
                           f"is the plugin that adds it installed and loading?")
                entry = f"{role} task {name!r} unavailable: {why}"
                if entry not in self.plugins[item.plugin].unavailable:
                    self.plugins[item.plugin].unavailable.append(entry)

    def _fail(self, obj: object, info: PluginInfo, pm: pluggy.PluginManager, exc: Exception) -> None:
        import traceback

        info.error = f"{type(exc).__name__}: {exc}"
        info.details = "".join(traceback.format_exception(exc))
        info.provides.clear()
        if pm.is_registered(obj):
            pm.unregister(obj)


def incompatible(obj: object, info: PluginInfo) -> str | None:
    """Why a plugin cannot run on this core, or None.

    A plugin declares the harness.api versions it was written for with a module attribute
    ``XHARNESS_API`` (a PEP 440 specifier such as ``">=1.0,<2"``), and may declare the core versions
    it supports with ``XHARNESS_CORE`` (``">=0.3,<0.4"``); without that, its distribution's requirement
    on ``xtreme-harness`` counts. An incompatible plugin is reported and not loaded.
    """
    import harness

    problem = _api_problem(getattr(obj, "XHARNESS_API", None))
    if problem is not None:
        return problem
    declared = getattr(obj, "XHARNESS_CORE", None)
    if declared is None and info.distribution:
        try:
            from packaging.requirements import Requirement

            for line in metadata.requires(info.distribution) or []:
                requirement = Requirement(line)
                if requirement.name == "xtreme-harness" and not requirement.marker:
                    declared = str(requirement.specifier) or None
        except Exception:  # unreadable metadata: nothing declared
            declared = None
    if not declared:
        return None
    try:
        from packaging.specifiers import InvalidSpecifier, SpecifierSet
        from packaging.version import Version
    except ImportError:  # packaging ships with pip and transformers; without it nothing is checked
        return None
    try:
        supported = SpecifierSet(str(declared))
    except InvalidSpecifier:
        return f"declares XHARNESS_CORE = {declared!r}, which is not a version specifier (e.g. '>=0.3,<0.4')"
    if Version(harness.__version__) in supported:
        return None
    return (f"supports xharness core {supported}, but this is {harness.__version__}: not loaded; install a "
            f"version of the plugin made for this core (or a core it supports)")


def _api_problem(declared: object) -> str | None:
    """Why a plugin's ``XHARNESS_API`` (the harness.api versions it was written for, a PEP 440
    specifier such as ``">=1.0,<2"``) rules out this core's API, or None."""
    if declared is None:
        return None
    from packaging.specifiers import InvalidSpecifier, SpecifierSet
    from packaging.version import Version

    from harness import API_VERSION

    try:
        supported = SpecifierSet(str(declared))
    except InvalidSpecifier:
        return f"declares XHARNESS_API = {declared!r}, which is not a version specifier (e.g. '>=1.0,<2')"
    if Version(API_VERSION) in supported:
        return None
    return (f"is written for harness.api {supported}, but this core's API is {API_VERSION}: not loaded; install "
            f"a version of the plugin made for this API")


def _impls(pm: pluggy.PluginManager, hook_name: str, plugin_name: str):
    hook = getattr(pm.hook, hook_name)
    plugin = pm.get_plugin(plugin_name)
    return [impl.function for impl in hook.get_hookimpls() if impl.plugin is plugin]


def _register_kind(staged: Registry, spec: Any, info: PluginInfo) -> None:
    if not isinstance(spec, KindSpec):
        raise TypeError(f"register() for task kinds expects a KindSpec, got {type(spec).__name__}")
    module = _load_module("task kind", spec)
    import importlib.util

    try:
        found = importlib.util.find_spec(module)
    except (ImportError, ValueError) as exc:
        raise ValueError(f"task kind {spec.name!r}: module {module!r} cannot be found ({exc})") from None
    if found is None:
        raise ValueError(f"task kind {spec.name!r}: module {module!r} is not installed")
    staged._add(staged.kinds, "task kind", spec, info)


def _register_task(staged: Registry, role: str, spec: Any, info: PluginInfo, registry: Registry) -> None:
    if not isinstance(spec, TaskSpec):
        raise TypeError(f"register() for {role} tasks expects a TaskSpec, got {type(spec).__name__}")
    # a task of a kind no working plugin registers is left out by ``settle_kinds``, with a note
    if not spec.languages:
        raise ValueError(f"task {spec.name!r} declares no languages")
    if spec.granularity is not None and spec.granularity not in GRANULARITIES:
        raise ValueError(f"task {spec.name!r}: granularity {spec.granularity!r} is not one of {', '.join(GRANULARITIES)}")
    kind = registry.kinds.get(spec.kind)
    if kind is not None and kind.spec.check is not None:
        kind.spec.check(spec)
    if spec.hub is not None and not set(spec.hub.splits) <= set(SPLITS):
        raise ValueError(f"task {spec.name!r}: hub splits must be among {SPLITS}")
    staged._add(staged.tasks[role], f"{role} task", spec, info)


def _register_model(staged: Registry, spec: Any, info: PluginInfo) -> None:
    if not isinstance(spec, ModelSpec):
        raise TypeError(f"register() for models expects a ModelSpec, got {type(spec).__name__}")
    if (spec.hub_id is None) == (spec.build is None):
        raise ValueError(f"model {spec.name!r} needs exactly one of hub_id and build")
    staged._add(staged.models, "model", spec, info)


def _register_study(staged: Registry, spec: Any, info: PluginInfo) -> None:
    if not isinstance(spec, StudySpec):
        raise TypeError(f"register() for studies expects a StudySpec, got {type(spec).__name__}")
    _load_module("study", spec)
    staged._add(staged.studies, "study", spec, info)


def _register_tracker(staged: Registry, spec: Any, info: PluginInfo) -> None:
    if not isinstance(spec, TrackerSpec):
        raise TypeError(f"register() for trackers expects a TrackerSpec, got {type(spec).__name__}")
    _load_module("tracker", spec)
    staged._add(staged.trackers, "tracker", spec, info)


def _register_translation(staged: Registry, spec: Any, info: PluginInfo) -> None:
    if not isinstance(spec, TranslationSpec):
        raise TypeError(f"register() for translations expects a TranslationSpec, got {type(spec).__name__}")
    if not isinstance(spec.local, LocalSource):
        raise TypeError(f"translations of {spec.name!r}: local must be a LocalSource, got {type(spec.local).__name__}")
    for field_name in ("train_languages", "test_languages"):
        value = getattr(spec, field_name)
        if not isinstance(value, tuple) or not all(isinstance(lang, str) and lang for lang in value):
            raise TypeError(f"translations of {spec.name!r}: {field_name} must be a tuple of language codes")
    if not spec.train_languages and not spec.test_languages:
        raise ValueError(f"translations of {spec.name!r} name no language: give train_languages or test_languages")
    staged._add(staged.translations, "translations", spec, info)


def _load_module(what: str, spec: Any) -> str:
    """The module of a spec's ``load`` (``"package.module:ATTRIBUTE"``), checked for form."""
    module, colon, attribute = spec.load.partition(":")
    if not colon or not module or not attribute.isidentifier():
        raise ValueError(f"{what} {spec.name!r}: load must be 'package.module:ATTRIBUTE', got {spec.load!r}")
    return module


def _register_leaderboard(staged: Registry, spec: Any, info: PluginInfo) -> None:
    if not isinstance(spec, Leaderboard):
        raise TypeError(f"register() for leaderboards expects a Leaderboard, got {type(spec).__name__}")
    for task in spec.tasks:
        if task.metric not in LEADERBOARD_METRICS:
            raise ValueError(f"leaderboard {spec.name!r}: task {task.name!r} has unknown metric {task.metric!r} "
                             f"(known: {', '.join(LEADERBOARD_METRICS)})")
        for group in task.group_names:
            if group not in spec.groups:
                raise ValueError(f"leaderboard {spec.name!r}: task {task.name!r} is in undeclared group {group!r}")
    staged._add(staged.leaderboards, "leaderboard", spec, info)


def _module_of(obj: object) -> str | None:
    import types

    return obj.__name__ if isinstance(obj, types.ModuleType) else getattr(obj, "__module__", None)


def code_identity(registry: Registry, tasks: Iterable[Registered], model: Registered | None = None
                  ) -> dict[str, str | None]:
    """SHA-256 digests of the code that computes with ``tasks`` (and ``model``): for each plugin
    that supplies one of them, every Python file of the plugin's package; for each of the tasks'
    kinds, its module's source. They go into the keys, so that a plugin edited in place (an
    editable install, the same version) never has an old result reused.

    The core's own code is keyed by its version, except its kinds' modules (their scoring and
    featurisation code). Digests cover contents, not where the files lie.
    """
    found: dict[str, str | None] = {}
    for item in [*tasks, *([model] if model is not None else [])]:
        info = registry.plugins.get(item.plugin)
        if item.plugin != CORE_PLUGIN and info is not None:
            found[f"plugin:{item.plugin}"] = _package_digest(info.module)
        kind = getattr(item.spec, "kind", None)
        if kind is not None:
            module = registry.kind_set.spec(kind).load.partition(":")[0]
            found[f"kind:{kind}"] = _module_digest(module)
    return dict(sorted(found.items()))


def _source_files(module: str | None, *, package: bool):
    import importlib.util
    from pathlib import Path

    if not module or module == "__main__":
        return []
    try:
        found = importlib.util.find_spec(module.split(".")[0] if package else module)
    except (ImportError, ValueError):
        return []
    if found is None:
        return []
    if package and found.submodule_search_locations:
        return sorted(p for location in found.submodule_search_locations for p in Path(location).rglob("*.py")
                      if "__pycache__" not in p.parts)
    return [Path(found.origin)] if found.origin and found.origin.endswith(".py") else []


def _package_digest(module: str | None) -> str | None:
    from pathlib import Path

    files = _source_files(module, package=True)
    if not files:
        return None
    root = Path(os.path.commonpath([p.parent for p in files]))
    return code_digest(files, root=root)  # names relative to the package: where it is installed does not count


def _module_digest(module: str | None) -> str | None:
    files = _source_files(module, package=False)
    return code_digest(files[:1], root=files[0].parent) if files else None


def code_digest(paths: list, root) -> str:
    """One SHA-256 over Python files' code: each file's name (relative to ``root``) and its syntax
    tree, without comments, layout, docstrings, or which ``harness`` module a name is imported from
    (``from harness.contract.errors import X`` and ``from harness.api import X`` bind the same object, and the
    core's code is keyed by its version). So a refactor that moves imports or edits prose keeps every
    key; any change to what the code does gives new ones. A file that does not parse is digested as text.
    Each file is parsed once a process while it is unchanged (``fsutil.sha256_files`` remembers it).
    """
    from harness.common.fsutil import sha256_files

    return sha256_files(paths, root=root, content=_code_bytes)


def _code_bytes(source: bytes) -> bytes:
    import ast

    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return source
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and body and \
                isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) and \
                isinstance(body[0].value.value, str):
            node.body = body[1:] or [ast.Pass()]
        if isinstance(getattr(node, "body", None), list):
            # a scope's imports from the core, however spelt and split, become one statement of the names it binds
            core = [n for n in node.body if isinstance(n, ast.ImportFrom) and n.level == 0 and n.module and
                    (n.module == "harness" or n.module.startswith("harness."))]
            if core:
                names = sorted({a.asname or a.name for n in core for a in n.names})
                first = node.body.index(core[0])
                node.body = [n for n in node.body if n not in core]
                node.body.insert(first, ast.ImportFrom(module="harness", names=[ast.alias(name=n) for n in names],
                                                       level=0))
    return ast.dump(tree, include_attributes=False).encode("utf-8")


def discover(extra: Iterable[tuple[str, object]] = (), *, autoload: bool | None = None) -> Registry:
    """Build the registry from entry points (unless switched off) plus ``extra`` plugins.

    ``extra`` holds ``(name, plugin_object)`` pairs: tests and embedding code use it to add
    plugins that are not installed.
    """
    import importlib

    # the core's kinds come from its own plugin, loaded by name as an entry point would be
    builtin = importlib.import_module(BUILTIN_PLUGIN)
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    registry = Registry()
    import harness

    loaded: list[tuple[object, PluginInfo]] = [(builtin, PluginInfo(CORE_PLUGIN, "xtreme-harness", harness.__version__,
                                                                    module=builtin.__name__))]
    if autoload is None:
        from harness.common.envflags import flag

        autoload = not flag(DISABLE_ENV)
    if autoload:
        only = {n.strip() for n in os.environ.get(ONLY_ENV, "").split(",") if n.strip()}
        for ep in sorted(metadata.entry_points(group=hookspecs.ENTRY_POINT_GROUP), key=lambda e: e.name):
            if only and ep.name not in only:
                continue
            dist = getattr(ep, "dist", None)
            info = PluginInfo(ep.name, dist.name if dist else None, dist.version if dist else None, module=ep.module)
            if ep.name in registry.plugins:
                info.error = f"another plugin is already registered under the name {ep.name!r}"
                registry.plugins[f"{ep.name} ({info.distribution})"] = info
                continue
            try:
                obj = ep.load()
            except Exception as exc:  # broken import: report it, keep going
                import traceback

                info.error = f"{type(exc).__name__}: {exc}"
                info.details = "".join(traceback.format_exception(exc))
                registry.plugins[ep.name] = info
                continue
            loaded.append((obj, info))
    loaded += [(obj, PluginInfo(name, None, getattr(obj, "__version__", None), module=_module_of(obj)))
               for name, obj in extra]
    for obj, info in loaded:
        info.error = incompatible(obj, info)
        if info.error is not None:  # listed with the reason, never registered
            registry.plugins.setdefault(info.name, info)
    accepted = [(obj, info) for obj, info in loaded if info.error is None and registry.register_kinds(obj, info, pm)]
    for obj, info in accepted:
        registry.register_contents(obj, info, pm)
    registry.settle_kinds()
    return registry
