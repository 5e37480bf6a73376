"""The public surface of xharness: what a plugin or a notebook may import, and nothing else.

Plugins (tasks, models, kinds, leaderboards, studies) import from ``harness.api`` alone, and
``harness.testing`` in their tests; everything else in ``harness`` is internal and may move
between releases. A notebook gets the three commands as functions returning typed results::

    from harness import api
    result = api.run("hellaswag", "pawsx", preset="smoke")
    result.scores                       # {"en": 61.0, "de": 55.5, ...}: the target metric per language
    grid = api.sweep(["hellaswag", "none"], ["pawsx"], seeds=[1, 2], preset="smoke")
    table = api.report([grid.output])   # harness.analysis.report.Report: tables, statistics, figures
    cards = api.export(grid.output)     # Hugging Face Hub model cards of the results (README.md each)

**Versioning.** ``API_VERSION`` is ``MAJOR.MINOR``. A plugin declares the API versions it was
written for with a module attribute, ``XHARNESS_API = ">=1.0,<2"`` (the version guard that already
reads ``XHARNESS_CORE`` reads it too, and a plugin asking for another major version is reported and
not loaded). **Deprecation policy:** a name in ``__all__`` keeps its meaning for the whole major
version; a minor version only adds names or optional parameters. A name to be removed first warns
(``DeprecationWarning``, naming its replacement) for at least one minor version, and is removed
only with the next major version.

Heavy parts (``load_backbone``, the alignment helpers) are imported on first use, so importing
this module, as every plugin does while ``xharness list`` runs, loads neither torch nor datasets.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness import API_VERSION  # MAJOR.MINOR, see the deprecation policy above
from harness.contract.errors import DataFormatError, UserError
from harness.data.readers import read_conll, read_csv_rows, read_jsonl, read_squad_json, read_tsv_rows
from harness.contract.hookspecs import hookimpl
from harness.contract.tracking import TrackedRun, Tracker
from harness.tracking import tracker_names
from harness.common.progress import Reporter
from harness.compute.outcomes import make as make_outcome
from harness.compute.outcomes import score as outcome_score
from harness.contract.spec import (HubSource, KindSpec, Leaderboard, LeaderboardTask, LocalSource, MetricSpec, ModelSpec,
                                   PublishedSizes, StudySpec, TrackerSpec, TaskSpec, TranslationSpec)
from harness.analysis.stats import correlate, fit_line

if TYPE_CHECKING:  # pragma: no cover
    from harness.analysis.report import Report

__all__ = [
    "API_VERSION",
    # the contract: specs and the hook marker
    "TaskSpec", "HubSource", "LocalSource", "PublishedSizes", "ModelSpec", "KindSpec", "MetricSpec", "Leaderboard",
    "LeaderboardTask", "StudySpec", "TrackerSpec", "TranslationSpec", "hookimpl",
    # what a tracker plugin implements (harness.contract.tracking): the run it is told about, the calls
    "Tracker", "TrackedRun",
    # what a kind's object builds on (harness.kinds.base; they import torch): the base class, the
    # first-token head, padding and masks, the encoder call, the head's dropout, example ids; its
    # per-example outcomes and the score computed from them; its resolved settings
    "TaskKind", "ClsHead", "encode_rows", "pad_rows", "run_encoder", "head_dropout", "example_ids",
    "make_outcome", "outcome_score", "kind_settings",
    # errors a plugin raises
    "UserError", "DataFormatError",
    # readers of the usual formats
    "read_tsv_rows", "read_jsonl", "read_csv_rows", "read_squad_json", "read_conll",
    # progress and statistics
    "Reporter", "correlate", "fit_line", "paired_bootstrap_samples",
    # what a study uses: its base class, grids, task data, reports, backbones
    "Study", "Grid", "plan_task_data", "build_report", "AVERAGE", "load_backbone", "after_load",
    "make_accelerator", "embed_all_layers", "layer_profile", "set_recall_by_layer",
    # a notebook's entry points
    "run", "RunResult", "sweep", "SweepResult", "report", "export",
]

#: Names served from their modules on first use (they import torch, or modules that do).
_LAZY = {
    "TaskKind": ("harness.kinds.base", "TaskKind"),
    "ClsHead": ("harness.kinds.base", "ClsHead"),
    "encode_rows": ("harness.kinds.base", "encode_rows"),
    "pad_rows": ("harness.kinds.base", "pad_rows"),
    "run_encoder": ("harness.kinds.base", "run_encoder"),
    "head_dropout": ("harness.kinds.base", "head_dropout"),
    "example_ids": ("harness.kinds.base", "example_ids"),
    "Study": ("harness.grids.study", "Study"),
    "Grid": ("harness.grids.sweep", "Grid"),
    "plan_task_data": ("harness.data.sources", "plan_task_data"),
    "build_report": ("harness.analysis.report", "build"),
    "AVERAGE": ("harness.analysis.report", "AVERAGE"),
    "paired_bootstrap_samples": ("harness.analysis.report", "paired_bootstrap_samples"),
    "load_backbone": ("harness.training.model", "load_backbone"),
    "after_load": ("harness.compute.speed", "after_load"),
    "make_accelerator": ("harness.cell.protocol", "make_accelerator"),
    "embed_all_layers": ("harness.analysis.alignment", "embed_all_layers"),
    "layer_profile": ("harness.analysis.alignment", "layer_profile"),
    "set_recall_by_layer": ("harness.analysis.alignment", "set_recall_by_layer"),
}


def kind_settings(spec: TaskSpec, kind: KindSpec) -> dict[str, Any]:
    """The values of ``kind``'s own settings (``KindSpec.settings``) for a task, as a run resolved
    them: the kind's default, overridden by the task's ``defaults`` and then by the user's
    ``--setting NAME=VALUE`` (which a run writes into the spec's ``defaults`` before the kind sees it)."""
    return {name: spec.defaults.get(name, default) for name, default in kind.settings.items()}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module, attribute = _LAZY[name]
        value = getattr(importlib.import_module(module), attribute)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'harness.api' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


# -- a notebook's entry points -------------------------------------------------------------------

@dataclass(frozen=True)
class RunResult:
    """One finished cell: where it is and what it scored."""

    #: the run's folder (``<output>/runs/<cell>``), holding results.json and predictions
    folder: Path
    #: results.json as a dict: settings, data identities, per-language scores, environment
    record: dict[str, Any]

    @property
    def metric(self) -> str:
        """The target task's metric (``accuracy``, ``f1``, ...)."""
        return self.record["scores"]["metric"]

    @property
    def scores(self) -> dict[str, float | None]:
        """The metric on each language's test set (None where the test set has no gold labels)."""
        return dict(self.record["scores"]["per_language"])

    @property
    def average(self) -> float | None:
        """The mean over languages, as the command prints it."""
        return self.record["scores"]["average"]


@dataclass(frozen=True)
class SweepResult:
    """A grid after a sweep: each cell's label, status and folder, and the store it lives in."""

    output: Path
    #: label -> "done" | "failed" | "missing" | "running" | "invalid"
    status: dict[str, str]
    #: label -> the cell's run folder (None for an invalid cell)
    folders: dict[str, Path | None] = field(default_factory=dict)
    #: label -> the one-line error of a failed or invalid cell
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(status == "done" for status in self.status.values())


def _options(options: dict[str, Any]) -> dict[str, Any]:
    from harness.cell.planning import RUN_OPTIONS

    unknown = sorted(set(options) - set(RUN_OPTIONS))
    if unknown:
        raise UserError(f"unknown option(s) {', '.join(unknown)}: the options are {', '.join(RUN_OPTIONS)} "
                        f"(those of `xharness run`, with _ for -)")
    return {name: options.get(name) for name in RUN_OPTIONS}


def _languages(languages: str | list[str] | None) -> list[str] | None:
    if languages is None or isinstance(languages, list):
        return languages
    return [lang.strip() for lang in str(languages).split(",") if lang.strip()]


def run(inter: str, target: str, *, model: str | None = None, seed: int = 42, output: str | Path = "xharness-runs",
        data_dir: str | Path | None = None, preset: str | None = None, languages: str | list[str] | None = None,
        checkpoint_minutes: float = 30.0, keep_checkpoints: bool = False, experiment: str | None = None,
        trackers: str | list[str] | None = None, **options: Any) -> RunResult:
    """``xharness run`` as a function: train (or reuse) the cell and return its result.

    ``options`` are the run options of ``xharness run`` by their long names with ``_`` for ``-``
    (``lr=2e-5``, ``select_on="target"``, ``setting=["query_max_length=64"]``, ``transfer="few-shot",
    shots=100, shot_seed=2``). A finished cell in
    ``output`` is reused, as on the command line. ``experiment`` names the group ``report`` shows it
    in (``run:NAME``; default ``run``); ``trackers`` the experiment trackers it reports to
    (``"wandb,mlflow"`` or a list). Raises :class:`UserError` with the same one-line messages the
    command prints.
    """
    from harness.contract.discovery import discover
    from harness.cell.protocol import RunRequest, execute, plan_run
    from harness.cell.transfer import variants
    from harness.store.experiments import for_run

    cells = variants(_options(options))
    if len(cells) > 1:
        raise UserError(f"api.run runs one cell; transfer, shots and shot_seeds ask for {len(cells)}: give one value "
                        f"each, or call api.sweep with them")
    request = RunRequest(inter=inter, target=target, model=model, seed=seed, output=Path(output),
                         data_dir=Path(data_dir) if data_dir is not None else None, preset=preset,
                         languages=_languages(languages), overrides=cells[0],
                         checkpoint_minutes=checkpoint_minutes, keep_checkpoints=keep_checkpoints,
                         experiment=for_run(experiment).label, trackers=tuple(tracker_names(trackers)))
    path, record = execute(plan_run(request, discover()))
    return RunResult(folder=Path(path).parent, record=record)


def sweep(inter: list[str], target: list[str], *, seeds: list[int] | None = None,
          models: list[str | None] | None = None, output: str | Path = "xharness-runs",
          data_dir: str | Path | None = None, preset: str | None = None,
          languages: str | list[str] | None = None, checkpoint_minutes: float = 30.0,
          keep_checkpoints: bool = False, dry_run: bool = False, log=None, experiment: str | None = None,
          trackers: str | list[str] | None = None, **options: Any) -> SweepResult:
    """``xharness sweep`` as a function, in this process: every missing cell of intermediate tasks ×
    targets × seeds × models is run (or, with ``dry_run``, only planned); finished ones are reused.
    A failed cell does not stop the others: its one-line error is in the result. ``log`` receives
    the progress lines the command prints (default: none). ``experiment`` names the group ``report``
    shows its runs in (``sweep:NAME``; default ``sweep:sweep``)."""
    from harness.grids import sweep as sweeping
    from harness.contract.discovery import discover
    from harness.store.experiments import for_sweep

    grid = sweeping.Grid(inter=list(inter), target=list(target), seeds=list(seeds or [42]),
                         models=list(models or [None]), output=str(output),
                         data_dir=str(data_dir) if data_dir is not None else None, preset=preset,
                         languages=_languages(languages),
                         overrides={k: v for k, v in _options(options).items() if v is not None},
                         checkpoint_minutes=checkpoint_minutes, keep_checkpoints=keep_checkpoints,
                         experiment=for_sweep(None, experiment).label, trackers=tracker_names(trackers))
    registry = discover()
    if not dry_run:
        sweeping.work(grid, registry, log=log or (lambda line: None))
    cells = sweeping.plan_grid(grid, registry)
    return SweepResult(output=Path(output), status={c.label: c.status for c in cells},
                       folders={c.label: c.run_dir for c in cells},
                       errors={c.label: c.error for c in cells if c.error})


def report(folders: list[str | Path], *, target: str | None = None, model: str | None = None,
           experiment: str | None = None, delta: bool | None = None, resamples: int = 1000, seed: int = 0,
           show_n: bool = False) -> "Report":
    """``xharness report`` as a function: the tables of finished runs under ``folders`` (stores,
    their ``runs/`` folders or single runs), one set per experiment (``experiment`` picks one), with
    mean ± std over seeds and the paired bootstrap. Render it with
    ``harness.analysis.report.render(result, "markdown")`` or read its ``tables``."""
    from harness.analysis import report as reporting

    runs, skipped = reporting.collect([Path(f) for f in folders])
    mode = None if delta is None else ("delta" if delta else "absolute")
    return reporting.build(runs, model=model, target=target, experiment=experiment, mode=mode,
                           resamples=resamples, seed=seed, skipped=skipped, show_n=show_n)


def export(store: str | Path, *, output: str | Path | None = None, model: str | None = None,
           experiment: str | None = None, resamples: int = 1000, seed: int = 0, push: str | None = None,
           create_pr: bool = False) -> list:
    """``xharness export`` as a function: one Hugging Face Hub model card per backbone and experiment of
    ``store``, written under ``output`` (default ``store/export``) as ``<model>/<experiment>/README.md``
    (the Hub's evaluation metadata and the X-STILTs matrix) and ``results.md`` (the section alone);
    with ``push``, the one card selected uploaded to that Hub model repository. Returns the
    ``harness.analysis.export.Export``s: ``path``, ``eval_results`` (huggingface_hub EvalResults),
    ``card``, ``section``, ``pushed``."""
    from harness.analysis import export as exporting

    return exporting.export_store(Path(store), output=None if output is None else Path(output), model=model,
                                  experiment=experiment, resamples=resamples, seed=seed, push_to=push,
                                  create_pr=create_pr)
