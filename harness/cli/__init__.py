"""The ``xharness`` command. Heavy libraries are imported only inside ``run``."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click

import harness
from harness.contract.errors import UnknownNameError, UserError
from harness.compute.speed import help_text as speed_help


def _registry():
    from harness.contract.discovery import discover

    return discover()


def _show_plugin(registry, name: str, as_json: bool, verbose: bool) -> None:
    """`xharness list --plugin NAME`: one plugin's provisions, status, notes and (verbose) traceback."""
    info = registry.plugins.get(name)
    if info is None:
        _fail(UnknownNameError("plugin", name, registry.plugins))
        return
    shown = {"name": info.name, "distribution": info.distribution, "version": info.version, "ok": info.ok,
             "error": info.error, "provides": info.provides, "clashes": info.clashes, "notes": info.unavailable}
    if verbose:
        shown["traceback"] = info.details
    if as_json:
        click.echo(json.dumps(shown, indent=2))
        return
    click.echo(f"plugin {info.name} ({info.distribution or 'not installed as a distribution'} "
               f"{info.version or ''})".replace(" )", ")"))
    click.echo(f"status: {'ok' if info.ok else 'failed: ' + str(info.error)}")
    for entry in info.provides:
        what, _, provided = entry.partition(":")
        clash = " (name clash: unavailable)" if entry in info.clashes else ""
        click.echo(f"  {what}: {provided}{clash}")
    for note in info.unavailable:
        click.echo(f"  note: {note}")
    if verbose and info.details:
        click.echo(info.details.rstrip())
    elif info.details:
        click.echo("(--verbose shows the full traceback)")


def _console():
    """A rich console; piped output gets 160 columns rather than being squeezed into 80."""
    from rich.console import Console

    console = Console(highlight=False)
    return console if console.is_terminal else Console(highlight=False, width=160)


def _fail(error: UserError) -> None:
    click.echo(f"error: {error}", err=True)
    sys.exit(error.exit_code)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(harness.__version__, prog_name="xharness")
def cli() -> None:
    """Intermediate-task training and zero-shot cross-lingual transfer on XTREME.

    Tasks, backbones and studies come from plugins (entry-point group "xharness");
    `xharness list` shows what is installed.
    """


@cli.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON instead of tables.")
@click.option("--plugin", "plugin_name", default=None,
              help="Show only what this plugin provides, its version, status and notes.")
@click.option("--verbose", is_flag=True, help="With --plugin: a failed plugin's full traceback.")
def list_command(as_json: bool, plugin_name: str | None, verbose: bool) -> None:
    """Show the installed tasks, models and plugins (with any plugin load errors)."""
    registry = _registry()
    if plugin_name is not None:
        _show_plugin(registry, plugin_name, as_json, verbose)
        return
    tasks = []
    for role, table in registry.tasks.items():
        for name, item in sorted(table.items()):
            spec = item.spec
            tasks.append({"name": name, "role": role, "kind": spec.kind, "granularity": spec.granularity,
                          "languages": list(spec.languages),
                          "extra_languages": [x for x in spec.all_languages if x not in spec.languages],
                          "metric": spec.metric, "plugin": item.plugin, "plugin_version": item.plugin_version,
                          "description": spec.description})
    kinds = [{"name": name, "plugin": item.plugin, "trained": item.spec.trained, "pooled_test": item.spec.pooled_test,
              "settings": dict(item.spec.settings), "load": item.spec.load, "description": item.spec.description}
             for name, item in sorted(registry.kinds.items())]
    models = [{"name": name, "source": "hub" if item.spec.hub_id else "built", "hub_id": item.spec.hub_id,
               "plugin": item.plugin, "plugin_version": item.plugin_version, "description": item.spec.description}
              for name, item in sorted(registry.models.items())]
    plugins = [{"name": p.name, "distribution": p.distribution, "version": p.version, "ok": p.ok,
                "error": p.error, "provides": p.provides, "note": p.note} for p in registry.plugins.values()]
    conflicts = registry.conflict_list()
    boards = [{"name": name, "description": item.spec.description, "plugin": item.plugin,
               "tasks": {t.name: {"metric": t.metric, "group": t.group, "languages": len(t.languages)}
                         for t in item.spec.tasks}}
              for name, item in sorted(registry.leaderboards.items())]
    if as_json:
        click.echo(json.dumps({"tasks": tasks, "kinds": kinds, "models": models, "leaderboards": boards,
                               "plugins": plugins, "conflicts": conflicts}, indent=2))
        return
    from rich.table import Table

    console = _console()
    table = Table(title="Tasks", title_justify="left")
    for column in ("name", "role", "kind", "granularity", "languages", "metric", "plugin"):
        table.add_column(column)
    for t in tasks:
        codes = t["languages"]
        langs = f"{len(codes)}: {' '.join(codes)}" if len(codes) <= 8 else f"{len(codes)}: {' '.join(codes[:6])} …"
        if t["extra_languages"]:
            langs += f" (+{len(t['extra_languages'])} on request: {' '.join(t['extra_languages'])})"
        table.add_row(t["name"], t["role"], t["kind"], t["granularity"] or "-", langs, t["metric"], t["plugin"])
    console.print(table)
    table = Table(title="Task kinds", title_justify="left")
    for column in ("name", "phase 3", "settings (--setting NAME=VALUE)", "plugin"):
        table.add_column(column)
    for k in kinds:
        shown = ", ".join(f"{name}={value}" for name, value in k["settings"].items()) or "-"
        table.add_row(k["name"], "trains" if k["trained"] else "embeds only", shown, k["plugin"])
    console.print(table)
    table = Table(title="Models", title_justify="left")
    for column in ("name", "source", "plugin", "description"):
        table.add_column(column)
    for m in models:
        table.add_row(m["name"], m["hub_id"] or "built locally", m["plugin"], m["description"])
    console.print(table)
    if boards:
        table = Table(title="Leaderboards (xharness score)", title_justify="left")
        for column in ("name", "tasks (metric, languages)", "plugin"):
            table.add_column(column)
        for b in boards:
            listed = ", ".join(f"{n} ({t['metric']}, {t['languages']} languages)" for n, t in b["tasks"].items())
            table.add_row(b["name"], listed, b["plugin"])
        console.print(table)
    table = Table(title="Plugins", title_justify="left")
    for column in ("name", "distribution", "version", "status"):
        table.add_column(column)
    for p in plugins:
        status = "[green]ok[/]" if p["ok"] else f"[red]failed: {p['error']}[/]"
        if p["ok"] and p["note"]:
            status += f" [yellow]({p['note']})[/]"
        table.add_row(p["name"], p["distribution"] or "-", p["version"] or "-", status)
    console.print(table)
    if conflicts:
        table = Table(title="Conflicts", title_justify="left")
        for column in ("name", "what", "registered by"):
            table.add_column(column)
        for c in conflicts:
            table.add_row(c["name"], c["what"], ", ".join(c["plugins"]))
        console.print(table)
        console.print("Each name above is unavailable until only one of its plugins is loaded: "
                      "set XHARNESS_PLUGINS=a,b,... to the plugins to load.")
    if not plugins:
        console.print("No plugins loaded (is XHARNESS_DISABLE_PLUGIN_AUTOLOAD set?).")


