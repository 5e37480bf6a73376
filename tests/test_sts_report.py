"""A kind the core does not have, end to end: STS cells (examples/xharness-sts, registered as a
plugin, not installed) run through the protocol, and `xharness report`'s machinery tabulates them
with a paired bootstrap over their correlations (it stopped at 'unknown aggregate' before)."""

from __future__ import annotations

import pytest

from harness.analysis import report as reporting
from harness.cell.protocol import RunRequest, execute, plan_run
from harness.common.progress import Reporter
from harness.contract.discovery import discover


@pytest.mark.slow
def test_sts_cells_run_and_report_with_a_bootstrap(tmp_path):
    import xharness_sts

    registry = discover([("sts", xharness_sts)])
    for inter in ("none", "mnli"):
        plan = plan_run(RunRequest(inter=inter, target="stsb", preset="smoke", languages=["en", "de"], output=tmp_path,
                                   overrides={"inter_epochs": 1, "target_epochs": 1}), registry)
        _, record = execute(plan, reporter_factory=lambda main: Reporter(False))
        assert record["scores"]["metric"] == "pearson"
        assert all(-100 <= v <= 100 for v in record["scores"]["per_language"].values())
    runs, skipped = reporting.collect([tmp_path])
    assert len(runs) == 2 and not skipped
    built = reporting.build(runs, resamples=200, seed=0)
    text = reporting.render(built, "markdown")
    assert "stsb" in text and "mnli" in text
    (table,) = built.tables
    cell = table.cells[("mnli", "stsb")]
    assert cell.delta is not None and cell.p is not None and 0 <= cell.p <= 1
