"""Two processes on the CPU (gloo) under torchrun: the run completes with sane, undoubled losses."""

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


def _torchrun() -> list[str]:
    found = shutil.which("torchrun", path=str(Path(sys.executable).parent)) or shutil.which("torchrun")
    return [found] if found else [sys.executable, "-m", "torch.distributed.run"]


@pytest.mark.slow
def test_smoke_run_under_torchrun_with_two_processes(smoke_results, tmp_path):
    single_record = json.loads(smoke_results.read_text())

    env = dict(os.environ, OMP_NUM_THREADS="1")
    command = _torchrun() + ["--nproc_per_node", "2", "--master_port", "29517", "-m", "harness", "run",
                             "--inter", "hellaswag", "--target", "pawsx", "--preset", "smoke",
                             "--output", str(tmp_path), "--tracker", "tensorboard"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    assert done.stdout.count("average") == 1, "only the main process prints the table"
    # only the main process reports to trackers: one event file per phase, the curve's points once each
    events = sorted((tmp_path / "trackers" / "tensorboard").rglob("events.out.tfevents.*"))
    assert len(events) == 2 and "warning" not in done.stderr
    (path,) = (tmp_path / "runs").glob("*/results.json")
    record = json.loads(path.read_text())
    assert record["environment"]["processes"] == 2
    for phase, classes in (("intermediate", 4), ("target", 2)):
        multi, one = record["phases"][phase]["history"], single_record["phases"][phase]["history"]
        assert multi["processes"] == 2 and multi["per_device_batch_size"] == 4  # 8 = 4 per process × 2
        assert multi["updates"] == one["updates"]  # same optimizer steps as one process
        for epoch_multi, epoch_one in zip(multi["epochs"], one["epochs"]):
            # a random head starts near ln(classes); a doubled (summed) loss would be twice that
            assert epoch_multi["train_loss"] < 1.25 * math.log(classes)
            assert 0.8 < epoch_multi["train_loss"] / epoch_one["train_loss"] < 1.25
    assert len(record["scores"]["per_language"]) == 7
