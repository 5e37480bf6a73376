"""``xharness report --format html``: the whole report as one page that opens offline.

Everything is inside the file: the styles, the figures (PNG as data URIs) and no script from
elsewhere, so the page can be mailed, attached to a paper's supplement or opened on a machine with
no network. Per experiment and backbone it shows the task matrix (Δ, ± and significance marks, as
the text formats), the notes, the heatmap, every target task's languages with the test examples
behind each number and the flags of the runs behind it, the learning curves, and every run's
settings and versions, and ends with the references of what the runs used (their tasks,
backbones and benchmarks, the protocol paper, xharness). Each number carries its exact value in
``data-*`` attributes, so a program (the test suite's browser check) can compare the page with
``--format json``.
"""

from __future__ import annotations

import base64
import html
import io
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from harness.analysis import report as reporting
from harness.contract.errors import UserError

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; max-width: 78rem;
       padding: 0 1rem; color: #1b1b1b; line-height: 1.45; }
h1 { font-size: 1.6rem; margin-bottom: 0.2rem; }
h2 { font-size: 1.3rem; border-bottom: 2px solid #ddd; padding-bottom: 0.2rem; margin-top: 2.5rem; }
h3 { font-size: 1.1rem; margin-top: 2rem; }
h4 { font-size: 1rem; margin: 1.4rem 0 0.4rem; }
.meta { color: #555; font-size: 0.9rem; }
table { border-collapse: collapse; margin: 0.5rem 0; font-variant-numeric: tabular-nums; }
th, td { padding: 0.25rem 0.6rem; border-bottom: 1px solid #e4e4e4; white-space: nowrap; }
thead th { border-bottom: 2px solid #999; text-align: right; }
thead th:first-child, tbody th { text-align: left; }
td { text-align: right; }
tr.baseline td, tr.baseline th { border-bottom: 2px solid #999; }
td.flagged { background: #fff4d6; }
td.significant { font-weight: 600; }
.notes { font-size: 0.85rem; color: #444; margin: 0.3rem 0 0 1.2rem; padding: 0; }
figure { margin: 1rem 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figure.broken::after { content: "this figure failed to load"; color: #b00020; }
details { margin: 0.5rem 0; }
summary { cursor: pointer; }
table.runs td, table.runs th { font-size: 0.8rem; white-space: normal; text-align: left; vertical-align: top; }
code { font-size: 0.85em; }
.left-out { color: #7a4b00; }
"""

# a figure whose data cannot be decoded says so on the page (and the browser test reads it)
SCRIPT = """
window.addEventListener("load", function () {
  document.querySelectorAll("figure img").forEach(function (img) {
    if (!img.complete || img.naturalWidth === 0) { img.parentElement.classList.add("broken"); }
  });
  document.body.dataset.loaded = "yes";
});
"""


def page(report: reporting.Report, languages: dict[tuple[str, str, str], reporting.Table],
         runs: Sequence[reporting.Run], *, decimals: int = 2,
         figures: Callable[[reporting.Table], list[tuple[str, Any]]] | None = None) -> str:
    """The report as one HTML page.

    ``languages``: (experiment, model, target) → that target's per-language table (``report.build``
    with ``target=``). ``runs``: the runs read, for their settings and versions. ``figures``: the
    figures of a matrix table as (caption, matplotlib Figure) pairs (default: heatmap and learning
    curves).
    """
    import harness

    figures = figures or default_figures
    by_folder = {str(run.folder): run for run in runs}
    parts = [f"<h1>xharness report</h1>",
             f'<p class="meta">Made {html.escape(time.strftime("%Y-%m-%d %H:%M %Z"))} by xharness '
             f"{html.escape(harness.__version__)} from {len(runs)} run{'s' * (len(runs) != 1)}; paired bootstrap "
             f"over test examples, {report.resamples} resamples (seed {report.seed}), Holm-corrected per table.</p>"]
    experiments = list(dict.fromkeys(table.experiment for table in report.tables))
    if len(experiments) > 1:
        parts.append("<nav><p>Experiments: " + ", ".join(
            f'<a href="#{_anchor(e)}">{html.escape(e)}</a>' for e in experiments) + "</p></nav>")
    for experiment in experiments:
        parts.append(f'<section id="{_anchor(experiment)}">')
        if experiment:
            parts.append(f"<h2>Experiment <code>{html.escape(experiment)}</code></h2>")
        for table in (t for t in report.tables if t.experiment == experiment):
            parts.append(_matrix_section(table, languages, by_folder, decimals, figures))
        parts.append("</section>")
    if report.left_out or report.skipped:
        parts.append("<h2>Not in these tables</h2><ul>")
        parts += [f'<li class="left-out">{html.escape(line)}</li>' for line in report.left_out]
        parts += [f"<li>skipped {html.escape(line)}</li>" for line in report.skipped]
        parts.append("</ul>")
    parts.append(_references_html(reporting.report_references(report)))
    body = "\n".join(parts)
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>xharness report</title>\n<style>{STYLE}</style>\n<script>{SCRIPT}</script>\n</head>\n"
            f"<body>\n{body}\n</body>\n</html>\n")


def default_figures(table: reporting.Table) -> list[tuple[str, Any]]:
    """The heatmap (when there is a row to draw) and the learning curves of a matrix table."""
    found = []
    for caption, draw in (("Heatmap", reporting.heatmap), ("Learning curves", reporting.curves)):
        try:
            found.append((caption, draw(table)))
        except UserError:  # nothing to draw (only a baseline row, no curve): the tables say it all
            continue
    return found


def _anchor(text: str) -> str:
    """A page anchor for an experiment: readable, and unique (``sweep:a.b`` and ``sweep:a-b`` differ)."""
    import hashlib

    return ("exp-" + "".join(ch if ch.isalnum() else "-" for ch in text or "all") + "-"
            + hashlib.sha256((text or "").encode()).hexdigest()[:6])


def _matrix_section(table: reporting.Table, languages, by_folder, decimals: int, figures) -> str:
    parts = [f"<h3>{html.escape(reporting._title(table))}</h3>", _table_html(table, decimals, kind="matrix")]
    parts.append(_notes(table.notes))
    for caption, figure in figures(table):
        parts.append(f'<figure><img alt="{html.escape(caption)}" src="{_png(figure)}">'
                     f"<figcaption>{html.escape(caption)}</figcaption></figure>")
    for target in table.columns[:-1] if table.target is None else [table.target]:
        drill = languages.get((table.experiment, table.model, target))
        if drill is None:
            continue
        parts.append(f"<h4>{html.escape(target)}: per language</h4>")
        parts.append(_table_html(drill, decimals, kind="languages", show_n=True))
        parts.append(_notes(drill.notes))
        parts.append(_flag_list(drill, by_folder))
    parts.append(_runs_html(table, by_folder))
    return "\n".join(parts)


def _table_html(table: reporting.Table, decimals: int, *, kind: str, show_n: bool = False) -> str:
    head = "".join(f'<th scope="col">{html.escape(c)}</th>' for c in ["intermediate", *table.columns])
    rows = []
    for row in table.rows:
        baseline = ' class="baseline"' if table.mode == "delta" and row == reporting.BASELINE else ""
        cells = []
        for column in table.columns:
            cell = table.cells[(row, column)]
            stat = table.shown(cell)
            text = reporting.cell_text(table, cell, decimals, show_n=show_n)
            classes = [c for c, on in (("flagged", cell.flags), ("significant", cell.marker)) if on]
            attributes = {"data-row": row, "data-column": column,
                          "data-shown": "delta" if table.is_delta_row(row) else "score"}
            if stat is not None:
                attributes.update({"data-mean": repr(stat.mean), "data-seeds": str(stat.n),
                                   "data-std": "" if stat.std is None else repr(stat.std)})
            if cell.examples is not None:
                attributes["data-examples"] = str(cell.examples)
            if cell.p_holm is not None:
                attributes["data-p-holm"] = repr(cell.p_holm)
            if cell.flags:
                attributes["data-flags"] = ", ".join(cell.flags)
                attributes["title"] = "flagged: " + ", ".join(cell.flags)
            if classes:
                attributes["class"] = " ".join(classes)
            shown = " ".join(f'{k}="{html.escape(v, quote=True)}"' for k, v in attributes.items())
            cells.append(f"<td {shown}>{html.escape(text)}</td>")
        rows.append(f'<tr{baseline}><th scope="row">{html.escape(row)}</th>{"".join(cells)}</tr>')
    for ref in table.reference:
        values = "".join(f"<td>{ref['values'][c]:.{decimals}f}</td>" if c in ref["values"] else "<td>-</td>"
                         for c in table.columns)
        rows.append(f'<tr class="reference"><th scope="row">{html.escape(ref["label"])}</th>{values}</tr>')
    return (f'<table class="{kind}" data-experiment="{html.escape(table.experiment, quote=True)}" '
            f'data-model="{html.escape(table.model, quote=True)}" '
            f'data-target="{html.escape(table.target or "", quote=True)}">'
            f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>")


def _notes(notes: Sequence[str]) -> str:
    if not notes:
        return ""
    return '<ul class="notes">' + "".join(f"<li>{html.escape(n)}</li>" for n in notes) + "</ul>"


def _flag_list(table: reporting.Table, by_folder) -> str:
    """Each flag of the runs behind a per-language table: which run, which language, what."""
    lines = []
    folders = sorted({folder for cell in table.cells.values() for folder in cell.runs + cell.baseline_runs})
    for folder in folders:
        run = by_folder.get(folder)
        if run is None:
            continue
        scores = run.record["scores"]
        where = f"{run.inter} → {run.target}, seed {run.seed}"
        for lang, found in (scores.get("flags") or {}).items():
            lines += [f"{where}, {lang}: {flag}" for flag in found]
        lines += [f"{where}: {flag}" for flag in scores.get("run_flags") or []]
    if not lines:
        return ""
    return (f"<details><summary>{reporting.FLAGGED} {len(lines)} flag{'s' * (len(lines) != 1)} on the runs behind "
            f"this table</summary><ul class=\"notes\">"
            + "".join(f"<li>{html.escape(line)}</li>" for line in lines) + "</ul></details>")


def _runs_html(table: reporting.Table, by_folder) -> str:
    folders = sorted({folder for cell in table.cells.values() for folder in cell.runs + cell.baseline_runs})
    runs = [by_folder[f] for f in folders if f in by_folder]
    if not runs:
        return ""
    rows = []
    for run in sorted(runs, key=lambda r: (r.inter, r.target, r.seed)):
        record = run.record
        settings = record.get("hyperparameters") or {}
        versions = record.get("versions") or {}
        shown_versions = ", ".join(f"{k}={v}" for k, v in versions.items() if k != "plugins" and v)
        plugins = versions.get("plugins") or {}
        if plugins:
            shown_versions += "; plugins: " + reporting.format_settings(plugins)
        git = record.get("git") or {}
        rows.append("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in (
            f"{run.inter} → {run.target}", run.seed, record.get("created", ""),
            reporting.format_settings(settings.get("intermediate")) if settings.get("intermediate") else "-",
            reporting.format_settings(settings.get("target")),
            f"preset={record.get('preset')}, data={record.get('data_source')}, "
            f"languages={', '.join(record.get('languages') or [])}",
            shown_versions + (f"; git {git.get('commit', '')[:12]}{' (dirty)' if git.get('dirty') else ''}"
                              if git else ""),
            Path(run.folder).name)) + "</tr>")
    head = "".join(f"<th>{h}</th>" for h in ("cell", "seed", "created", "intermediate settings", "target settings",
                                               "data", "versions", "folder"))
    return (f"<details><summary>{len(runs)} run{'s' * (len(runs) != 1)}: settings and versions</summary>"
            f'<table class="runs"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table></details>')


def _references_html(cited) -> str:
    """The last section: what the runs shown cite, one item per entry (``xharness cite`` gives the
    BibTeX), then what has no entry."""
    if cited is None or not cited.entries:
        return ""
    items = "".join(f'<li id="ref-{html.escape(entry.key, quote=True)}">{html.escape(entry.text())}</li>'
                    for entry in cited.entries)
    missing = "".join(f"<li>{html.escape(line)}</li>" for line in
                      [w.missing_line for w in cited.missing] + [f"unreadable: {p}" for p in cited.problems])
    return (f'<section id="references"><h2>References</h2><ol class="references">{items}</ol>'
            + (f'<ul class="notes">{missing}</ul>' if missing else "")
            + '<p class="meta">The BibTeX of these: <code>xharness cite</code> with the folders of this report.</p>'
            + "</section>")


def _png(figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=reporting.FIG_DPI)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