#: Options of every cell, shared by `run` and `sweep` (each applies to every cell of a sweep).
CELL_OPTIONS = [
    click.option("--output", default="xharness-runs", show_default=True,
                 type=click.Path(file_okay=False, path_type=Path),
        help="Folder for phase checkpoints and run results."),
    click.option("--data-dir", default=None, type=click.Path(path_type=Path),
        help="Read task data from local files in their original layout instead of the hub."),
    click.option("--preset", default=None, help="'smoke': tiny model, bundled samples, a few dozen steps."),
    click.option("--languages", default=None,
        help="Comma-separated languages of the target (its own by default; a benchmark's added languages too), "
                   "or a leaderboard name for that benchmark's set, e.g. xtreme-r."),
    click.option("--lr", type=float, default=None, help="Learning rate [default: 1e-5]."),
    click.option("--batch-size", type=int, default=None, help="Effective batch size [default: per task, 32]."),
    click.option("--per-device-batch-size", type=int, default=None,
        help="Largest batch per device; the rest is gradient accumulation [default: 32]."),
    click.option("--max-length", type=int, default=None, help="Maximum tokens per input [default: 256]."),
    click.option("--weight-decay", type=float, default=None, help="AdamW weight decay [default: 0.01]."),
    click.option("--warmup-ratio", type=float, default=None, help="Fraction of steps for linear warm-up [default: 0.1]."),
    click.option("--inter-epochs", type=float, default=None, help="Epochs of intermediate training [default: 3]."),
    click.option("--target-epochs", type=float, default=None, help="Epochs of target training [default: per task]."),
    click.option("--sampling", default=None,
        help="Several --inter tasks: draw batches 'proportional' to task size, by 'temperature', or "
                   "'uniform' [default: proportional]."),
    click.option("--temperature", type=float, default=None, help="Temperature for --sampling temperature [default: 2]."),
    click.option("--max-examples-per-task", type=int, default=None,
        help="Cap on a task's size when weighting the sampler [default: none]."),
    click.option("--validation-examples", type=int, default=None,
        help="Several --inter tasks: dev examples per task used to pick the best state [default: 500]."),
    click.option("--mlm", default=None,
        help="Continue masked-LM training on this multilingual corpus during intermediate training: a text "
                   "file or folder of .txt files (a sentence or document a line), or a hub dataset name[:config]."),
    click.option("--mlm-weight", type=float, default=None, help="Share of batches given to --mlm [default: 0.25]."),
    click.option("--translated", default=None,
        help="Train the intermediate task(s) on machine-translated data in this language, or on the union "
                   "of several (comma-separated; 'en' adds the English original), or 'all' (each task's own "
                   "translations) (MNLI: XNLI-MT; SQuAD: translate-train); model selection stays on English dev."),
    click.option("--select-on", default=None,
        help="Which dev data picks the fine-tuned target state: 'en' (the training language, the paper's "
                   "protocol), 'target' (mean over the target languages' dev sets, as in Keung et al., 2020) or "
                   "'both' (one training, both selections and their test scores recorded; headline en) "
                   "[default: en]. For targets with dev data in their target languages (pawsx, xnli, udpos, panx, "
                   "mlqa from local files, xcopa)."),
    click.option("--retrieval-layer", type=int, default=None,
        help="Retrieval targets: hidden layer to pool [default: 14 of 24, same relative depth otherwise]."),
    click.option("--pooling", default=None, help="Retrieval targets: 'mean' over tokens or 'cls' [default: mean]."),
    click.option("--setting", multiple=True, metavar="NAME=VALUE",
        help="A setting of the task kind's own (repeatable), e.g. --setting query_max_length=64 for dual-encoder "
                   "targets; `xharness list` shows each kind's settings and defaults."),
    click.option("--data-revision", multiple=True, metavar="NAME=COMMIT",
        help="Read a hub dataset at another commit than the one its task pins (repeatable): TASK=COMMIT for "
                   "the task's own dataset (e.g. xnli=<40-hex commit>), DATASET=COMMIT for every source reading "
                   "that hub dataset (e.g. rajpurkar/squad=<commit>); a branch name is resolved to its commit. "
                   "Recorded in results.json and part of the keys."),
    click.option("--speed", multiple=True, metavar="NAME=VALUE",
        help="How a cell is computed (repeatable; recorded in results.json as environment.speed, never part of a "
             "key, so a finished cell is reused whatever these say; bf16 and fp32 results differ by more than "
             "rounding): " + speed_help() + "."),
    click.option("--checkpoint-minutes", type=click.FloatRange(min=0), default=30.0, show_default=True,
        help="Save the full training state at least this often (and after every epoch); a rerun resumes "
                   "from it. 0: after every update."),
    click.option("--keep-checkpoints", is_flag=True, help="Keep training checkpoints after a phase is finished."),
    click.option("--no-wait", is_flag=True,
        help="If another process is computing a phase this run needs, exit (code 3) instead of waiting."),
]


