"""Results: ``xharness report`` (tables of finished runs), ``xharness score`` (leaderboard prediction files) and
``xharness export`` (Hugging Face Hub model cards of a store)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from harness.contract.errors import UserError
from harness.cli import base
from harness.cli.base import cli, _console, _fail


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

    registry = base._registry()
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
        first = registry.leaderboards[names[0]].spec.tasks[0] if names and names[0] in registry.leaderboards else None
        example = f" (e.g. {first.name}/test-{first.languages[0]}.{first.extension})" if first else ""
        looked = "; ".join(f"{name}: {', '.join(t.name for t in item.spec.tasks)}"
                           for name, item in sorted(registry.leaderboards.items()))
        raise UserError(f"found no task folder{example} in both {predictions} and {labels}; looked for the task "
                        f"folders of each installed leaderboard: {looked or 'none installed'}. Put the predictions "
                        f"and labels in that layout, or pass --leaderboard NAME")
    fitting = sorted(name for name, count in covered.items() if count == best)
    whole = [name for name in fitting if complete(registry.leaderboards[name].spec)] or fitting
    if len(whole) > 1:
        click.echo(f"note: scoring as leaderboard {whole[0]} (also fits: {', '.join(whole[1:])}); "
                   f"choose with --leaderboard", err=True)
    return whole[0]


def _html(built, runs, *, target, mode, resamples: int, seed: int) -> str:
    """The HTML page: the report's tables plus, for each, every target task's per-language table."""
    from harness.analysis import html, report

    languages = {}
    for table in built.tables:
        for task in (table.columns[:-1] if table.target is None else [table.target]):
            languages[(table.experiment, table.model, task)] = report.drill_down(
                table, runs, task, mode=mode, resamples=resamples, seed=seed, show_n=True)
    return html.page(built, languages, runs)


@cli.command("report")
@click.argument("folders", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--target", default=None, help="Drill down into one target task: its languages across.")
@click.option("--model", default=None, help="Only this backbone [default: one table per backbone].")
@click.option("--experiment", default=None, metavar="NAME",
              help="Only this experiment: run, sweep:NAME, study:NAME, or a NAME only one of them has "
                   "[default: one set of tables per experiment].")
@click.option("--delta/--absolute", "delta", default=None,
              help="Δ against the 'none' row of the same backbone and seeds, or plain scores "
                   "[default: Δ where a 'none' row exists].")
@click.option("--bootstrap", "resamples", type=click.IntRange(min=0), default=1000, show_default=True,
              help="Paired-bootstrap resamples for significance (0: no test).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the bootstrap (a report is reproducible).")
@click.option("--format", "fmt", type=click.Choice(["table", "markdown", "latex", "csv", "json", "html"]),
              default="table", show_default=True,
              help="table: rich terminal table; html: one self-contained page (tables, per-language tables with n "
                   "and flags, heatmap, learning curves, every run's settings and versions) that opens offline. "
                   "markdown and html end with the references of what the runs used (their BibTeX: xharness cite).")
@click.option("--compare", default=None,
              help="A reference shown beside the table: a report JSON file, or 'xlmr-large' (published XTREME "
                   "figures of XLM-R Large, Hu et al. 2020).")
@click.option("--plot", "plot_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write a heatmap of the task matrix, Δ in Δ mode (.png, .pdf or .svg).")
@click.option("--plot-languages", "plot_languages", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write a per-language heatmap of --target.")
@click.option("--plot-curves", "plot_curves", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the learning curves of every cell (training loss per update, dev score per epoch; "
                   ".png, .pdf or .svg).")
@click.option("--show-n", "show_n", is_flag=True,
              help="Show the test examples behind each number (n=...); JSON and CSV always hold them.")
def report_command(folders, target, model, experiment, delta, resamples, seed, fmt, compare, plot_file,
                   plot_languages, plot_curves, show_n) -> None:
    """Tables of finished runs: intermediate tasks down, target tasks across, mean ± std over seeds.

    Reads results.json (and per-example outcomes for the paired bootstrap) under FOLDERS: stores,
    their runs/ folders or single run folders; no model is loaded. Each experiment (a study, a
    sweep, the plain runs) gets its own tables. Runs whose settings differ from the others'
    (hyperparameters, data, preset, core version) are left out, with a line saying why, never mixed.

    Example: xharness report xharness-runs --format markdown --compare xlmr-large
    """
    from harness.analysis import report

    mode = None if delta is None else ("delta" if delta else "absolute")
    try:
        if plot_languages is not None and target is None:
            raise UserError("--plot-languages draws one task's languages: give it with --target TASK")
        runs, skipped = report.collect(folders)
        built = report.build(runs, model=model, target=target, mode=mode, resamples=resamples, seed=seed,
                             skipped=skipped, show_n=show_n, experiment=experiment)
        if compare is not None:
            report.attach_reference(built, report.load_reference(compare))
        figures = []
        if plot_file is not None:  # the task matrix, even when the text report drills into --target
            figures.append((plot_file, built if target is None else report.build(
                runs, model=model, mode=mode, resamples=resamples, seed=seed, experiment=experiment)))
        if plot_languages is not None:
            figures.append((plot_languages, built))
        if plot_curves is not None:
            figures.append((plot_curves, built))
        for path, shown in figures:
            if len({t.experiment for t in shown.tables}) > 1:
                raise UserError(f"a figure shows one experiment; pick it with --experiment "
                                f"({', '.join(dict.fromkeys(t.experiment for t in shown.tables))})")
            if len(shown.tables) > 1:
                raise UserError(f"a figure shows one backbone; pick it with --model "
                                f"({', '.join(t.model for t in shown.tables)})")
            (report.plot_curves if path is plot_curves else report.plot)(shown.tables[0], path)
            click.echo(f"figure: {path}", err=True)
        if fmt == "html":
            text = _html(built, runs, target=target, mode=mode, resamples=resamples, seed=seed)
    except UserError as error:
        _fail(error)
        return
    if fmt == "html":
        click.echo(text, nl=False)
        return
    text = report.render(built, fmt)
    if text is not None:
        click.echo(text, nl=False)


@cli.command("export")
@click.argument("store", type=click.Path(path_type=Path))
@click.option("--output", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where the cards go, one folder per model and experiment [default: STORE/export].")
@click.option("--model", default=None, help="Only this backbone [default: every one].")
@click.option("--experiment", default=None, metavar="NAME",
              help="Only this experiment: run, sweep:NAME, study:NAME, or a NAME only one of them has "
                   "[default: every one].")
@click.option("--bootstrap", "resamples", type=click.IntRange(min=0), default=1000, show_default=True,
              help="Paired-bootstrap resamples for the matrix's significance marks (0: no test), as in report.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the bootstrap.")
@click.option("--push", "repo", default=None, metavar="REPO",
              help="Also upload the card as REPO's README.md on the Hugging Face Hub (a model repository you "
                   "can write to; replaces its card). Needs one card: pick it with --model and --experiment.")
@click.option("--create-pr", "create_pr", is_flag=True,
              help="With --push: open a pull request on REPO instead of committing to its main branch.")
def export_command(store: Path, output: Path | None, model: str | None, experiment: str | None, resamples: int,
                   seed: int, repo: str | None, create_pr: bool) -> None:
    """Hugging Face Hub model cards of a store's results, one per backbone and experiment.

    Each folder holds README.md, a whole model card: its YAML front matter is the Hub's evaluation
    metadata (model-index, written by huggingface_hub: one result per intermediate task, target
    task and test language, and per target task its score, each the mean over seeds with the
    task's Hub dataset, config, split and revision), its body the X-STILTs matrix as `xharness
    report --format markdown` shows it. results.md holds that section alone, to paste into an
    existing card. Figures from bundled samples or local files, and flagged ones, are said to be.
    Nothing is uploaded unless --push is given.

    Example: xharness export xharness-runs --model xlm-roberta-large --push me/xlmr-xstilts --create-pr
    """
    from harness.analysis import export

    try:
        cards = export.export_store(store, output=output, model=model, experiment=experiment, resamples=resamples,
                                    seed=seed, push_to=repo, create_pr=create_pr)
    except UserError as error:
        _fail(error)
        return
    for card in cards:
        flagged = f", {card.flagged} flagged" if card.flagged else ""
        click.echo(f"{card.path / export.CARD_FILE}: model {card.model}, experiment {card.experiment}, "
                   f"{len(card.eval_results)} results{flagged} (the section alone: {export.SECTION_FILE})")
    if cards and cards[0].pushed is not None:
        click.echo(f"pushed to {repo}: {cards[0].pushed}")
