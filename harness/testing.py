"""A contract-test kit for plugin authors: check a plugin against the xharness plugin contract.

Use it in your plugin's own test suite::

    from harness.testing import assert_plugin_ok

    def test_my_plugin_keeps_the_contract():
        assert_plugin_ok("mytasks")            # raises AssertionError listing every problem

or, to look at the problems yourself, ``check_plugin("mytasks", smoke=True)`` returns them as a
list of strings, one line each (empty: the plugin is fine).

A plugin is given as the name of an installed entry point in the ``xharness`` group
(``"mytasks"``), the name of an importable module (``"mytasks"``, or ``"package.module:OBJECT"``),
or the module or object itself. When it is also installed as an entry point (the same object,
compared by identity), it is checked under the entry point's name and counted once.

Every problem is one line; the checks, in the order :func:`check_plugin` runs them (a check
that cannot run because an earlier one failed is skipped, so one fault gives one line):

1. **load** (:func:`check_load`): the plugin imports.
   ``plugin NAME: failed to load: <ExceptionType>: <message>``
2. **registration** (:func:`check_registration`): the plugin registers through
   :func:`harness.contract.discovery.discover`, alone (``autoload=False``: it must not depend on another
   plugin except for task kinds) and beside every installed plugin (``autoload=True``, so a task
   may use a kind another installed plugin adds). Registering is what validates the specs
   (types, languages, granularity, hub splits, the kind's own ``check``, leaderboard metrics),
   so a spec error is the registry's text:
   ``plugin NAME: failed to register: <PluginInfo.error>``;
   a task whose kind no working plugin registers (an unknown kind) is left out by the registry:
   ``plugin NAME: <role> task 'x' unavailable: no working plugin registers its kind 'k' (known: …); …``
3. **clashes** (:func:`check_clashes`): no name the plugin registers (task of either role, kind,
   model, leaderboard, study) is registered by an installed plugin or the core, one line per
   other claimant:
   ``<what> 'x': also registered by plugin 'y'``  (``what``: ``target task``, ``intermediate
   task``, ``task kind``, ``model``, ``leaderboard``, ``study``), or, where a built-in plugin has
   the name (it keeps it, and the plugin's registration of it is left out):
   ``<what> 'x': the built-in plugin 'y' has this name, so yours is left out (...): rename it``
4. **metadata** (:func:`check_metadata`): every language code (``languages``,
   ``extra_languages``, ``train_language``, ``translated_train``) matches :data:`LANGUAGE_CODE`
   (2–3 lowercase letters, optionally ``-Script`` such as ``zh-Hans`` and/or ``-REGION`` such
   as ``pt-BR`` or ``es-419``) or is ``multi``:
   ``task 'x': language 'English' is not a language code (2-3 lowercase letters, optionally -Script or -REGION as in 'zh-Hans', 'pt-BR'; or 'multi')``;
   and the metric is one its kind declares (``KindSpec.metrics``; built-in and third-party kinds alike):
   ``task 'x': metric 'bleu' is not one the classification kind scores (accuracy)``.
5. **samples** (:func:`check_samples`): for every task with bundled ``samples``, every split a
   run can read (:func:`sample_needs`) is found and read through
   ``harness.data.sources.plan_task_data(..., source="bundled")`` and ``.load()``, is non-empty, and each
   example has the fields its kind declares and passes its kind's own check (``KindSpec.fields``
   and ``check_example``, :func:`example_problem`):
   ``task 'x' samples test/de: <path>:<line>: <problem>``  (the reader's ``DataFormatError``)
   ``task 'x' samples test/de: <UserError text>``  (a missing sample file, say)
   ``task 'x' samples test/de: reader raised <ExceptionType>: <message>``
   ``task 'x' samples test/de: empty (<file>)``
   ``task 'x' samples test/de: example <i> of <n>: <problem>[ (and <k> more bad examples)]``
   where ``<problem>`` is for instance ``no field 'label' (classification examples have text,
   label; optional: text_pair)`` or ``label 3 is not in range(2) (the task's labels)``.
6. **features** (:func:`check_features`): each split that read cleanly is featurised through its
   kind (``kinds.get(kind).featurize(examples, tokenizer, 128, spec)``) with the tokenizer of the
   installed models plugin's ``tiny`` model (built once per process):
   ``task 'x' features train/en: <ExceptionType>: <message>``
   Kinds without ``featurize`` (the untrained ``retrieval`` and ``bitext_mining``) are left to
   the smoke run. When the tokenizer cannot be had:
   ``features: no tokenizer: <ExceptionType>: <message>``
7. **smoke** (:func:`check_smoke`, only with ``smoke=True``): each target task with samples runs
   ``plan_run(RunRequest(inter="none", target=NAME, preset="smoke", languages=<its first two
   languages>))`` and ``execute`` (one epoch), and every planned language gets a score in the
   range its kind declares for the metric (``MetricSpec``: [0, 100] for most, [-100, 100] for a
   correlation), or None where it has no gold (:func:`score_problems`); each intermediate task with samples runs
   ``inter=NAME, target=T`` on T's first two languages, T being pawsx when it is an installed target
   with samples, else the first such target by name; with none installed it says so in a line
   (it used to skip them silently, also when pawsx was out of reach through a name clash).
   ``smoke_tasks=`` limits which tasks run:
   ``task 'x' smoke: <ExceptionType>: <message>``
   ``task 'x' smoke: no score for 'de'``
   ``task 'x' smoke: score for 'de' is 120.0, not in [0, 100] (the classification kind's range for accuracy)``
   ``task 'x' smoke: every score is between 0 and 1 (...)`` (a fraction where the kind reports percent)
   ``task 'x' smoke: no target task with samples is installed to run this intermediate task before ...``
   ``smoke: plugin NAME has no task 'x'`` (a name in ``smoke_tasks`` the plugin lacks)

Beside the checks, not a failure: what the plugin registers without a BibTeX entry in its package's
``citations.bib`` (:func:`check_citations`; a locally built backbone is not listed).
:func:`assert_plugin_ok` warns with it (:class:`CitationWarning`, in pytest's warnings summary):
``task 'x': no BibTeX entry in mytasks/citations.bib (an entry with xharness = {task:x}); ...``

Every check is also a function of its own (taking the plugin as :func:`check_plugin` does), and
:class:`PluginCheck` holds a resolved plugin, its two registries and the samples it read, so
several checks share that work.
"""