def cell_options(command):
    for option in reversed(CELL_OPTIONS):
        command = option(command)
    return command


@cli.command("run")
@click.option("--inter", required=True,
              help="Intermediate task; several joined by commas (one encoder, one head each); 'all'; or 'none' "
                   "for the no-intermediate baseline.")
@click.option("--target", required=True, help="Target task (fine-tuned in English, evaluated zero-shot).")
@click.option("--model", default=None, help="Registered model name, Hugging Face id or local model folder "
              "[default: xlm-roberta-large; tiny with --preset smoke].")
@click.option("--seed", default=42, show_default=True, type=int, help="Random seed.")
@cell_options
def run_command(inter, target, model, seed, output, data_dir, preset, languages, checkpoint_minutes,
                keep_checkpoints, no_wait, **overrides) -> None:
    """Train on an intermediate task, fine-tune on a target task, evaluate on every language.

    Example: xharness run --inter hellaswag --target pawsx --preset smoke
    """
    from harness.common.interrupt import Interrupted, stop_cleanly
    from harness.cell.protocol import RunRequest, execute, plan_run

    began = time.perf_counter()
    request = RunRequest(inter=inter, target=target, model=model, seed=seed, output=output, data_dir=data_dir,
                         preset=preset, languages=[x.strip() for x in languages.split(",")] if languages else None,
                         overrides=overrides, checkpoint_minutes=checkpoint_minutes,
                         keep_checkpoints=keep_checkpoints, wait=not no_wait)
    try:
        with stop_cleanly():
            plan = plan_run(request, _registry())
            results_path, record = execute(plan)
    except UserError as error:
        _fail(error)
        return
    except Interrupted as stop:
        _stopped(stop)
        return
    _print_results(results_path, record, time.perf_counter() - began)



@cli.command("sweep")
@click.argument("grid_file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--inter", default=None,
              help="Rows: intermediate tasks, comma-separated; 'none' is the baseline, 'all' every task "
                   "together, a+b a multi-task row.")
@click.option("--target", default=None, help="Columns: target tasks, comma-separated.")
@click.option("--seeds", default=None, help="Seeds, comma-separated [default: 42].")
@click.option("--models", default=None, help="Backbones, comma-separated [default: xlm-roberta-large; tiny with "
              "--preset smoke].")
@cell_options
@click.option("--dry-run", is_flag=True, help="Print the plan (cells, trainings needed, done, running, missing) "
              "and stop.")
