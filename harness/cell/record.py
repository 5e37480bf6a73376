"""The results record: what a run writes, and the table rendered from it (never from live objects)."""

from __future__ import annotations

import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

SCHEMA = "xharness.results/1"


def package_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name in ("xtreme-harness", "torch", "transformers", "datasets", "accelerate", "tokenizers"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def git_state(start: Path | None = None) -> dict[str, Any] | None:
    """Commit (and whether the tree is dirty) of the checkout holding the harness, if any."""
    where = start or Path(__file__).resolve().parent
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=where, capture_output=True, text=True, timeout=5)
        if commit.returncode != 0:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=where,
                               capture_output=True, text=True, timeout=5)
        return {"commit": commit.stdout.strip(), "dirty": bool(dirty.stdout.strip())}
    except (OSError, subprocess.SubprocessError):
        return None


def score_table(record: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """Headers and rows of a run's table: each language's score, its number of test examples (n) and
    a mark where the score looks degenerate (``scores.flags``; older records have neither)."""
    scores = record["scores"]
    counts, flags = scores.get("n") or {}, scores.get("flags") or {}
    headers = ["language", f"{scores['metric']} (test)", "n", "flag"]

    def shown(value):
        return "n/a (no gold)" if value is None else f"{value:.2f}"

    rows = [[lang, shown(value), str(counts.get(lang, "")), ", ".join(f.split(":")[0] for f in flags.get(lang, []))]
            for lang, value in scores["per_language"].items()]
    rows.append(["average", shown(scores["average"]), str(sum(counts.values())) if counts else "", ""])
    return headers, rows


def flag_lines(record: dict[str, Any]) -> list[str]:
    """The flags of a record, one line each (``lang: flag``, then the run's own), for the run's output."""
    scores = record["scores"]
    lines = [f"{lang}: {flag}" for lang, found in (scores.get("flags") or {}).items() for flag in found]
    return lines + list(scores.get("run_flags") or [])


def table_heading(record: dict[str, Any]) -> str:
    inter = "+".join(record["intermediate_tasks"]) or "none"
    from harness.cell.transfer import describe

    transfer = ((record.get("hyperparameters") or {}).get("target") or {}).get("transfer")
    setting = f" · {describe(transfer, draw=True)}" if transfer else ""
    return (f"{record['target_task']} after intermediate task {inter} · model {record['model']['name']} · "
            f"seed {record['seed']}{setting}")


def render_table(record: dict[str, Any]):
    from rich.table import Table

    headers, rows = score_table(record)
    table = Table()
    table.add_column(headers[0])
    table.add_column(headers[1], justify="right")
    table.add_column(headers[2], justify="right")
    table.add_column(headers[3])
    for i, row in enumerate(rows):
        table.add_row(*row, end_section=(i == len(rows) - 2))
    return table