from __future__ import annotations

import dataclasses
import importlib
import math
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from functools import cached_property
from importlib import metadata
from pathlib import Path
from typing import Any

from harness.contract import hookspecs
from harness.contract.errors import UserError
from harness.contract.discovery import ONLY_ENV, ROLES, PluginInfo, Registered, Registry, discover
from harness.contract.kindset import Kinds
from harness.contract.spec import KindSpec, MetricSpec, TaskSpec
from harness.kinds import builtin_kinds

__all__ = [
    "LANGUAGE_CODE", "CitationWarning", "PluginCheck", "PluginProblems", "assert_plugin_ok", "check_citations",
    "check_clashes", "check_features", "check_load", "check_metadata", "check_plugin", "check_registration",
    "check_samples", "check_smoke", "example_problem", "language_problem", "metric_problem", "sample_needs",
    "score_problems",
    "tiny_tokenizer", "discover", "study_grids",
]

#: A plausible language code: ISO 639-1/-3 (2–3 lowercase letters), optionally a script
#: (``zh-Hans``) and/or a region (``pt-BR``, ``es-419``); ``multi`` is allowed besides.
LANGUAGE_CODE = re.compile(r"[a-z]{2,3}(-[A-Z][a-z]{3})?(-([A-Z]{2}|[0-9]{3}))?")
MULTI = "multi"

#: The maximum length used to featurise samples, as the smoke preset does.
FEATURE_LENGTH = 128


