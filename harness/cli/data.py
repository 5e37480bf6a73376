"""Data: ``xharness data check``."""

from __future__ import annotations

import json
import sys

import click

from harness.contract.errors import UserError
from harness.cli import base
from harness.cli.base import cli, _fail


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

    registry = base._registry()
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
