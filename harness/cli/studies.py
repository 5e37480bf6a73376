"""Studies: ``xharness study list``, ``run`` and ``analyse``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from harness.contract.errors import UserError
from harness.cli import base
from harness.tracking import tracker_names
from harness.cli.options import launcher_options, tracker_option
from harness.cli.base import cli, _console, _fail
from harness.cli.cells import _print_plan, _print_summary, _save_grid


@cli.group("study")
def study_group() -> None:
    """Research questions as recipes: each plans its grid, runs what is missing through the sweep
    machinery, and writes study.json, study.md and figures (see `xharness study list`)."""


@study_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON instead of a table.")
def study_list_command(as_json: bool) -> None:
    """Show the installed studies and the question each answers."""
    registry = base._registry()
    studies = [{"name": name, "question": item.spec.question, "plugin": item.plugin}
               for name, item in sorted(registry.studies.items())]
    if as_json:
        click.echo(json.dumps(studies, indent=2))
        return
    from rich.table import Table

    console = _console()
    table = Table(title="Studies (xharness study run NAME)", title_justify="left")
    for column in ("name", "question", "plugin"):
        table.add_column(column)
    for study in studies:
        table.add_row(study["name"], study["question"], study["plugin"])
    console.print(table)
    if not studies:
        console.print("No study plugin is installed.")


@study_group.command("run")
@click.argument("name")
@click.option("--models", default=None, help="Backbones, comma-separated [default: the study's].")
@click.option("--seeds", default=None, help="Seeds, comma-separated [default: the study's].")
@click.option("--preset", default=None, help="'smoke': tiny models, bundled samples, a small grid.")
@click.option("--output", default="xharness-runs", show_default=True, type=click.Path(file_okay=False),
              help="The store the cells run in; the study's files go to OUTPUT/studies/NAME/.")
@click.option("--data-dir", default=None, type=click.Path(), help="Local task files, as for `xharness run`.")
@click.option("--checkpoint-minutes", type=click.FloatRange(min=0), default=30.0, show_default=True,
              help="Training checkpoints at least this often (see `xharness run --help`).")
@click.option("--dry-run", is_flag=True, help="Print the study's grids and what they need, and stop.")
@tracker_option
@launcher_options
def study_run_command(name, models, seeds, preset, output, data_dir, checkpoint_minutes, dry_run, trackers, launcher,
                      devices, partition, time_limit, gpus_per_job, account) -> None:
    """Plan the study's grids, run what is missing (reusing everything finished), then analyse.

    Example: xharness study run granularity --preset smoke
    """
    from harness.grids import study, sweep
    from harness.common.interrupt import Interrupted, stop_cleanly

    try:
        seed_list = [int(s) for s in sweep.split_list(seeds)] or None
    except ValueError:
        _fail(UserError("--seeds takes whole numbers, comma-separated (e.g. 1,2,3)"))
        return
    options = study.StudyOptions(models=sweep.split_list(models) or None, seeds=seed_list, preset=preset,
                                 output=str(output), data_dir=str(data_dir) if data_dir else None,
                                 checkpoint_minutes=checkpoint_minutes)
    log = lambda message: click.echo(message, err=True)  # noqa: E731
    try:
        with stop_cleanly():
            registry = base._registry()
            recipe, grids = study.plan(name, options, registry)
            for name in tracker_names(trackers):  # an unknown tracker is one line, not one per cell
                registry.tracker(name)
            for grid in grids:  # each cell reports to them, grouped as the study's experiment
                grid.trackers = tracker_names(trackers)
            planned = [sweep.plan_grid(grid, registry) for grid in grids]
            for number, (grid, cells) in enumerate(zip(grids, planned), start=1):
                log(f"study {name}, grid {number} of {len(grids)}:")
                _print_plan(grid, sweep.summarize(cells))
                invalid = [c for c in cells if c.status == "invalid"]
                for cell in invalid:
                    log(f"error: {cell.label}: {cell.error}")
                if invalid:
                    sys.exit(2)
            if dry_run:
                return
            study.save_plan(name, options, grids)
            failed = 0
            for grid in grids:
                grid_path = _save_grid(grid)
                if launcher == "slurm" or devices:  # cells done before: listed, and sent to trackers, once
                    sweep.record_members(grid, sweep.plan_grid(grid, registry), log, track=True)
                if launcher == "slurm":
                    missing = [c for c in sweep.plan_grid(grid, registry) if c.status in ("missing", "failed")]
                    executor = sweep.slurm_executor(sweep.slurm_folder(grid.output), partition=partition,
                                                    time_minutes=time_limit, gpus=gpus_per_job, account=account,
                                                    parallelism=None)
                    jobs = sweep.submit(missing, executor) if missing else []
                    log(f"submitted {len(jobs)} cell{'s' * (len(jobs) != 1)} to Slurm; when they have finished: "
                        f"xharness study analyse {name} {output}")
                    continue
                reused = sweep.summarize(sweep.plan_grid(grid, registry))["done"]
                if devices:
                    code = sweep.spawn_workers(grid_path, [d.strip() for d in devices.split(",") if d.strip()], log)
                    result = {"seconds": None, "cleaned": [], "worker_exit": code}
                else:
                    result = sweep.work(grid, registry, log=log)
                failed += _print_summary(sweep.plan_grid(grid, registry), result, reused)
            if launcher == "slurm":
                return
            if failed:
                log(f"study {name}: {failed} cell{'s' * (failed != 1)} failed; the analysis uses the cells that "
                    f"finished")
            study.analyse(name, options, grids, registry, log=log)
    except UserError as error:
        _fail(error)
        return
    except Interrupted as stop:
        workers = f"{stop.workers} (each said above what it kept); " if stop.workers else ""
        log(f"study stopped by {stop.name}: {workers}finished cells and phases are kept; run the same command "
            f"again to continue")
        sys.exit(stop.exit_code)
    sys.exit(1 if failed else 0)


@study_group.command("analyse")
@click.argument("name")
@click.argument("output", type=click.Path(file_okay=False, path_type=Path))
def study_analyse_command(name: str, output: Path) -> None:
    """Redo only the analysis of a study run earlier with --output OUTPUT (nothing is trained).

    Example: xharness study analyse granularity xharness-runs
    """
    from harness.grids import study

    try:
        registry = base._registry()
        options, grids = study.load_plan(name, output)
        study.analyse(name, options, grids, registry, log=lambda message: click.echo(message, err=True))
    except UserError as error:
        _fail(error)