class CitationWarning(UserWarning):
    """Warned by :func:`assert_plugin_ok` when something the plugin registers has no BibTeX entry in
    its package's ``citations.bib`` (or that file cannot be read): a reminder, not a failure."""


class PluginProblems(AssertionError):
    """Raised by :func:`assert_plugin_ok`: ``problems`` holds the lines, the message lists them."""

    def __init__(self, plugin: str, problems: list[str]):
        self.plugin, self.problems = plugin, list(problems)
        lines = "\n".join(f"  {p}" for p in self.problems)
        super().__init__(f"plugin {plugin} breaks the xharness plugin contract "
                         f"({len(self.problems)} problem{'s' * (len(self.problems) != 1)}):\n{lines}")


# -- small checks usable on their own ----------------------------------------------------------

def language_problem(code: Any) -> str | None:
    """Why ``code`` is not a plausible language code, or None."""
    if isinstance(code, str) and (code == MULTI or LANGUAGE_CODE.fullmatch(code)):
        return None
    return (f"language {code!r} is not a language code (2-3 lowercase letters, optionally -Script or -REGION "
            f"as in 'zh-Hans', 'pt-BR'; or 'multi')")


def metric_problem(spec: TaskSpec, kinds: Kinds | None = None) -> str | None:
    """Why ``spec.metric`` is not one its kind declares (``KindSpec.metrics``), or None.

    ``kinds``: the registry's kinds (the core's own when omitted); a kind that is not among
    them is left to the registration check."""
    kinds = kinds if kinds is not None else builtin_kinds()
    if spec.kind not in kinds:
        return None
    declared = kinds.spec(spec.kind).metrics
    if not declared or any(metric.name == spec.metric for metric in declared):
        return None
    return f"metric {spec.metric!r} is not one the {spec.kind} kind scores ({', '.join(m.name for m in declared)})"


def example_problem(spec: TaskSpec, example: Any, kinds: Kinds | None = None) -> str | None:
    """What is wrong with one example of ``spec``'s kind, or None: a missing field of those the kind
    declares (``KindSpec.fields``), then the kind's own check (``KindSpec.check_example``).
    Built-in and third-party kinds are checked alike."""
    if not isinstance(example, dict):
        return f"an example is a {type(example).__name__}, not a dict"
    kinds = kinds if kinds is not None else builtin_kinds()
    if spec.kind not in kinds:
        return None
    kind = kinds.spec(spec.kind)
    missing = [name for name in kind.fields if name not in example]
    if missing:
        shape = ", ".join(kind.fields) + (f"; optional: {', '.join(kind.optional_fields)}" if kind.optional_fields
                                          else "")
        return f"no field {missing[0]!r} ({spec.kind} examples have {shape})"
    return kind.check_example(spec, example) if kind.check_example is not None else None


def sample_needs(spec: TaskSpec, role: str, kinds: Kinds | None = None) -> list[tuple[str, str]]:
    """Every (split, language) a smoke run of the task may read from its samples.

    As ``harness.cell.planning.plan_run`` reads them: an intermediate task its ``train`` split in
    ``train_language`` and in each ``translated_train`` language (``--translated``) and ``dev``
    in ``train_language``; a target trained by its kind ``train`` and ``dev`` in
    ``train_language``, and every target ``test`` in each of ``languages`` and
    ``extra_languages`` (``--languages``), plus ``dev`` in each of them when the task has
    ``target_dev`` (``--select-on target``) or its kind tunes each language on its dev split
    (``KindSpec.dev_per_language``: BUCC's threshold).
    """
    kinds = kinds if kinds is not None else builtin_kinds()
    own = spec.train_language
    if role == "intermediate":
        return [("train", own), *[("train", lang) for lang in spec.translated_train if lang != own], ("dev", own)]
    known = spec.kind in kinds
    trained = kinds.trained(spec.kind) if known else True
    needs = [("train", own), ("dev", own)] if trained else []
    languages = spec.all_languages
    if spec.target_dev or (known and kinds.spec(spec.kind).dev_per_language):
        needs += [("dev", lang) for lang in languages if ("dev", lang) not in needs]
    needs += [("test", lang) for lang in languages]
    return needs


