"""What to cite: ``xharness cite``."""

from __future__ import annotations

from pathlib import Path

import click

from harness.cli import base
from harness.cli.base import _fail, cli
from harness.contract.errors import UnknownNameError, UserError


@cli.command("cite")
@click.argument("stores", nargs=-1, type=click.Path(path_type=Path))
@click.option("--task", "tasks", multiple=True, metavar="NAME",
              help="A task (intermediate or target) to cite, with the leaderboards it belongs to; repeat for more.")
@click.option("--model", "models", multiple=True, metavar="NAME", help="A backbone to cite; repeat for more.")
@click.option("--leaderboard", "leaderboards", multiple=True, metavar="NAME",
              help="A leaderboard (benchmark) to cite besides those the tasks belong to; repeat for more.")
@click.option("--format", "fmt", type=click.Choice(["bibtex", "text"]), default="bibtex", show_default=True,
              help="bibtex: entries for a .bib file; text: one numbered line per entry (authors, year, title, venue).")
def cite_command(stores: tuple[Path, ...], tasks: tuple[str, ...], models: tuple[str, ...],
                 leaderboards: tuple[str, ...], fmt: str) -> None:
    """The BibTeX of exactly what runs used: their tasks, backbones and benchmarks.

    For the runs under STORES (stores, runs/ folders or run folders, as `xharness report` reads
    them): every intermediate and target task, the backbone, the leaderboards the tasks belong
    to, and always the protocol paper (X-STILTs, Phang et al., 2020) and xharness itself, at the
    version that made the runs. Or name them with --task, --model and --leaderboard. The entries
    come from each plugin's citations.bib; what has none is named in a comment line
    (% no BibTeX entry for ...), never left out silently.

    Example: xharness cite xharness-runs > references.bib
    """
    from harness.analysis import report
    from harness.contract import citations

    registry = base._registry()
    try:
        for name in tasks:
            _check_task(registry, name)
        for name in models:
            if registry.model(name) is None:
                raise UnknownNameError("model", name, registry.models)
        for name in leaderboards:
            registry.leaderboard(name)
        records = []
        if stores:
            runs, _ = report.collect(stores)
            if not runs:
                raise UserError(f"no finished runs found under {', '.join(map(str, stores))} (a run folder holds "
                                f"results.json and a sound manifest.json)")
            records = [run.record for run in runs]
        found = citations.for_records(registry, records)
        if tasks or models or leaderboards:
            inferred = citations.leaderboards_of(registry, tasks)
            named = citations.collect(registry, tasks=tasks, models=models,
                                      leaderboards=[*inferred, *(b for b in leaderboards if b not in inferred)])
            found = _union(found, named)
    except UserError as error:
        _fail(error)
        return
    click.echo(found.bibtex() if fmt == "bibtex" else found.text(), nl=False)


def _check_task(registry, name: str) -> None:
    if any(name in table for table in registry.tasks.values()):
        return
    for what in ("target task", "intermediate task"):
        clash = registry.clash(what, name)
        if clash is not None:
            raise clash
    raise UnknownNameError("task", name, [n for table in registry.tasks.values() for n in table],
                           failed=[p.name for p in registry.plugins.values() if not p.ok])


def _union(first, second):
    """Both sets of citations, each entry and each missing name once, in order."""
    from harness.contract.citations import Citations

    keys = set(first.keys)
    missing = set(first.missing)
    return Citations(entries=first.entries + [e for e in second.entries if e.key not in keys],
                     missing=first.missing + [m for m in second.missing if m not in missing],
                     problems=list(dict.fromkeys(first.problems + second.problems)))
