"""Studies: a research question as a recipe — the grid(s) it needs, run through the sweep
machinery, and the analysis of their records.

A study plugin registers a :class:`harness.contract.spec.StudySpec` whose ``load`` names a :class:`Study`
object. ``xharness study run NAME`` asks it for its grids, runs whatever is missing exactly as
``xharness sweep`` would (same store, reuse, resume, launchers), then analyses; ``xharness study
analyse NAME DIR`` redoes only the analysis from the plan saved at run time. Everything lands in
``<output>/studies/<name>/``:

* ``plan.json``  — the options and grids the study was run with;
* ``study.json`` — every number of the analysis, each with the run folders it was computed from,
  plus the list of runs used (their ``results.json`` SHA-256) and of cells still missing;
* ``study.md``   — the tables and a short, factual reading;
* ``*.png``      — the figures.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from harness.contract.errors import UserError
from harness.common.fsutil import atomic_write_json, atomic_write_text
from harness.grids.sweep import Grid, PlannedCell, plan_grid
from harness.store.experiments import for_study

SCHEMA = "xharness.study/1"


@dataclass
class StudyOptions:
    """What the user chose for a study run; a study fills in its own defaults for what is None."""

    models: list[str] | None = None
    seeds: list[int] | None = None
    preset: str | None = None
    output: str = "xharness-runs"
    data_dir: str | None = None
    checkpoint_minutes: float = 30.0

    @property
    def smoke(self) -> bool:
        return self.preset == "smoke"


class Study:
    """What a study plugin provides (subclass it): its grids and its analysis."""

    name = ""

    def grids(self, options: StudyOptions, registry) -> list[Grid]:
        """The grids the question needs, built from ``options`` (smaller ones under the smoke preset)."""
        raise NotImplementedError

    def analyse(self, context: "Context") -> None:
        """Compute the numbers (``context.number``), write the tables and reading
        (``context.say``/``context.table``) and figures (``context.figure``)."""
        raise NotImplementedError


@dataclass
class Context:
    """What an analysis reads (the planned cells and their finished runs) and writes."""

    name: str
    question: str
    options: StudyOptions
    grids: list[Grid]
    cells: list[list[PlannedCell]]
    registry: Any
    folder: Path
    numbers: dict[str, Any] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)
    figures: list[str] = field(default_factory=list)
    _records: dict = field(default_factory=dict, repr=False)

    def runs(self, grid: int | None = None) -> list:
        """The finished runs (``harness.analysis.report.Run``) of one grid's cells, or of all grids (each
        results.json read once; grids may share cells)."""
        from harness.analysis.report import Run, _read_record

        found: dict[Path, Run] = {}
        for cells in self.cells if grid is None else [self.cells[grid]]:
            for cell in cells:
                if cell.status != "done" or cell.run_dir is None or cell.run_dir in found:
                    continue
                if cell.run_dir not in self._records:
                    self._records[cell.run_dir] = _read_record(cell.run_dir / "results.json")
                record, problem = self._records[cell.run_dir]
                if problem is None:
                    found[cell.run_dir] = Run(cell.run_dir, record)
        return list(found.values())

    def missing(self) -> list[str]:
        return [cell.label for cells in self.cells for cell in cells if cell.status != "done"]

    def number(self, key: str, value: Any, runs: list | None = None, **about: Any) -> Any:
        """Record one number (or small structure) of the analysis with the run folders behind it."""
        entry = {"value": value, **about}
        if runs is not None:
            entry["runs"] = sorted({Path(r).name if not hasattr(r, "folder") else r.folder.name for r in runs})
        self.numbers[key] = entry
        return value

    def say(self, text: str = "") -> None:
        self.lines.append(text)

    def table(self, header: list[str], rows: list[list[Any]]) -> None:
        """A markdown table."""
        self.lines.append("| " + " | ".join(header) + " |")
        self.lines.append("|" + "|".join("---" for _ in header) + "|")
        for row in rows:
            self.lines.append("| " + " | ".join(str(cell) for cell in row) + " |")
        self.lines.append("")

    def figure(self, name: str) -> Path:
        """Where to save a figure (PNG); it is listed in study.json and linked from study.md."""
        self.figures.append(name)
        return self.folder / name


def load(spec) -> Study:
    module, _, attribute = spec.spec.load.partition(":")
    try:
        study = getattr(importlib.import_module(module), attribute)
    except Exception as exc:  # a plugin's bug: one line naming it
        raise UserError(f"study {spec.spec.name!r} of plugin {spec.plugin!r} failed to load ({spec.spec.load}): "
                        f"{type(exc).__name__}: {exc}") from None
    return study() if isinstance(study, type) else study


def folder_of(output: str | Path, name: str) -> Path:
    return Path(output).expanduser() / "studies" / name


def plan(name: str, options: StudyOptions, registry) -> tuple[Study, list[Grid]]:
    registered = registry.study(name)
    study = load(registered)
    grids = study.grids(options, registry)
    if not grids:
        raise UserError(f"study {name}: no grid to run with the installed tasks (see `xharness list`)")
    for grid in grids:  # its runs are the study's: `xharness report` shows them apart from other work
        grid.experiment = for_study(name).label
    return study, grids


def save_plan(name: str, options: StudyOptions, grids: list[Grid]) -> Path:
    path = folder_of(options.output, name) / "plan.json"
    atomic_write_json(path, {"schema": SCHEMA, "study": name, "options": asdict(options),
                             "grids": [asdict(g) for g in grids]})
    return path


def load_plan(name: str, output: Path) -> tuple[StudyOptions, list[Grid]]:
    path = folder_of(output, name) / "plan.json"
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise UserError(f"study {name} has not been run with --output {output} (no {path}); "
                        f"run `xharness study run {name} --output {output}` first") from None
    return StudyOptions(**saved["options"]), [Grid(**g) for g in saved["grids"]]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def analyse(name: str, options: StudyOptions, grids: list[Grid], registry, log=print) -> Path:
    """Run the study's analysis on the finished runs of its grids; write study.json, study.md, figures."""
    registered = registry.study(name)
    study = load(registered)
    folder = folder_of(options.output, name)
    folder.mkdir(parents=True, exist_ok=True)
    cells = [plan_grid(grid, registry) for grid in grids]
    context = Context(name, registered.spec.question, options, grids, cells, registry, folder)
    if not context.runs():
        planned = sum(len(c) for c in cells)
        raise UserError(f"study {name}: none of its {planned} cell{'s' * (planned != 1)} has finished in "
                        f"{options.output}; run `xharness study run {name}` first")
    study.analyse(context)
    runs = {run.folder.name: {"results": str(run.folder / "results.json"), "sha256": _sha256(run.folder / "results.json"),
                              "inter": run.inter, "target": run.target, "model": run.model, "seed": run.seed}
            for run in context.runs()}
    record = {"schema": SCHEMA, "study": name, "question": context.question, "plugin": registered.plugin,
              "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "options": asdict(options),
              "grids": [asdict(g) for g in grids], "runs": runs, "missing": context.missing(),
              "numbers": context.numbers, "figures": context.figures}
    atomic_write_json(folder / "study.json", record)
    head = [f"# Study `{name}`", "", f"**Question.** {context.question}", ""]
    if context.missing():
        missing = len(context.missing())
        head += [f"**Incomplete:** {missing} {'cell has' if missing == 1 else 'cells have'} not finished; the "
                 f"numbers below use the {len(runs)} {'run that has' if len(runs) == 1 else 'runs that have'}.", ""]
    tail = ["", "Figures: " + ", ".join(f"![{f}]({f})" for f in context.figures)] if context.figures else []
    atomic_write_text(folder / "study.md", "\n".join(head + context.lines + tail) + "\n")
    log(f"study {name}: {len(runs)} run{'s' * (len(runs) != 1)} analysed → {folder / 'study.md'}, study.json"
        + (f", {len(context.figures)} figure{'s' * (len(context.figures) != 1)}" if context.figures else ""))
    return folder
