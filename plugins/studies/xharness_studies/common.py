"""What the studies share: building grids from the installed tasks, Δ tables from the report
machinery (seed spread, paired bootstrap, Holm), bootstrap vectors of a Δ, and the wording of
numbers (signs, p-values, plurals). The figures' helpers are in ``xharness_studies.figures``."""

from __future__ import annotations

import json
from typing import Any

from harness.api import Grid

#: Under the smoke preset every study shortens training further: the grids only prove the recipe.
SMOKE_OVERRIDES = {"inter_epochs": 1.0, "target_epochs": 2.0}
RESAMPLES = 1000


def readable(registered, options) -> bool:
    """Whether a task's data can be read with these options (bundled samples, local files, the hub)."""
    spec = registered.spec
    if options.smoke and not options.data_dir:
        return spec.samples is not None
    return bool(options.data_dir) or spec.hub is not None


def installed(registry, role: str, names, options) -> list[str]:
    """The tasks of ``names`` that are installed and readable, in the order given."""
    table = registry.tasks[role]
    return [name for name in names if name in table and readable(table[name], options)]


def grid(options, *, inter: list[str], target: list[str], models: list[str], seeds: list[int],
         languages: list[str] | None = None, overrides: dict[str, Any] | None = None,
         smoke_languages: list[str] | None = None) -> Grid:
    """A grid over ``options``; under the smoke preset, ``smoke_languages`` (if given) keeps only a few
    test languages so the recipe proves itself in seconds."""
    if options.smoke and smoke_languages:
        languages = smoke_languages
    merged = dict(SMOKE_OVERRIDES) if options.smoke else {}
    merged.update(overrides or {})
    return Grid(inter=inter, target=target, seeds=options.seeds or seeds, models=options.models or models,
                output=options.output, data_dir=options.data_dir, preset=options.preset, languages=languages,
                overrides=merged, checkpoint_minutes=options.checkpoint_minutes)


def delta_cells(runs, *, resamples: int = RESAMPLES, seed: int = 0) -> dict[tuple[str, str, str], dict[str, Any]]:
    """(model, intermediate, target) → Δ against ``none`` of the same model, paired seed by seed:
    mean, sample std, seeds, Holm-adjusted paired-bootstrap p and the run folders (``xharness
    report``'s numbers, computed the same way)."""
    from harness.api import AVERAGE, build_report as build

    cells: dict[tuple[str, str, str], dict[str, Any]] = {}
    if not runs:
        return cells
    report = build(runs, mode="delta", resamples=resamples, seed=seed, by_experiment=False)  # the study's runs
    if report.left_out:  # a study's numbers come from all of its runs or from none
        from harness.api import UserError

        raise UserError(f"the study's runs cannot all be compared: {report.left_out[0]}")
    # a row is named with its training-data variant ("mnli (de, es)"); a study's grid says which
    # variant it ran, so its numbers are keyed by the task(s) alone
    tasks = {run.inter: "+".join(run.record["intermediate_tasks"]) or "none" for run in runs}
    for table in report.tables:
        for (row, column), cell in table.cells.items():
            if row == "none" or column == AVERAGE or cell.delta is None:
                continue
            cells[(table.model, tasks.get(row, row), column)] = {
                "delta": cell.delta.mean, "std": cell.delta.std, "seeds": cell.delta.seeds, "values": cell.delta.values,
                "p": cell.p, "p_holm": cell.p_holm, "runs": cell.runs, "baseline_runs": cell.baseline_runs}
    return cells


def outcomes_of(run) -> dict[str, dict]:
    """language → the run's per-example outcome record."""
    return {lang: json.loads(run.outcome_path(lang).read_text(encoding="utf-8")) for lang in run.languages()}


def delta_vector(system_runs, baseline_runs, target: str, *, resamples: int = RESAMPLES, seed: int = 0):
    """(observed Δ, Δ on each bootstrap resample) of ``target``, paired seed by seed
    (``harness.api.paired_bootstrap_samples``: the draws depend only on the test set, so the
    vectors of two models can be subtracted). (None, None) without a seed pair."""
    from harness.api import paired_bootstrap_samples

    by_seed = {run.seed: run for run in baseline_runs}
    pairs = [({target: outcomes_of(run)}, {target: outcomes_of(by_seed[run.seed])})
             for run in system_runs if run.seed in by_seed]
    if not pairs:
        return None, None
    return paired_bootstrap_samples(pairs, resamples, seed)


def interval(vector, confidence: float = 0.95) -> tuple[float, float]:
    import numpy as np

    tail = (1 - confidence) / 2 * 100
    return float(np.percentile(vector, tail)), float(np.percentile(vector, 100 - tail))


def signed(value: float | None, decimals: int = 2) -> str:
    if value is None:
        return "n/a"
    return f"{value:+.{decimals}f}"


def delta_text(cell: dict[str, Any] | None) -> str:
    """A Δ cell of a study's table: ``+1.23 ± 0.45 (p=0.012)``, ``n/a`` without a number."""
    if cell is None:
        return "n/a"
    spread = f" ± {cell['std']:.2f}" if cell["std"] is not None else ""
    return f"{signed(cell['delta'])}{spread} ({pvalue_text(cell['p_holm'])})"


def pvalue_text(p: float | None) -> str:
    """``p=0.012``, ``p<0.001``, or ``p n/a`` (untested)."""
    if p is None:
        return "p n/a"
    return "p<0.001" if p < 0.001 else f"p={p:.3f}"


def plural(count: int, noun: str, many: str | None = None) -> str:
    """``1 seed``, ``2 seeds``, ``0 seeds`` (``many``: an irregular plural)."""
    return f"{count} {noun if count == 1 else many or noun + 's'}"