@click.option("--status", "status_only", is_flag=True,
              help="List every cell of the grid as done, running (where), failed or missing. With only --output "
                   "DIR, the grid of the last sweep there.")
@click.option("--launcher", type=click.Choice(["local", "slurm"]), default="local", show_default=True,
              help="local: this machine; slurm: one job array through submitit.")
@click.option("--devices", default=None,
              help="local launcher: one worker per device (e.g. 0,1,2,3 for four GPUs), each taking the next "
                   "missing cell.")
@click.option("--partition", default=None, help="slurm: partition.")
@click.option("--time-limit", type=int, default=24 * 60, show_default=True, help="slurm: minutes per job.")
@click.option("--gpus-per-job", type=int, default=1, show_default=True, help="slurm: GPUs per job.")
@click.option("--account", default=None, help="slurm: account to charge.")
@click.option("--worker-name", default=None, hidden=True)
def sweep_command(grid_file, inter, target, seeds, models, output, data_dir, preset, languages, checkpoint_minutes,
                  keep_checkpoints, no_wait, dry_run, status_only, launcher, devices, partition, time_limit,
                  gpus_per_job, account, worker_name, **overrides) -> None:
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
                          checkpoint_minutes, keep_checkpoints, overrides, status_only)
        with stop_cleanly():
            registry = _registry()
            if worker_name is not None:  # a worker spawned by --devices: run cells, no plan, no summary
                sweep.work(grid, registry, log=lambda m: click.echo(m, err=True), worker=f"({worker_name}) ")
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
               checkpoint_minutes, keep_checkpoints, overrides, status_only):
    """The grid from a TOML (or saved JSON) file and/or the options; options given explicitly win."""
    from click.core import ParameterSource

    from harness.grids.sweep import Grid, GridFileError, check_grid_values, load_toml, split_list

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
             "checkpoint_minutes", "keep_checkpoints"}
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
                keep_checkpoints=bool(values["keep_checkpoints"]))


def _save_grid(grid) -> Path:
    from dataclasses import asdict

    from harness.common.fsutil import atomic_write_json

    from harness.store.runstore import RunStore

    path = Path(grid.output).expanduser() / "sweeps" / f"{grid.ident}.grid.json"
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
    click.echo(f"plan: {counts['cells']} cells ({len(grid.inter)} intermediate × {len(grid.target)} target × "
               f"{len(grid.seeds)} seeds × {len(grid.models)} models): {counts['done']} done, "
               f"{counts['running']} running elsewhere, {counts['failed']} failed before, "
               f"{counts['missing']} missing" + (f", {counts['invalid']} invalid (below)" if counts["invalid"] else ""),
               err=True)
    click.echo(f"plan: intermediate trainings {counts['intermediate_to_train']} to do of "
               f"{counts['intermediate_trainings']} ({counts['intermediate_done']} done); target trainings "
               f"{counts['target_to_train']} to do of {counts['target_trainings']}", err=True)


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
    """One line on a stop signal: what stays on disk and how to go on (exit codes: README)."""
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


@cli.command("score")
@click.option("--predictions", required=True, type=click.Path(path_type=Path),
              help="Folder with one sub-folder per task holding test-<lang>.<ext> prediction files.")
@click.option("--labels", required=True, type=click.Path(path_type=Path), help="Folder of gold labels, same layout.")
@click.option("--leaderboard", "board_name", default=None,
              help="Which registered leaderboard's format and metrics (xtreme, xtreme-r, …) [default: the one "
                   "installed, or the one that scores the most task folders found].")
@click.option("--json", "as_json", is_flag=True, help="Print the scores as JSON, keyed as XTREME's evaluate.py keys them.")
def score_command(predictions: Path, labels: Path, board_name: str | None, as_json: bool) -> None:
    """Score leaderboard-format predictions against labels (no GPU, no model needed).

    Tasks are the sub-folders present in both folders; per-language scores, task averages,
    group averages and the overall score are in percent.
    """
    from harness.common.fsutil import check_path_names
    from harness.analysis.scoring import score_folders

    registry = _registry()
    try:
        check_path_names("--predictions", predictions)
        check_path_names("--labels", labels)
        if board_name is None:
            board_name = _guess_leaderboard(registry, predictions, labels)
        board = registry.leaderboard(board_name).spec
        scores = score_folders(board, predictions, labels)
    except UserError as error:
        _fail(error)
        return
    if as_json:
        click.echo(json.dumps(scores, indent=2))
        return
    _print_scores(board, scores)