def score_problems(where: str, record: dict, languages: Iterable[str], kind: KindSpec) -> list[str]:
    """What is wrong with the per-language scores of a run's record: a language without one, a score
    outside the range its kind declares for the metric (``MetricSpec.low``/``high``; [0, 100]
    for an undeclared one), or every score a fraction of one where the kind reports percent."""
    scores = record.get("scores") or {}
    per_language = scores.get("per_language") or {}
    metric = kind.metric(scores.get("metric")) or MetricSpec(str(scores.get("metric")))
    problems = []
    for lang in languages:
        if lang not in per_language:
            problems.append(f"{where}: no score for {lang!r}")
            continue
        value = per_language[lang]
        if value is None:
            continue
        if not isinstance(value, (int, float)) or math.isnan(value) or not metric.low <= value <= metric.high:
            problems.append(f"{where}: score for {lang!r} is {value!r}, not in [{metric.low:g}, {metric.high:g}] "
                            f"(the {kind.name} kind's range for {metric.name})")
    scored = [v for v in per_language.values() if isinstance(v, (int, float)) and not math.isnan(v)]
    low = max(metric.low / 100, -1.0)
    if metric.high == 100 and scored and max(abs(v) for v in scored) > 0 and all(low <= v <= 1 for v in scored):
        problems.append(f"{where}: every score is between {low:g} and 1 ({', '.join(f'{v:g}' for v in scored)}): "
                        f"xharness reports {metric.name} in percent ({metric.low:g} to {metric.high:g}); a "
                        f"fraction would read as a near-zero score in every table")
    return problems


_TOKENIZER: list[Any] = []


def tiny_tokenizer():
    """The tokenizer of the installed models plugin's ``tiny`` model, built once per process."""
    if not _TOKENIZER:
        from transformers import AutoTokenizer

        with _all_plugins():
            registry = discover(autoload=True)
        registered = registry.model("tiny")
        if registered is None:
            raise UserError("no installed plugin registers the model 'tiny' (install the models plugin)")
        folder = Path(tempfile.mkdtemp(prefix="xharness-testing-tiny-"))
        try:
            registered.spec.build(folder)
            _TOKENIZER.append(AutoTokenizer.from_pretrained(str(folder)))
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    return _TOKENIZER[0]


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else ""


def _describe(exc: BaseException) -> str:
    """One line: a user error's own text, anything else with its type."""
    if isinstance(exc, UserError):
        return _first_line(exc)
    return f"{type(exc).__name__}: {_first_line(exc)}".rstrip(": ")


@contextmanager
def _all_plugins() -> Iterator[None]:
    """Every installed entry point, whatever XHARNESS_PLUGINS says."""
    saved = os.environ.pop(ONLY_ENV, None)
    try:
        yield
    finally:
        if saved is not None:
            os.environ[ONLY_ENV] = saved


# -- the check of one plugin -------------------------------------------------------------------

