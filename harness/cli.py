"""The ``xharness`` command. Heavy libraries are imported only inside ``run``."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click

import harness
from harness.errors import UserError


def _registry():
    from harness.plugins import discover

    return discover()


def _fail(error: UserError) -> None:
    click.echo(f"error: {error}", err=True)
    sys.exit(error.exit_code)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(harness.__version__, prog_name="xharness")
def cli() -> None:
    """Intermediate-task training and zero-shot cross-lingual transfer on XTREME.

    Tasks and backbones come from plugins (entry-point group "xharness");
    `xharness list` shows what is installed.
    """


@cli.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON instead of tables.")
def list_command(as_json: bool) -> None:
    """Show the installed tasks, models and plugins (with any plugin load errors)."""
    registry = _registry()
    tasks = []
    for role, table in registry.tasks.items():
        for name, item in sorted(table.items()):
            spec = item.spec
            tasks.append({"name": name, "role": role, "kind": spec.kind, "languages": list(spec.languages),
                          "metric": spec.metric, "plugin": item.plugin, "plugin_version": item.plugin_version,
                          "description": spec.description})
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
        click.echo(json.dumps({"tasks": tasks, "models": models, "leaderboards": boards, "plugins": plugins,
                               "conflicts": conflicts}, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    console = Console(highlight=False)
    if not console.is_terminal:
        console = Console(highlight=False, width=160)  # piped output: don't squeeze into 80 columns
    table = Table(title="Tasks", title_justify="left")
    for column in ("name", "role", "kind", "languages", "metric", "plugin"):
        table.add_column(column)
    for t in tasks:
        codes = t["languages"]
        langs = f"{len(codes)}: {' '.join(codes)}" if len(codes) <= 8 else f"{len(codes)}: {' '.join(codes[:6])} …"
        table.add_row(t["name"], t["role"], t["kind"], langs, t["metric"], t["plugin"])
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
            listed = ", ".join(f"{n} ({t['metric']}, {t['languages']})" for n, t in b["tasks"].items())
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


@cli.command("run")
@click.option("--inter", required=True,
              help="Intermediate task; several joined by commas (one encoder, one head each); 'all'; or 'none' "
                   "for the no-intermediate baseline.")
@click.option("--target", required=True, help="Target task (fine-tuned in English, evaluated zero-shot).")
@click.option("--model", default=None, help="Registered model name, Hugging Face id or local model folder "
              "[default: xlm-roberta-large; tiny with --preset smoke].")
@click.option("--seed", default=42, show_default=True, type=int, help="Random seed.")
@click.option("--output", default="xharness-runs", show_default=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for phase checkpoints and run results.")
@click.option("--data-dir", default=None, type=click.Path(path_type=Path),
              help="Read task data from local files in their original layout instead of the hub.")
@click.option("--preset", default=None, help="'smoke': tiny model, bundled samples, a few dozen steps.")
@click.option("--languages", default=None, help="Comma-separated subset of the target's languages.")
@click.option("--lr", type=float, default=None, help="Learning rate [default: 1e-5].")
@click.option("--batch-size", type=int, default=None, help="Effective batch size [default: per task, 32].")
@click.option("--per-device-batch-size", type=int, default=None,
              help="Largest batch per device; the rest is gradient accumulation [default: 32].")
@click.option("--max-length", type=int, default=None, help="Maximum tokens per input [default: 256].")
@click.option("--weight-decay", type=float, default=None, help="AdamW weight decay [default: 0.01].")
@click.option("--warmup-ratio", type=float, default=None, help="Fraction of steps for linear warm-up [default: 0.1].")
@click.option("--inter-epochs", type=float, default=None, help="Epochs of intermediate training [default: 3].")
@click.option("--target-epochs", type=float, default=None, help="Epochs of target training [default: per task].")
@click.option("--sampling", default=None,
              help="Several --inter tasks: draw batches 'proportional' to task size, by 'temperature', or "
                   "'uniform' [default: proportional].")
@click.option("--temperature", type=float, default=None, help="Temperature for --sampling temperature [default: 2].")
@click.option("--max-examples-per-task", type=int, default=None,
              help="Cap on a task's size when weighting the sampler [default: none].")
@click.option("--validation-examples", type=int, default=None,
              help="Several --inter tasks: dev examples per task used to pick the best state [default: 500].")
@click.option("--mlm", default=None,
              help="Continue masked-LM training on this multilingual corpus during intermediate training: a text "
                   "file or folder of .txt files (a sentence or document a line), or a hub dataset name[:config].")
@click.option("--mlm-weight", type=float, default=None, help="Share of batches given to --mlm [default: 0.25].")
@click.option("--translated", default=None,
              help="Train the intermediate task(s) on machine-translated data in this language "
                   "(MNLI: XNLI-MT; SQuAD: translate-train); model selection stays on English dev.")
@click.option("--retrieval-layer", type=int, default=None,
              help="Retrieval targets: hidden layer to pool [default: 14 of 24, same relative depth otherwise].")
@click.option("--pooling", default=None, help="Retrieval targets: 'mean' over tokens or 'cls' [default: mean].")
def run_command(inter, target, model, seed, output, data_dir, preset, languages, **overrides) -> None:
    """Train on an intermediate task, fine-tune on a target task, evaluate on every language.

    Example: xharness run --inter hellaswag --target pawsx --preset smoke
    """
    from harness.interrupt import Interrupted, stop_cleanly
    from harness.protocol import RunRequest, execute, plan_run

    began = time.perf_counter()
    request = RunRequest(inter=inter, target=target, model=model, seed=seed, output=output, data_dir=data_dir,
                         preset=preset, languages=[x.strip() for x in languages.split(",")] if languages else None,
                         overrides=overrides)
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


def _stopped(stop) -> None:
    """One line on SIGTERM/SIGINT: what stays on disk and how to go on; exit 128 + signal."""
    if stop.kept:
        kept = "kept " + "; ".join(stop.kept) + "; the unfinished phase was discarded"
    else:
        kept = "no phase had finished, nothing was kept"
    click.echo(f"stopped by {stop.name}: {kept} (temporary files removed); run the same command again to "
               f"continue from there", err=True)
    sys.exit(stop.exit_code)


@cli.command("score")
@click.option("--predictions", required=True, type=click.Path(path_type=Path),
              help="Folder with one sub-folder per task holding test-<lang>.<ext> prediction files.")
@click.option("--labels", required=True, type=click.Path(path_type=Path), help="Folder of gold labels, same layout.")
@click.option("--leaderboard", "board_name", default=None,
              help="Which registered leaderboard's format and metrics [default: the only one installed].")
@click.option("--json", "as_json", is_flag=True, help="Print the scores as JSON, keyed as XTREME's evaluate.py keys them.")
def score_command(predictions: Path, labels: Path, board_name: str | None, as_json: bool) -> None:
    """Score leaderboard-format predictions against labels (no GPU, no model needed).

    Tasks are the sub-folders present in both folders; per-language scores, task averages,
    group averages and the overall score are in percent.
    """
    from harness.scoring import score_folders

    registry = _registry()
    try:
        if board_name is None:
            names = sorted({*registry.leaderboards, *registry.conflicts["leaderboard"]})
            if len(names) != 1:
                raise UserError("pass --leaderboard NAME; installed: "
                                + (", ".join(names) or "none (see `xharness list`)"))
            board_name = names[0]
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
    from rich.console import Console
    from rich.table import Table

    console = Console(highlight=False)
    if not console.is_terminal:
        console = Console(highlight=False, width=160)
    for task in board.tasks:
        if task.name not in scores:
            continue
        result = scores[task.name]
        metric_names = [m for m in result if not m.startswith("avg_")]
        table = Table(title=f"{task.name} ({task.group})", title_justify="left")
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


def _print_results(results_path: Path, record: dict, seconds: float) -> None:
    from accelerate.state import PartialState

    if not PartialState().is_main_process:
        return
    from rich.console import Console

    from harness.record import render_table, table_heading

    console = Console(highlight=False)
    console.print(table_heading(record), soft_wrap=True)
    console.print(render_table(record))
    console.print(f"results: {results_path}  ({seconds:.1f} s)", soft_wrap=True)


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
