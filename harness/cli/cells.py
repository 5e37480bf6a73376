"""Cells: ``xharness run`` (one cell) and ``xharness sweep`` (a grid of them). Heavy libraries are imported only inside the commands."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click

from harness.contract.errors import UserError
from harness.cli import base
from harness.cli.base import cli, _console, _fail
from harness.tracking import tracker_names
from harness.cli.options import cell_options, launcher_options, tracker_option


def _print_results(results_path: Path, record: dict, seconds: float) -> None:
    from accelerate.state import PartialState

    if not PartialState().is_main_process:
        return
    from rich.console import Console

    from harness.cell.record import flag_lines, render_table, table_heading

    console = Console(highlight=False)
    console.print(table_heading(record), soft_wrap=True)
    console.print(render_table(record))
    flags = flag_lines(record)
    if flags:
        console.print("these scores say little about transfer (a model that has not learnt the task):", soft_wrap=True)
        for line in flags:
            console.print(f"  flag: {line}", soft_wrap=True)
    console.print(f"results: {results_path}  ({seconds:.1f} s)", soft_wrap=True)


@cli.command("run")
@click.option("--inter", required=True,
              help="Intermediate task; several joined by commas (one encoder, one head each); 'all'; or 'none' "
                   "for the no-intermediate baseline.")
@click.option("--target", required=True, help="Target task (fine-tuned in English, evaluated zero-shot).")
@click.option("--model", default=None, help="Registered model name, Hugging Face id or local model folder "
              "[default: xlm-roberta-large; tiny with --preset smoke].")
@click.option("--seed", default=42, show_default=True, type=int, help="Random seed.")
@click.option("--experiment", default=None, metavar="NAME",
              help="Group this run under experiment run:NAME in `xharness report` (never part of a key) "
                   "[default: run, with every other plain run of the --output folder].")
@tracker_option
@cell_options
def run_command(inter, target, model, seed, experiment, trackers, output, data_dir, preset, languages,
                checkpoint_minutes, keep_checkpoints, no_wait, **overrides) -> None:
    """Train on an intermediate task, fine-tune on a target task, evaluate on every language.

    Example: xharness run --inter hellaswag --target pawsx --preset smoke
    """
    from harness.common.interrupt import Interrupted, stop_cleanly
    from harness.cell.protocol import RunRequest, execute, plan_run

    from harness.store.experiments import for_run

    from harness.cell.transfer import describe, variants

    try:
        # --transfer, --shots and --shot-seeds lists: a cell each, run one after the other
        cells = variants(overrides)
        requests = [RunRequest(inter=inter, target=target, model=model, seed=seed, output=output, data_dir=data_dir,
                               preset=preset, languages=[x.strip() for x in languages.split(",")] if languages else None,
                               overrides=cell, checkpoint_minutes=checkpoint_minutes,
                               keep_checkpoints=keep_checkpoints, wait=not no_wait,
                               experiment=for_run(experiment).label, trackers=tuple(tracker_names(trackers)))
                    for cell in cells]
        with stop_cleanly():
            registry = base._registry()
            plans = [plan_run(request, registry) for request in requests]  # every cell checked before any trains
            for number, plan in enumerate(plans, start=1):
                began = time.perf_counter()
                if len(plans) > 1:
                    click.echo(f"cell {number} of {len(plans)}: {describe(plan.transfer.as_setting(), draw=True)}",
                               err=True)
                results_path, record = execute(plan)
                _print_results(results_path, record, time.perf_counter() - began)
    except UserError as error:
        _fail(error)
        return
    except Interrupted as stop:
        _stopped(stop)
        return


@cli.command("sweep")
@click.argument("grid_file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--inter", default=None,
              help="Rows: intermediate tasks, comma-separated; 'none' is the baseline, 'all' every task "
                   "together, a+b a multi-task row.")
@click.option("--target", default=None, help="Columns: target tasks, comma-separated.")
@click.option("--seeds", default=None, help="Seeds, comma-separated [default: 42].")
@click.option("--models", default=None, help="Backbones, comma-separated [default: xlm-roberta-large; tiny with "
              "--preset smoke].")
@click.option("--experiment", default=None, metavar="NAME",
              help="Group the grid's runs under experiment sweep:NAME in `xharness report` (never part of a key) "
                   "[default: the grid file's name without its suffix, or sweep].")
@tracker_option
@cell_options
@click.option("--dry-run", is_flag=True, help="Print the plan (cells, trainings needed, done, running, missing) "
              "and stop.")
@click.option("--status", "status_only", is_flag=True,
              help="List every cell of the grid as done, running (where), failed or missing. With only --output "
                   "DIR, the grid of the last sweep there.")
@launcher_options
@click.option("--worker-name", default=None, hidden=True)
def sweep_command(grid_file, inter, target, seeds, models, experiment, trackers, output, data_dir, preset, languages,
                  checkpoint_minutes, keep_checkpoints, no_wait, dry_run, status_only, launcher, devices, partition,
                  time_limit, gpus_per_job, account, worker_name, **overrides) -> None:
    """Run a grid of cells: intermediate tasks × targets × seeds × models.

    Plans first and prints the plan, then runs only what is missing (each phase-2 encoder is
    trained once and reused by every target), keeps going when a cell fails, and ends with a
    summary. Running it again picks up where it stopped. The grid can also come from a TOML
    file: inter = ["hellaswag", "none"], target = ["pawsx"], seeds = [1, 2], models = [...],
    plus any run option by its long name.

    Example: xharness sweep --inter hellaswag,mnli,none --target pawsx,xnli --seeds 1,2 --preset smoke
    """
    from harness.common.interrupt import Interrupted, stop_cleanly
    from harness.grids import sweep
    from harness.store.runstore import RunStore

    given = click.get_current_context()
    try:
        grid = _grid_from(given, grid_file, inter, target, seeds, models, output, data_dir, preset, languages,
                          checkpoint_minutes, keep_checkpoints, overrides, status_only, experiment, trackers)
        with stop_cleanly():
            registry = base._registry()
            for name in grid.trackers:  # an unknown tracker is one line, not one per cell
                registry.tracker(name)
            if worker_name is not None:  # a worker spawned by --devices: run cells, no plan, no summary
                sweep.work(grid, registry, log=lambda m: click.echo(m, err=True), worker=f"({worker_name}) ",
                           track_done=False)
                return
            cells = sweep.plan_grid(grid, registry)
            counts = sweep.summarize(cells)
            if status_only:
                _print_status(cells, counts)
                sys.exit(0 if counts["done"] == counts["cells"] else 1)
            _print_plan(grid, counts)
            invalid = [c for c in cells if c.status == "invalid"]
            for cell in invalid:  # a dry run too: the plan is only good when every cell can run
                click.echo(f"error: {cell.label}: {cell.error}", err=True)
            if invalid:
                sys.exit(2)
            if dry_run:
                return
            if counts["done"] == counts["cells"] and RunStore(Path(grid.output)).unwritable() is not None:
                # a read-only store whose cells are all finished: nothing to write, nothing to refuse
                _print_summary(cells, {"outcome": {}, "seconds": None, "cleaned": []}, counts["done"])
                return
            grid_path = _save_grid(grid)
            if launcher == "slurm" or devices:  # cells done before: listed, and sent to trackers, here once
                sweep.record_members(grid, cells, lambda m: click.echo(m, err=True), track=True)
            if launcher == "slurm":
                missing = [c for c in cells if c.status in ("missing", "failed")]
                executor = sweep.slurm_executor(sweep.slurm_folder(grid.output), partition=partition,
                                                time_minutes=time_limit, gpus=gpus_per_job, account=account,
                                                parallelism=None)
                jobs = sweep.submit(missing, executor)
                click.echo(f"submitted {len(jobs)} cells as Slurm job array {jobs[0].job_id.split('_')[0] if jobs else '-'}; "
                           f"follow them with: xharness sweep --status --output {grid.output}")
                return
            reused = counts["done"]
            if devices:
                code = sweep.spawn_workers(grid_path, [d.strip() for d in devices.split(",") if d.strip()],
                                           log=lambda m: click.echo(m, err=True))
                result = {"seconds": None, "cleaned": [], "worker_exit": code}
            else:
                result = sweep.work(grid, registry, log=lambda m: click.echo(m, err=True))
    except UserError as error:
        _fail(error)
        return
    except Interrupted as stop:
        who = f"({worker_name}) " if worker_name else ""
        workers = f"{stop.workers} (each said above what it kept); " if stop.workers else ""
        click.echo(f"{who}sweep stopped by {stop.name}: {workers}finished cells and phases are kept"
                   f"{' and the running one checkpointed' if stop.checkpointed else ''}; run the same command "
                   f"again to continue", err=True)
        sys.exit(stop.exit_code)
    cells = sweep.plan_grid(grid, registry)
    failed = _print_summary(cells, result, reused)
    sys.exit(1 if failed or result.get("worker_exit") else 0)


def _grid_from(context, grid_file, inter, target, seeds, models, output, data_dir, preset, languages,
               checkpoint_minutes, keep_checkpoints, overrides, status_only, experiment=None, trackers=None):
    """The grid from a TOML (or saved JSON) file and/or the options; options given explicitly win."""
    from click.core import ParameterSource

    from harness.grids.sweep import Grid, GridFileError, check_grid_values, load_toml, split_list
    from harness.store.experiments import Experiment, for_sweep

    def explicit(name: str) -> bool:
        return context.get_parameter_source(name) == ParameterSource.COMMANDLINE

    values: dict = {}
    if grid_file is not None:
        if grid_file.suffix == ".json":
            try:
                values = json.loads(grid_file.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise GridFileError(f"grid file {grid_file} cannot be read ({exc})") from None
            if not isinstance(values, dict):
                raise GridFileError(f"grid file {grid_file} holds no grid (a JSON object with inter and target)")
        else:
            values = load_toml(grid_file)
    elif status_only and not (inter or target):
        values = _last_grid(Path(output))
    known = {"inter", "target", "seeds", "models", "output", "data_dir", "preset", "languages", "overrides",
             "checkpoint_minutes", "keep_checkpoints", "experiment", "tracker", "trackers"}
    for key in values:
        if key not in known and key not in overrides:
            raise GridFileError(f"grid file {grid_file}: unknown key {key!r} (use run options' long names)")
    check_grid_values(grid_file or Path(output) / "sweeps" / "last.json", values,
                      {p.name: p for p in context.command.params if p.name in overrides}, context)
    settings = dict(values.pop("overrides", {}) or {})
    for key in list(values):
        if key not in known:
            settings[key] = values.pop(key)
    settings.update({k: (list(v) if isinstance(v, tuple) else v) for k, v in overrides.items()
                     if v is not None and v != ()})
    for name, value in (("inter", inter), ("target", target), ("seeds", seeds), ("models", models)):
        if value is not None:
            values[name] = value
    for name, value in (("output", output), ("data_dir", data_dir), ("preset", preset), ("languages", languages),
                        ("checkpoint_minutes", checkpoint_minutes), ("keep_checkpoints", keep_checkpoints)):
        if explicit(name) or name not in values:
            values[name] = value
    # the experiment: --experiment, else what a grid file (or a saved grid) names, else the file's name
    if experiment is not None:
        label = for_sweep(grid_file, experiment).label
    elif isinstance(values.get("experiment"), str) and ":" in values["experiment"]:  # a saved grid's, as it was
        try:
            label = Experiment.parse(values["experiment"]).label
        except ValueError:
            raise GridFileError(f"grid file {grid_file}: experiment {values['experiment']!r} is not an experiment "
                                f"name (sweep:NAME)") from None
    else:
        label = for_sweep(grid_file, values.get("experiment")).label
    values["experiment"] = label
    chosen = trackers if trackers is not None else values.pop("tracker", None) or values.get("trackers")
    values.pop("tracker", None)
    values["trackers"] = tracker_names(chosen)
    if not split_list(values.get("inter")) or not split_list(values.get("target")):
        raise UserError("a sweep needs --inter and --target (comma-separated), or a grid file that names them")
    try:
        seeds_list = [int(x) for x in split_list(values.get("seeds"))] or [42]
    except ValueError:
        raise UserError("--seeds takes whole numbers, comma-separated (e.g. 1,2,3)") from None
    return Grid(inter=split_list(values["inter"]), target=split_list(values["target"]), seeds=seeds_list,
                models=split_list(values.get("models")) or [None], output=str(values["output"]),
                data_dir=str(values["data_dir"]) if values.get("data_dir") else None, preset=values.get("preset"),
                languages=split_list(values.get("languages")) or None, overrides=settings,
                checkpoint_minutes=float(values["checkpoint_minutes"]),
                keep_checkpoints=bool(values["keep_checkpoints"]), experiment=values["experiment"],
                trackers=values["trackers"])


def _save_grid(grid) -> Path:
    from dataclasses import asdict

    from harness.common.fsutil import atomic_write_json, stable_hash

    from harness.store.runstore import RunStore

    # the grid's identity, and under which experiment and trackers it runs: --devices workers read
    # this file, and two sweeps of one grid as different experiments must not share it
    path = (Path(grid.output).expanduser() / "sweeps"
            / f"{grid.ident}-{stable_hash([grid.experiment, grid.trackers], 6)}.grid.json")
    why = RunStore(Path(grid.output)).unwritable()
    if why is not None:
        raise UserError(f"--output {grid.output} cannot be written ({why}), and cells of this grid are not finished "
                        f"there; run the sweep with a writable --output (--status reads a read-only store)")
    atomic_write_json(path, asdict(grid))
    atomic_write_json(path.parent / "last.json", {"grid": path.name})
    return path


def _last_grid(output: Path) -> dict:
    pointer = output.expanduser() / "sweeps" / "last.json"
    try:
        name = json.loads(pointer.read_text(encoding="utf-8"))["grid"]
        return json.loads((pointer.parent / name).read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError):
        raise UserError(f"no sweep has run in {output}: give the grid (--inter/--target or a grid file)") from None


def _print_plan(grid, counts: dict) -> None:
    from harness.cell.transfer import variants

    settings = len(variants(grid.overrides))
    axes = f" × {settings} transfer settings" if settings > 1 else ""
    click.echo(f"plan: {counts['cells']} cells ({len(grid.inter)} intermediate × {len(grid.target)} target × "
               f"{len(grid.seeds)} seeds × {len(grid.models)} models{axes}): {counts['done']} done, "
               f"{counts['running']} running elsewhere, {counts['failed']} failed before, "
               f"{counts['missing']} missing" + (f", {counts['invalid']} invalid (below)" if counts["invalid"] else ""),
               err=True)
    click.echo(f"plan: intermediate trainings {counts['intermediate_to_train']} to do of "
               f"{counts['intermediate_trainings']} ({counts['intermediate_done']} done); target trainings "
               f"{counts['target_to_train']} to do of {counts['target_trainings']}", err=True)
    click.echo(f"plan: its runs are recorded as experiment {grid.experiment} (xharness report --experiment "
               f"{grid.experiment})", err=True)


def _print_status(cells, counts: dict) -> None:
    from rich.table import Table

    console = _console()
    table = Table(title="Cells", title_justify="left")
    for column in ("cell", "status", "where / error"):
        table.add_column(column)
    colours = {"done": "green", "running": "cyan", "failed": "red", "missing": "yellow", "invalid": "red"}
    for cell in cells:
        detail = cell.where or cell.error or ""
        table.add_row(cell.label, f"[{colours[cell.status]}]{cell.status}[/]", detail)
    console.print(table)
    invalid = f", {counts['invalid']} invalid" if counts["invalid"] else ""
    console.print(f"{counts['done']} done, {counts['running']} running, {counts['failed']} failed, "
                  f"{counts['missing']} missing{invalid} of {counts['cells']} cells")


def _print_summary(cells, result: dict, reused: int) -> int:
    done = sum(c.status == "done" for c in cells) - reused  # by this sweep and its workers
    failed = [c for c in cells if c.status == "failed"]
    click.echo(f"summary: {done} done now, {reused} reused (done before), {len(failed)} failed"
               + (f", in {result['seconds']:.0f} s" if result.get("seconds") else ""), err=True)
    for cell in failed:
        click.echo(f"  failed: {cell.label}: {cell.error} (log: {cell.log})", err=True)
    cleaned = result.get("cleaned") or []
    if cleaned:
        click.echo(f"  cleaned {len(cleaned)} temporary folder(s) left by stopped runs "
                   f"({sum(size for _, size in cleaned) / 2**20:.1f} MiB)", err=True)
    return len(failed)


def _stopped(stop) -> None:
    """One line on a stop signal: what stays on disk and how to go on (exit codes: docs/reliability.md)."""
    parts = ["kept " + "; ".join(stop.kept)] if stop.kept else []
    if stop.checkpointed:
        parts.append("the training state of the unfinished phase was checkpointed")
    elif stop.kept:
        parts.append("the unfinished phase goes on from its last checkpoint, if it had one")
    else:
        parts.append("no phase had finished")
    click.echo(f"stopped by {stop.name}: {'; '.join(parts)} (temporary files removed); run the same command "
               f"again to continue from there", err=True)
    sys.exit(stop.exit_code)