class PluginCheck:
    """One plugin resolved and registered, and the checks run on it (each returns its problems).

    :param plugin: an entry-point name, an importable module name (``"pkg.mod"`` or
        ``"pkg.mod:OBJECT"``), or the module or object itself.
    :param name: the name to register it under (default: its entry-point name when it is an
        installed entry point, else the module's name).
    """

    def __init__(self, plugin: Any, *, name: str | None = None):
        self.given = plugin
        self.obj: Any = None
        self.entry_point: str | None = None  # the installed entry point that is this plugin
        self.load_error: str | None = None
        label = plugin if isinstance(plugin, str) else getattr(plugin, "__name__", None) or type(plugin).__name__
        if isinstance(plugin, str):
            found = [ep for ep in metadata.entry_points(group=hookspecs.ENTRY_POINT_GROUP) if ep.name == plugin]
            try:
                if found:
                    self.obj, self.entry_point = found[0].load(), found[0].name
                else:
                    module, _, attribute = plugin.partition(":")
                    self.obj = importlib.import_module(module)
                    if attribute:
                        self.obj = getattr(self.obj, attribute)
            except Exception as exc:  # the plugin's import is what this reports
                self.load_error = _describe(exc)
        else:
            self.obj = plugin
        if self.obj is not None and self.entry_point is None:
            self.entry_point = _installed_as(self.obj)
        self.name = name or self.entry_point or label
        self._examples: dict[tuple[str, str, str], list[dict]] = {}  # (task, split, lang) → clean examples
        self._bad: set[str] = set()  # tasks with a problem so far: later checks leave them out

    # -- the registries ------------------------------------------------------------------------
    @cached_property
    def alone(self) -> Registry:
        """The plugin registered with the core only."""
        return discover([(self.name, self.obj)], autoload=False)

    @cached_property
    def beside(self) -> Registry:
        """The plugin registered beside every installed plugin (itself once, if installed)."""
        with _all_plugins():
            if self.entry_point is not None and self.entry_point == self.name:
                return discover(autoload=True)
            return discover([(self.name, self.obj)], autoload=True)

    def _info(self, registry: Registry) -> PluginInfo | None:
        # a name another plugin already has: the registry keeps the other's record under the name
        return registry.plugins.get(f"{self.name} (duplicate)") or registry.plugins.get(self.name)

    def tasks(self) -> list[tuple[str, Registered]]:
        """(role, task) of every task the plugin registers, clashing and left-out ones included."""
        registry = self.beside
        info = self._info(registry)
        if info is None or not info.ok:
            registry = self.alone
        found: dict[tuple[str, str], Registered] = {}
        for role, table in registry.tasks.items():
            for task_name, item in table.items():
                if item.plugin == self.name:
                    found[(role, task_name)] = item
        for role in ROLES:
            for table in (registry.conflicts[f"{role} task"], registry.rejections[f"{role} task"]):
                for task_name, claimants in table.items():
                    for item in claimants:
                        if item.plugin == self.name:
                            found[(role, task_name)] = item
        ordered = sorted(found.items(), key=lambda pair: (pair[0][0] != "target", pair[0][1]))  # targets first
        return [(role, item) for (role, _), item in ordered]

    # -- the checks ----------------------------------------------------------------------------
    def load(self) -> list[str]:
        """Check 1: the plugin imports."""
        return [] if self.load_error is None else [f"plugin {self.name}: failed to load: {self.load_error}"]

    def registration(self) -> list[str]:
        """Check 2: it registers (its specs validate) alone and beside the installed plugins, and
        none of its tasks is left out for an unknown kind."""
        if self.load_error is not None:
            return []
        problems = []
        for registry in (self.alone, self.beside):
            info = self._info(registry)
            if info is None:
                problems.append(f"plugin {self.name}: failed to register: it is not in the registry")
            elif info.error is not None:
                problems.append(f"plugin {self.name}: failed to register: {info.error}")
        info = self._info(self.beside)
        if info is not None and info.ok:
            problems += [f"plugin {self.name}: {entry}" for entry in info.unavailable]
        return list(dict.fromkeys(problems))

    def clashes(self) -> list[str]:
        """Check 3: no name it registers is registered by another installed plugin (or the core)."""
        if self.load_error is not None:
            return []
        problems = []
        registry = self.beside
        for what, table in registry.conflicts.items():
            for clashing, claimants in sorted(table.items()):
                if any(c.plugin == self.name for c in claimants):
                    problems += [f"{what} {clashing!r}: also registered by plugin {c.plugin!r}"
                                 for c in claimants if c.plugin != self.name]
        for entry in registry.rejection_list():
            if self.name in entry["left_out"]:
                problems.append(f"{entry['what']} {entry['name']!r}: the built-in plugin {entry['kept']!r} has this "
                                f"name, so yours is left out (the plugin's other names work): rename it")
        return problems

    def citations(self) -> list[str]:
        """Not a contract check (a plugin without citations works): what the plugin registers that
        has no BibTeX entry in its package's ``citations.bib`` (``harness.contract.citations``), one
        line each, or why that file cannot be read. :func:`assert_plugin_ok` warns with these lines
        (:class:`CitationWarning`); :func:`check_citations` returns them. A backbone built locally
        (``ModelSpec.build``) has nothing to cite and is not listed."""
        from harness.contract import citations

        if self.load_error is not None:
            return []
        registry = self.alone
        info = self._info(registry)
        if info is None or not info.ok:
            return []
        package = citations.plugin_package(registry, info.name)
        where = f"{package}/{citations.FILENAME}" if package else citations.FILENAME
        _, problem = citations.package_entries(package)
        if problem:
            return [f"citations: {problem}"]
        registered = [("task", item) for _, item in self.tasks()]
        registered += [("model", item) for item in registry.models.values() if item.spec.build is None]
        registered += [(what, item) for what, table in (("leaderboard", registry.leaderboards),
                                                         ("study", registry.studies)) for item in table.values()]
        return [f"{what} {item.spec.name!r}: no BibTeX entry in {where} (an entry with xharness = "
                f"{{{what}:{item.spec.name}}}); `xharness cite` names it as uncited"
                for what, item in registered if item.plugin == info.name
                and not citations.entries_for(registry, what, item.spec.name, item.plugin)]

    def metadata(self) -> list[str]:
        """Check 4: every language is a plausible code and the metric one the task's kind scores."""
        if self.load_error is not None:
            return []
        problems = []
        for _, item in self.tasks():
            spec = item.spec
            codes = [*spec.languages, *spec.extra_languages, spec.train_language, *spec.translated_train]
            found = [language_problem(code) for code in dict.fromkeys(codes)]
            found.append(metric_problem(spec, self.beside.kind_set))
            for problem in filter(None, found):
                problems.append(f"task {spec.name!r}: {problem}")
                self._bad.add(spec.name)
        return problems

    def samples(self) -> list[str]:
        """Check 5: every split a run needs reads from the samples, is non-empty, and its examples
        have the fields of their kind."""
        from harness.data.sources import plan_task_data

        if self.load_error is not None:
            return []
        problems = []
        kinds = self.beside.kind_set
        for role, item in self.tasks():
            spec = item.spec
            if spec.samples is None:
                continue
            for split, lang in sample_needs(spec, role, kinds):
                where = f"task {spec.name!r} samples {split}/{lang}"
                try:
                    data = plan_task_data(item, [(split, lang)], source="bundled", data_dir=None, kinds=kinds)
                    examples = data.load(split, lang)
                except UserError as exc:  # DataFormatError: "<path>:<line>: <problem>"
                    problems.append(f"{where}: {_first_line(exc)}")
                    self._bad.add(spec.name)
                    continue
                except Exception as exc:  # a reader's bug
                    problems.append(f"{where}: reader raised {_describe(exc)}")
                    self._bad.add(spec.name)
                    continue
                if not examples:
                    problems.append(f"{where}: empty ({data.where(split, lang)})")
                    self._bad.add(spec.name)
                    continue
                try:  # a second, independent read must give the same examples in the same order
                    again = plan_task_data(item, [(split, lang)], source="bundled", data_dir=None).load(split, lang)
                except Exception:  # noqa: BLE001 (the first read succeeded: a flaky reader shows below)
                    again = None
                if again != examples:
                    reordered = again is not None and sorted(map(repr, again)) == sorted(map(repr, examples))
                    problems.append(f"{where}: reading it twice gave "
                                    f"{'the examples in another order' if reordered else 'other examples'}; "
                                    f"a reader must return them in the file's order (shuffle, if at all, with a fixed "
                                    f"seed), or per-example records and predictions do not line up across runs")
                    self._bad.add(spec.name)
                    continue
                bad = [(i, p) for i, p in ((i, example_problem(spec, e, kinds)) for i, e in enumerate(examples, 1))
                       if p]
                if bad:
                    more = f" (and {len(bad) - 1} more bad examples)" if len(bad) > 1 else ""
                    problems.append(f"{where}: example {bad[0][0]} of {len(examples)}: {bad[0][1]}{more}")
                    self._bad.add(spec.name)
                    continue
                self._examples[(spec.name, split, lang)] = examples
        return problems

    def features(self) -> list[str]:
        """Check 6: the examples that read cleanly featurise through their kind with a tiny tokenizer.

        Runs :meth:`samples` first if it has not run."""
        if self.load_error is not None:
            return []
        if not self._examples:
            self.samples()
        if not self._examples:
            return []
        try:
            tokenizer = tiny_tokenizer()
        except Exception as exc:
            return [f"features: no tokenizer: {_describe(exc)}"]
        problems = []
        specs = {item.spec.name: item.spec for _, item in self.tasks()}
        kinds = self.beside.kind_set  # the kinds the plugin's tasks use, as a run would load them
        for (task_name, split, lang), examples in self._examples.items():
            spec = specs[task_name]
            where = f"task {task_name!r} features {split}/{lang}"
            try:
                kind = kinds.get(spec.kind)
                if not callable(getattr(kind, "featurize", None)) or not hasattr(kind, "collate"):
                    continue  # an untrained kind (retrieval, bitext mining): left to the smoke run
                spec = self._with_open_tags(spec, kinds)
                kind.featurize(examples, tokenizer, FEATURE_LENGTH, spec)
            except Exception as exc:
                problems.append(f"{where}: {_describe(exc)}")
                self._bad.add(task_name)
        return problems

    def _with_open_tags(self, spec: TaskSpec, kinds: Kinds) -> TaskSpec:
        """An open label set (``KindSpec.labels_from_training``) is read off the training data, as a run does."""
        if not kinds.open_labels(spec):
            return spec
        train = self._examples.get((spec.name, "train", spec.train_language), [])
        return dataclasses.replace(spec, labels=kinds.labels_from_training(spec, train))

    def smoke(self, tasks: Iterable[str] | None = None) -> list[str]:
        """Check 7: a smoke run of each target task (and of each intermediate task before pawsx)."""
        from harness.common.progress import Reporter
        from harness.cell.protocol import RunRequest, execute, plan_run

        if self.load_error is not None:
            return []
        mine = self.tasks()
        problems = []
        wanted = None if tasks is None else list(tasks)
        if wanted is not None:
            problems += [f"smoke: plugin {self.name} has no task {name!r}" for name in wanted
                         if name not in {item.spec.name for _, item in mine}]
        registry = self.beside
        # the target an intermediate task runs before: pawsx, else any installed target with samples
        targets = [item for name, item in sorted(registry.tasks["target"].items()) if item.spec.samples is not None]
        after = next((item for item in targets if item.spec.name == "pawsx"), targets[0] if targets else None)
        for role, item in mine:
            spec = item.spec
            if wanted is not None and spec.name not in wanted:
                continue
            if spec.samples is None or spec.name in self._bad:
                continue
            if registry.tasks[role].get(spec.name) is not item:
                continue  # clashing or left out: reported already
            if role == "target":
                request = dict(inter="none", target=spec.name, languages=list(spec.languages[:2]))
            elif after is None:
                problems.append(f"task {spec.name!r} smoke: no target task with samples is installed to run this "
                                f"intermediate task before (install xharness-xtreme, or a plugin with one)")
                continue
            else:
                request = dict(inter=spec.name, target=after.spec.name, languages=list(after.spec.languages[:2]))
            where = f"task {spec.name!r} smoke"
            with tempfile.TemporaryDirectory(prefix="xharness-testing-smoke-") as output:
                try:
                    plan = plan_run(RunRequest(**request, preset="smoke", output=Path(output),
                                               overrides={"inter_epochs": 1, "target_epochs": 1}), registry)
                    _, record = execute(plan, reporter_factory=lambda main: Reporter(False))
                except Exception as exc:
                    problems.append(f"{where}: {_describe(exc)}")
                    continue
            problems += score_problems(where, record, plan.languages, plan.kinds.spec(plan.target.spec.kind))
        return problems

    def run(self, *, smoke: bool = False, smoke_tasks: Iterable[str] | None = None) -> list[str]:
        """Every check in order; a check that cannot run after an earlier failure is skipped."""
        problems = self.load()
        if problems:
            return problems
        registration = self.registration()
        problems += registration
        problems += self.clashes()
        if any("failed to register" in p for p in registration):
            return problems
        problems += self.metadata()
        problems += self.samples()
        problems += self.features()
        if smoke:
            problems += self.smoke(smoke_tasks)
        return problems


