"""Plugins: ``xharness list``, ``plugins``, ``install`` and ``new-plugin``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from harness.contract.errors import UnknownNameError, UserError
from harness.cli import base
from harness.cli.base import cli, _console, _fail
from harness.tracking import importable


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


@cli.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON instead of tables.")
@click.option("--plugin", "plugin_name", default=None,
              help="Show only what this plugin provides, its version, status and notes.")
@click.option("--verbose", is_flag=True, help="With --plugin: a failed plugin's full traceback.")
def list_command(as_json: bool, plugin_name: str | None, verbose: bool) -> None:
    """Show the installed tasks, models and plugins (with any plugin load errors)."""
    registry = base._registry()
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
    rejected = registry.rejection_list()
    boards = [{"name": name, "description": item.spec.description, "plugin": item.plugin,
               "tasks": {t.name: {"metric": t.metric, "group": t.group, "languages": len(t.languages)}
                         for t in item.spec.tasks}}
              for name, item in sorted(registry.leaderboards.items())]
    trackers = [{"name": name, "description": item.spec.description, "plugin": item.plugin,
                 "requires": list(item.spec.requires), "installed": all(importable(m) for m in item.spec.requires),
                 "install": item.spec.install}
                for name, item in sorted(registry.trackers.items())]
    translations = [{"task": name, "description": item.spec.description, "plugin": item.plugin,
                     "train_languages": list(item.spec.train_languages), "test_languages": list(item.spec.test_languages)}
                    for name, item in sorted(registry.translations.items())]
    if as_json:
        click.echo(json.dumps({"tasks": tasks, "kinds": kinds, "models": models, "leaderboards": boards,
                               "trackers": trackers, "translations": translations, "plugins": plugins,
                               "conflicts": conflicts, "left_out": rejected}, indent=2))
        return
    console = _console()
    rows = []
    for t in tasks:
        codes = t["languages"]
        langs = f"{len(codes)}: {' '.join(codes)}" if len(codes) <= 8 else f"{len(codes)}: {' '.join(codes[:6])} …"
        if t["extra_languages"]:
            langs += f" (+{len(t['extra_languages'])} on request: {' '.join(t['extra_languages'])})"
        rows.append((t["name"], t["role"], t["kind"], t["granularity"] or "-", langs, t["metric"], t["plugin"]))
    console.print(_table("Tasks", ("name", "role", "kind", "granularity", "languages", "metric", "plugin"), rows,
                         width=console.width))
    rows = [(k["name"], "trains" if k["trained"] else "embeds only",
             ", ".join(f"{name}={value}" for name, value in k["settings"].items()) or "-", k["plugin"]) for k in kinds]
    console.print(_table("Task kinds", ("name", "phase 3", "settings (--setting NAME=VALUE)", "plugin"), rows,
                         width=console.width))
    rows = [(m["name"], m["hub_id"] or "built locally", m["plugin"], m["description"]) for m in models]
    console.print(_table("Models", ("name", "source", "plugin", "description"), rows, width=console.width))
    if boards:
        rows = [(b["name"], ", ".join(f"{n} ({t['metric']}, {t['languages']} languages)" for n, t in b["tasks"].items()),
                 b["plugin"]) for b in boards]
        console.print(_table("Leaderboards (xharness score)", ("name", "tasks (metric, languages)", "plugin"), rows,
                             width=console.width))
    if trackers:
        rows = [(t["name"], "yes" if t["installed"] else f"no: {t['install'] or ', '.join(t['requires'])}",
                 t["plugin"], t["description"]) for t in trackers]
        console.print(_table("Trackers (--tracker NAME)", ("name", "installed", "plugin", "description"), rows,
                             width=console.width))
    if translations:
        def langs(codes: list[str]) -> str:
            return f"{len(codes)}: {' '.join(codes)}" if codes else "-"
        rows = [(t["task"], langs(t["train_languages"]), langs(t["test_languages"]), t["plugin"], t["description"])
                for t in translations]
        console.print(_table("Translations (--transfer translate-train, translate-train-all, translate-test)",
                             ("task", "train into", "test from", "plugin", "description"), rows, width=console.width))
    rows = []
    for p in plugins:
        status = "[green]ok[/]" if p["ok"] else f"[red]failed: {p['error']}[/]"
        if p["ok"] and p["note"]:
            status += f" [yellow]({p['note']})[/]"
        rows.append((p["name"], p["distribution"] or "-", p["version"] or "-", status))
    console.print(_table("Plugins", ("name", "distribution", "version", "status"), rows, width=console.width))
    if conflicts:
        rows = [(c["name"], c["what"], ", ".join(c["plugins"])) for c in conflicts]
        console.print(_table("Conflicts", ("name", "what", "registered by"), rows, width=console.width))
        console.print("Each name above is unavailable until only one of its plugins is loaded: "
                      "set XHARNESS_PLUGINS=a,b,... to the plugins to load.")
    if rejected:
        rows = [(r["name"], r["what"], r["kept"] or "-", ", ".join(r["left_out"])) for r in rejected]
        console.print(_table("Left out (a built-in plugin has the name)",
                             ("name", "what", "kept: built-in plugin", "left out: plugin"), rows, width=console.width))
        console.print("A plugin's name for a task, model or kind that a built-in plugin already has is left "
                      "out; the plugin's other names work. Rename it in the plugin.")
    if not plugins:
        console.print("No plugins loaded (is XHARNESS_DISABLE_PLUGIN_AUTOLOAD set?).")


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
    registry = base._registry()
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

    before = {p.name: (p.version, p.ok) for p in base._registry().plugins.values()}
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


def _table(title: str, columns: tuple[str, ...], rows: list[tuple[str, ...]], width: int | None = None):
    """A rich table that never cuts a name: a column whose every value is one word (names, kinds,
    plugins, versions) keeps its widest value on one line; the others (languages, descriptions,
    notes) wrap. Where even the one-word columns do not fit in ``width`` (a narrow terminal), each
    row becomes a paragraph instead: its name, then ``column: value`` for the rest, wrapped."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    words = [bool(rows) and all(" " not in str(row[i]) for row in rows) for i in range(len(columns))]
    widths = [max(len(column.split()[0]), *(len(str(row[i])) for row in rows)) if words[i] else 8
              for i, column in enumerate(columns)]
    if width is not None and sum(widths) + 3 * len(columns) + 1 > width:
        lines = [Text(title, style="italic")]
        for row in rows:
            line = Text.from_markup(f"[bold]{row[0]}[/]  ")
            line.append_text(Text.from_markup("; ".join(f"{column}: {value}" for column, value in
                                                         zip(columns[1:], row[1:]))))
            lines.append(line)
        return Group(*lines)
    table = Table(title=title, title_justify="left")
    for index, column in enumerate(columns):
        if words[index]:
            table.add_column(column, no_wrap=True, min_width=widths[index])
        else:
            table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*row)
    return table