def _print_scores(board, scores: dict) -> None:
    from rich.table import Table

    console = _console()
    for task in board.tasks:
        if task.name not in scores:
            continue
        result = scores[task.name]
        metric_names = [m for m in result if not m.startswith("avg_")]
        groups = ", ".join(task.group_names) or "no group"
        table = Table(title=f"{task.name} ({groups})", title_justify="left")
        table.add_column("language")
        for metric in metric_names:
            table.add_column(metric, justify="right")
        for lang in task.languages:
            table.add_row(lang, *(f"{result[m][lang]:.2f}" for m in metric_names))
        table.add_row("average", *(f"{result['avg_' + m]:.2f}" for m in metric_names), end_section=True)
        console.print(table)
        console.print(f"{task.name} score: {result['avg_metric']:.2f}")
    summary = Table(title=f"{board.name} summary", title_justify="left")
    summary.add_column("task or group")
    summary.add_column("score", justify="right")
    for name, value in scores.items():
        summary.add_row(name, f"{value['avg_metric'] if isinstance(value, dict) else value:.2f}")
    console.print(summary)
    if board.overall_note:
        console.print(f"all_task: {board.overall_note}", soft_wrap=True)


def _guess_leaderboard(registry, predictions: Path, labels: Path) -> str:
    """The installed leaderboard that scores the most of the task folders found in both folders
    (XTREME's mock data also holds a mewslix folder, which XTREME's evaluate.py ignores too); among
    equals, the ones whose files for those tasks are all there; among those, the first by name,
    said on stderr."""
    names = sorted({*registry.leaderboards, *registry.conflicts["leaderboard"]})
    if len(names) == 1:
        return names[0]
    present = set()
    if predictions.is_dir() and labels.is_dir():
        present = {p.name for p in predictions.iterdir() if p.is_dir() and (labels / p.name).is_dir()}

    def complete(board) -> bool:
        return all((folder / t.name / f"test-{lang}.{t.extension}").is_file()
                   for t in board.tasks if t.name in present for lang in t.languages
                   for folder in (predictions, labels))

    covered = {name: len(present & {t.name for t in item.spec.tasks}) for name, item in registry.leaderboards.items()}
    best = max(covered.values(), default=0)
    if not best:
        raise UserError("pass --leaderboard NAME (no task folder of an installed leaderboard is in both folders); "
                        "installed: " + (", ".join(names) or "none (see `xharness list`)"))
    fitting = sorted(name for name, count in covered.items() if count == best)
    whole = [name for name in fitting if complete(registry.leaderboards[name].spec)] or fitting
    if len(whole) > 1:
        click.echo(f"note: scoring as leaderboard {whole[0]} (also fits: {', '.join(whole[1:])}); "
                   f"choose with --leaderboard", err=True)
    return whole[0]


def _print_results(results_path: Path, record: dict, seconds: float) -> None:
    from accelerate.state import PartialState

    if not PartialState().is_main_process:
        return
    from rich.console import Console

    from harness.cell.record import render_table, table_heading

    console = Console(highlight=False)
    console.print(table_heading(record), soft_wrap=True)
    console.print(render_table(record))
    console.print(f"results: {results_path}  ({seconds:.1f} s)", soft_wrap=True)