def _installed_as(obj: Any) -> str | None:
    """The name of the installed entry point whose object is ``obj`` (compared by identity)."""
    for ep in metadata.entry_points(group=hookspecs.ENTRY_POINT_GROUP):
        module = ep.value.partition(":")[0].strip()
        if module not in sys.modules and getattr(obj, "__name__", None) != module:
            continue  # not loaded yet, so not the object given
        try:
            if ep.load() is obj:
                return ep.name
        except Exception:  # another plugin's breakage is not this plugin's problem
            continue
    return None


# -- the one-call API --------------------------------------------------------------------------

def check_plugin(plugin: Any, *, smoke: bool = False, smoke_tasks: Iterable[str] | None = None,
                 name: str | None = None) -> list[str]:
    """Check a plugin against the contract; return its problems, one line each (empty: all fine).

    :param plugin: an installed entry-point name, an importable module name, or the module/object.
    :param smoke: also run the smoke protocol (check 7) of its tasks.
    :param smoke_tasks: the tasks to smoke-run (default: all of them).
    :param name: the plugin name to register it under.
    """
    return PluginCheck(plugin, name=name).run(smoke=smoke, smoke_tasks=smoke_tasks)


def assert_plugin_ok(plugin: Any, *, smoke: bool = False, smoke_tasks: Iterable[str] | None = None,
                     name: str | None = None) -> None:
    """As :func:`check_plugin`, raising :class:`PluginProblems` (an AssertionError) listing every problem."""
    check = PluginCheck(plugin, name=name)
    problems = check.run(smoke=smoke, smoke_tasks=smoke_tasks)
    if problems:
        raise PluginProblems(check.name, problems)
    uncited = check.citations()
    if uncited:  # not a failure: a reminder, shown in pytest's warnings summary
        import warnings

        warnings.warn(CitationWarning(f"plugin {check.name}: " + "; ".join(uncited)), stacklevel=2)


def _one(method: str):
    def check(plugin: Any, *, name: str | None = None, **kwargs: Any) -> list[str]:
        return getattr(PluginCheck(plugin, name=name), method)(**kwargs)
    check.__name__ = f"check_{method}"
    check.__doc__ = f"Only :meth:`PluginCheck.{method}` of a plugin given as :func:`check_plugin` takes it."
    return check


check_load = _one("load")
check_registration = _one("registration")
check_clashes = _one("clashes")
check_metadata = _one("metadata")
check_citations = _one("citations")
check_samples = _one("samples")
check_features = _one("features")
check_smoke = _one("smoke")


def study_grids(registry: Registry, name: str, *, preset: str | None = "smoke") -> list:
    """The grids a registered study plans (nothing is trained): what a study plugin's tests check."""
    from harness.grids import study

    return study.load(registry.study(name)).grids(study.StudyOptions(preset=preset), registry)
