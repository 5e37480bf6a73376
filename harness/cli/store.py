"""The run store: ``xharness verify``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from harness.contract.errors import UserError
from harness.cli.base import cli, _fail


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