@cli.command("report")
@click.argument("folders", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--target", default=None, help="Drill down into one target task: its languages across.")
@click.option("--model", default=None, help="Only this backbone [default: one table per backbone].")
@click.option("--delta/--absolute", "delta", default=None,
              help="Δ against the 'none' row of the same backbone and seeds, or plain scores "
                   "[default: Δ where a 'none' row exists].")
@click.option("--bootstrap", "resamples", type=click.IntRange(min=0), default=1000, show_default=True,
              help="Paired-bootstrap resamples for significance (0: no test).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the bootstrap (a report is reproducible).")
@click.option("--format", "fmt", type=click.Choice(["table", "markdown", "latex", "csv", "json"]), default="table",
              show_default=True, help="table: rich terminal table.")
@click.option("--compare", default=None,
              help="A reference shown beside the table: a report JSON file, or 'xlmr-large' (published XTREME "
                   "figures of XLM-R Large, Hu et al. 2020).")
@click.option("--plot", "plot_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write a heatmap of the task matrix, Δ in Δ mode (.png, .pdf or .svg).")
@click.option("--plot-languages", "plot_languages", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write a per-language heatmap of --target.")
def report_command(folders, target, model, delta, resamples, seed, fmt, compare, plot_file, plot_languages) -> None:
    """Tables of finished runs: intermediate tasks down, target tasks across, mean ± std over seeds.

    Reads results.json (and per-example outcomes for the paired bootstrap) under FOLDERS: stores,
    their runs/ folders or single run folders; no model is loaded. Runs whose settings differ
    (hyperparameters, data, preset, core version) are refused, never mixed.

    Example: xharness report xharness-runs --format markdown --compare xlmr-large
    """
    from harness.analysis import report

    mode = None if delta is None else ("delta" if delta else "absolute")
    try:
        if plot_languages is not None and target is None:
            raise UserError("--plot-languages draws one task's languages: give it with --target TASK")
        runs, skipped = report.collect(folders)
        built = report.build(runs, model=model, target=target, mode=mode, resamples=resamples, seed=seed,
                             skipped=skipped)
        if compare is not None:
            report.attach_reference(built, report.load_reference(compare))
        figures = []
        if plot_file is not None:  # the task matrix, even when the text report drills into --target
            figures.append((plot_file, built if target is None else report.build(
                runs, model=model, mode=mode, resamples=resamples, seed=seed)))
        if plot_languages is not None:
            figures.append((plot_languages, built))
        for path, shown in figures:
            if len(shown.tables) > 1:
                raise UserError(f"a figure shows one backbone; pick it with --model "
                                f"({', '.join(t.model for t in shown.tables)})")
            report.plot(shown.tables[0], path)
            click.echo(f"figure: {path}", err=True)
    except UserError as error:
        _fail(error)
        return
    text = report.render(built, fmt)
    if text is not None:
        click.echo(text, nl=False)


@cli.command("verify")
@click.argument("store", required=False, type=click.Path(file_okay=False, path_type=Path), default=Path("xharness-runs"))
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON.")
def verify_command(store: Path, as_json: bool) -> None:
    """Recheck every digest and manifest of a run store; exit 1 if anything is damaged or foreign.

    Every finished phase, checkpoint and feature cache entry is read again and compared with the
    sizes and SHA-256 digests recorded when it was written; records must parse as JSON. Each
    damaged entry (missing, truncated, edited, corrupted) and each foreign one (a symbolic link,
    a file its manifest does not list, an old pickle entry, a name xharness never writes) is named
    with the reason. Temporary files of stopped processes are listed, not counted as faults.
    Nothing is loaded in a way that can run code. STORE defaults to ./xharness-runs.

    Example: xharness verify /shared/lab/xharness-runs
    """
    from harness.common.progress import Reporter
    from harness.store.verify import count_entries, describe, verify

    if not store.is_dir():
        _fail(UserError(f"{store} is not a folder: give the --output folder of your runs"))
        return
    reporter = Reporter()
    with reporter.task(f"verifying {store}", total=count_entries(store)) as advance:
        verdict = verify(store, advance=advance)
    if as_json:
        click.echo(json.dumps({"store": str(verdict.root), "checked": verdict.checked, "failed": verdict.failed,
                               "findings": [{"status": f.status, "path": str(f.path), "why": f.why}
                                            for f in verdict.findings]}, indent=2))
    else:
        for finding in verdict.findings:
            click.echo(f"{finding.status:<9} {finding.path}: {finding.why}")
        click.echo(describe(verdict))
    sys.exit(1 if verdict.failed else 0)


def main() -> None:
    cli()


@cli.group("study")
def study_group() -> None:
    """Research questions as recipes: each plans its grid, runs what is missing through the sweep
    machinery, and writes study.json, study.md and figures (see `xharness study list`)."""


@study_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON instead of a table.")
def study_list_command(as_json: bool) -> None:
    """Show the installed studies and the question each answers."""
    registry = _registry()
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
@click.option("--launcher", type=click.Choice(["local", "slurm"]), default="local", show_default=True,
              help="local: this machine; slurm: job arrays through submitit (then `xharness study analyse`).")
@click.option("--devices", default=None, help="local launcher: one worker per device (e.g. 0,1,2,3).")
@click.option("--partition", default=None, help="slurm: partition.")
@click.option("--time-limit", type=int, default=24 * 60, show_default=True, help="slurm: minutes per job.")
@click.option("--gpus-per-job", type=int, default=1, show_default=True, help="slurm: GPUs per job.")
@click.option("--account", default=None, help="slurm: account to charge.")
def study_run_command(name, models, seeds, preset, output, data_dir, checkpoint_minutes, dry_run, launcher, devices,
                      partition, time_limit, gpus_per_job, account) -> None:
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
            registry = _registry()
            recipe, grids = study.plan(name, options, registry)
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
                if launcher == "slurm":
                    missing = [c for c in sweep.plan_grid(grid, registry) if c.status in ("missing", "failed")]
                    executor = sweep.slurm_executor(sweep.slurm_folder(grid.output), partition=partition,
                                                    time_minutes=time_limit, gpus=gpus_per_job, account=account,
                                                    parallelism=None)
                    jobs = sweep.submit(missing, executor) if missing else []
                    log(f"submitted {len(jobs)} cells to Slurm; when they have finished: "
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
                log(f"study {name}: {failed} cells failed; the analysis uses the cells that finished")
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
        registry = _registry()
        options, grids = study.load_plan(name, output)
        study.analyse(name, options, grids, registry, log=lambda message: click.echo(message, err=True))
    except UserError as error:
        _fail(error)


def _template_kinds() -> tuple[str, ...]:
    from harness.authoring.scaffold import template_kinds

    return template_kinds()


@cli.command("new-plugin")
@click.argument("name")
@click.option("--task", "role", type=click.Choice(["target", "intermediate"]), default="target", show_default=True,
              help="Whether the task is a target (phase 3, zero-shot in every language) or an English "
                   "intermediate task (phase 2).")
@click.option("--kind", default="classification", show_default=True,
              help=f"Task kind of the template: {', '.join(_template_kinds())}.")
@click.option("--package", type=click.Choice(["task", "kind", "model"]), default="task", show_default=True,
              help="What the package adds: a task (of --kind); a task kind of its own (a KindSpec and its "
                   "object in kind.py) with a target task that uses it; or a backbone alias alone.")
@click.option("--model", "with_model", is_flag=True, help="Add a backbone alias (a ModelSpec with a hub id to edit).")
@click.option("--study", "with_study", is_flag=True, help="Add a minimal study that runs the task.")
@click.option("--output", type=click.Path(file_okay=False, path_type=Path), default=Path("."), show_default=True,
              help="Folder to write the package NAME into.")
def new_plugin_command(name: str, role: str, kind: str, package: str, with_model: bool, with_study: bool,
                       output: Path) -> None:
    """Write a new plugin package NAME (task, reader, samples, README, tests), ready for `pip install -e`.

    NAME is the distribution and entry-point name; `xharness-mytask` makes module `xharness_mytask`
    and task `mytask`.

    Examples: xharness new-plugin xharness-mytask --kind tagging --model;
    xharness new-plugin xharness-mykind --package kind; xharness new-plugin xharness-mymodel --package model
    """
    from harness.authoring import scaffold

    try:
        folder = scaffold.new_plugin(name, output, role=role, kind=kind, model=with_model, study=with_study,
                                     package=package)
    except UserError as error:
        _fail(error)
        return
    names = scaffold.names_for(name)
    if package == "model":
        click.echo(f"wrote plugin {name} (module {names.module}, model {names.model!r}) in {folder}")
        click.echo("next steps (see its README.md):")
        click.echo(f"  pip install -e {folder}")
        click.echo("  xharness list")
        click.echo(f"  python -m pytest {folder / 'tests'}")
        return
    if package == "kind":
        role, kind = "target", f"{names.task}_kind"
    run = (f"xharness run --inter none --target {names.task} --preset smoke" if role == "target"
           else f"xharness run --inter {names.task} --target pawsx --preset smoke")
    click.echo(f"wrote plugin {name} (module {names.module}, {role} task {names.task!r}, kind {kind}) in {folder}")
    click.echo("next steps (see its README.md):")
    click.echo(f"  pip install -e {folder}")
    click.echo("  xharness list")
    click.echo(f"  {run}")
    click.echo(f"  python -m pytest {folder / 'tests'}")


@cli.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Print the plugins as JSON.")
def plugins_command(as_json: bool) -> None:
    """List the plugins installed in xharness's own environment: name, distribution, version, status
    and what each provides (`xharness list --plugin NAME` shows one in full).

    Example: xharness plugins
    """
    registry = _registry()
    rows = [{"name": p.name, "distribution": p.distribution, "version": p.version, "ok": p.ok,
             "error": p.error, "provides": list(p.provides)} for p in registry.plugins.values()]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    from tabulate import tabulate

    click.echo(tabulate([(r["name"], r["distribution"] or "-", r["version"] or "-",
                          "ok" if r["ok"] else f"failed: {r['error']}", len(r["provides"])) for r in rows],
                        headers=["plugin", "distribution", "version", "status", "provides"]))


@cli.command("install", context_settings={"ignore_unknown_options": True})
@click.argument("pip_args", nargs=-1, required=True, type=click.UNPROCESSED)
def install_command(pip_args: tuple[str, ...]) -> None:
    """Install plugin packages into the environment xharness runs in (`pip install PIP_ARGS` with
    this Python), then say which plugins that added or changed.

    PIP_ARGS are pip's: a package name, a path, `-e PATH`, `--upgrade`, an index option.

    Example: xharness install xharness-americasnli    (or: xharness install -e ./my-plugin)
    """
    import subprocess

    before = {p.name: (p.version, p.ok) for p in _registry().plugins.values()}
    done = subprocess.run([sys.executable, "-m", "pip", "install", *pip_args])
    if done.returncode != 0:
        _fail(UserError(f"pip install {' '.join(pip_args)} failed (exit {done.returncode}, its output is above); "
                        f"nothing of xharness changed"))
    # a fresh process sees the new entry points (this one's importlib metadata is already read)
    listed = subprocess.run([sys.executable, "-m", "harness", "plugins", "--json"], capture_output=True, text=True)
    if listed.returncode != 0:
        _fail(UserError(f"installed, but listing the plugins then failed: {(listed.stderr.strip().splitlines() or ['?'])[-1]}"
                        f"; `xharness list` shows which plugin breaks"))
    after = {p["name"]: p for p in json.loads(listed.stdout)}
    changed = [p for name, p in after.items() if before.get(name) != (p["version"], p["ok"])]
    if not changed:
        click.echo("installed; no plugin was added or changed (`xharness plugins` lists them)")
    for p in changed:
        state = "ok" if p["ok"] else f"failed: {p['error']}"
        click.echo(f"plugin {p['name']} ({p['distribution'] or '-'} {p['version'] or ''}): {state}; provides "
                   f"{', '.join(p['provides']) or 'nothing'}")


@cli.group("data")
def data_group() -> None:
    """Check the data tasks read against what their benchmarks published."""


@data_group.command("check")
@click.argument("tasks", nargs=-1)
@click.option("--languages", "languages", default=None, metavar="LANGS",
              help="Comma-separated languages to check (default: every language of each task).")
@click.option("--no-count", "no_count", is_flag=True,
              help="Use only the dataset cards' row counts; never download a split to count its rows.")
@click.option("--pins", "pins", is_flag=True,
              help="Instead, print the commit each unpinned hub dataset's default branch has now, and whether "
                   "it can be pinned (no loading script), for a maintainer to pin.")
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON.")
def data_check_command(tasks: tuple[str, ...], languages: str | None, no_count: bool, pins: bool,
                       as_json: bool) -> None:
    """Compare each task's pinned hub data with the sizes its benchmark published; exit 1 on a mismatch.

    For every split and language a task reads from the Hugging Face hub, at the pinned commit: the
    split exists, the columns the task reads are there, class names are in the order the task maps
    ids by, and the row count equals the published one (each task cites where its counts come
    from). TASKS are task names (default: every task with a hub source). Needs the hub: reads the
    dataset cards and, where a card gives no count, downloads the split (--no-count skips that).

    Example: xharness data check pawsx udpos --languages en,de,el
    """
    from harness.data import hub
    from harness.data.check import check_task, checked_splits, hub_meta_reader
    from harness.common.progress import Reporter

    registry = _registry()
    chosen: dict[str, object] = {}
    for role in ("target", "intermediate"):
        for name, task in sorted(registry.tasks[role].items()):
            if task.spec.hub is not None and (not tasks or name in tasks):
                chosen.setdefault(name, task.spec)
    unknown = [name for name in tasks if name not in chosen]
    if unknown:
        known = sorted(n for table in registry.tasks.values() for n in table)
        without = [n for n in unknown if n in known]
        error = UserError(f"{', '.join(without)}: no hub source to check" if without and len(without) == len(unknown)
                          else f"unknown task {', '.join(n for n in unknown if n not in known)}: "
                               f"`xharness list` shows the tasks")
        error.exit_code = 2
        _fail(error)
    if not hub.hub_reachable():
        error = UserError("xharness data check reads dataset metadata from the Hugging Face hub, which is out of "
                          "reach here (offline, or HF_HUB_OFFLINE is set): run it on a machine with hub access")
        error.exit_code = 2
        _fail(error)
    if pins:
        from huggingface_hub import HfApi

        from harness.data.check import pin_candidate, unpinned_paths

        api = HfApi()
        for path in unpinned_paths(chosen.values()):
            try:
                click.echo(pin_candidate(path, api.dataset_info(path, files_metadata=False, timeout=30)))
            except Exception as exc:  # gated, renamed, a network fault: said, and the next one is asked
                click.echo(f"{path}: could not ask the hub: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
        return
    wanted = [lang.strip() for lang in languages.split(",") if lang.strip()] if languages else None
    meta_of = hub_meta_reader(count_missing=not no_count)
    findings = []
    reporter = Reporter()
    for name, spec in chosen.items():
        langs = None if wanted is None else [lang for lang in wanted if lang in spec.all_languages]
        with reporter.task(f"checking {name}", total=len(checked_splits(spec, langs))) as advance:
            findings.extend(check_task(name, spec, meta_of, langs, advance=advance))
    _print_data_check(findings, as_json)
    sys.exit(1 if any(f.problems for f in findings) else 0)


def _print_data_check(findings, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps([{"task": f.task, "split": f.split, "language": f.lang, "status": f.status,
                                "rows": f.rows, "published": f.published, "cite": f.cite, "sources": f.sources,
                                "problems": f.problems} for f in findings], indent=2))
        return
    from tabulate import tabulate

    rows = [(f.task, f.split, f.lang, "?" if f.rows is None else f.rows, "" if f.published is None else f.published,
             f.status, "; ".join(f.problems) or ", ".join(f.sources)) for f in findings]
    click.echo(tabulate(rows, headers=["task", "split", "lang", "hub rows", "published", "status",
                                       "problems / sources"]))
    bad = sum(1 for f in findings if f.problems)
    unchecked = sum(1 for f in findings if f.published is None and not f.problems)
    click.echo(f"{len(findings)} splits checked: {bad} mismatched, {unchecked} without a published count")
