"""`xharness sweep`: plan, run what is missing, reuse phase 2, survive kills and failures (issue 8)."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from harness.cli import cli
import zygote  # tests/zygote.py: `python -m harness` without re-importing torch each time

FAST = ["--preset", "smoke", "--languages", "en,de", "--inter-epochs", "1", "--target-epochs", "1"]
GRID = ["--inter", "hellaswag,mnli,none", "--target", "pawsx,xnli", "--seeds", "1,2", *FAST]


def sweep(output: Path, *args: str):
    return CliRunner().invoke(cli, ["sweep", *args, "--output", str(output)])


def results(output: Path) -> dict[str, dict]:
    return {p.parent.name: json.loads(p.read_text()) for p in sorted(output.glob("runs/*/results.json"))}


@pytest.fixture(scope="session")  # per worker: a module xdist splits does not rebuild it
def swept(tmp_path_factory):
    """The 3 × 2 × 2 smoke grid, run once from scratch."""
    output = tmp_path_factory.mktemp("grid")
    planned = sweep(output, *GRID, "--dry-run")
    result = sweep(output, *GRID)
    return output, planned, result


def test_the_plan_counts_cells_and_trainings(swept):
    _, planned, _ = swept
    assert planned.exit_code == 0, planned.output
    assert "12 cells (3 intermediate × 2 target × 2 seeds × 1 models): 0 done" in planned.output
    assert "12 missing" in planned.output
    assert "intermediate trainings 4 to do of 4" in planned.output
    assert "target trainings 12 to do of 12" in planned.output
    assert "phase 2" not in planned.output  # a dry run trains nothing


def test_a_grid_trains_each_intermediate_phase_once(swept):
    output, _, result = swept
    assert result.exit_code == 0, result.output
    assert result.output.count("phase 2: training on") == 4  # 2 tasks × 2 seeds, not 2 × 2 × 2 targets
    assert result.output.count("reusing finished phase") == 4
    assert len(list(output.glob("intermediate/*/manifest.json"))) == 4
    records = results(output)
    assert len(records) == 12
    assert {(tuple(r["intermediate_tasks"]), r["target_task"], r["seed"]) for r in records.values()} == {
        (inter, target, seed) for inter in (("hellaswag",), ("mnli",), ()) for target in ("pawsx", "xnli")
        for seed in (1, 2)}
    assert "summary: 12 done now, 0 reused (done before), 0 failed" in result.output
    assert "[12/12]" in result.output and "left" in result.output  # overall progress with an estimate


def test_a_second_sweep_trains_nothing_and_status_says_done(swept):
    output, _, _ = swept
    before = {name: r["created"] for name, r in results(output).items()}
    again = sweep(output, *GRID)
    assert again.exit_code == 0, again.output
    assert "phase 2: training" not in again.output and "phase 3: fine-tuning" not in again.output
    assert "0 done now, 12 reused" in again.output
    assert {name: r["created"] for name, r in results(output).items()} == before
    status = sweep(output, "--status")  # the grid of the last sweep in that folder
    assert status.exit_code == 0, status.output
    assert "12 done, 0 running, 0 failed, 0 missing of 12 cells" in status.output
    dry = sweep(output, *GRID, "--dry-run")
    assert "12 done" in dry.output and "intermediate trainings 0 to do of 4" in dry.output


def test_a_grid_file_gives_the_same_grid(swept, tmp_path):
    output, _, _ = swept
    grid = tmp_path / "grid.toml"
    grid.write_text('inter = ["hellaswag", "mnli", "none"]\ntarget = ["pawsx", "xnli"]\nseeds = [1, 2]\n'
                    'preset = "smoke"\nlanguages = ["en", "de"]\ninter-epochs = 1\ntarget-epochs = 1\n')
    result = CliRunner().invoke(cli, ["sweep", str(grid), "--output", str(output), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "12 cells" in result.output and "12 done" in result.output
    grid.write_text('inter = ["none"]\ntarget = ["pawsx"]\nlearning-rate = 1\n')
    bad = CliRunner().invoke(cli, ["sweep", str(grid), "--output", str(output), "--dry-run"])
    assert bad.exit_code == 2 and "unknown key 'learning_rate'" in bad.output  # as for a wrong option


class Sweep:
    def __init__(self, output: Path, *args: str, grid=GRID):
        self.process = zygote.popen([sys.executable, "-m", "harness", "sweep", *grid, *args, "--output",
                                     str(output)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                    env=dict(os.environ, PYTHONUNBUFFERED="1"))
        self.lines: list[str] = []
        self._reader = threading.Thread(target=lambda: self.lines.extend(self.process.stderr), daemon=True)
        self._reader.start()

    def wait(self) -> int:
        code = self.process.wait(timeout=600)
        self._reader.join(timeout=10)
        return code


@pytest.mark.slow
def test_a_killed_sweep_completes_when_run_again(swept, tmp_path):
    reference, _, _ = swept
    output = tmp_path / "out"
    grid = ["--inter", "hellaswag,none", "--target", "pawsx", "--seeds", "1,2", *FAST]
    first = Sweep(output, grid=grid)
    def finished() -> int:  # a writer's hidden temporary folder holds a results.json before it is sealed
        return len([p for p in output.glob("runs/*/results.json") if not p.parent.name.startswith(".")])

    while first.process.poll() is None and finished() < 2:
        time.sleep(0.01)
    first.process.send_signal(signal.SIGKILL)
    first.wait()
    done = finished()
    assert 2 <= done < 4, "the kill came too late to test anything"
    status = sweep(output, "--status")
    assert status.exit_code == 1
    assert f"{done} done, 0 running, 0 failed, {4 - done} missing of 4 cells" in status.output
    # what a process killed while writing leaves behind (the cells have the reference grid's names)
    cells = {f"{inter}__pawsx__tiny__seed{seed}" for inter in ("hellaswag", "none") for seed in (1, 2)}
    pending = [name for name in results(reference)
               if name.split("-")[0] in cells and not (output / "runs" / name).exists()]
    assert len(pending) == 4 - done
    litter = output / "runs" / f".{pending[0]}.99999.abcdef.tmp"
    litter.mkdir()
    (litter / "results.json").write_text("{}")
    second = Sweep(output, grid=grid)
    assert second.wait() == 0, "".join(second.lines)
    text = "".join(second.lines)
    assert f"{4 - done} done now, {done} reused" in text
    # ours, and any the kill itself left (a checkpoint or phase being written)
    cleaned = re.search(r"cleaned (\d+) temporary folder\(s\) left by stopped runs", text)
    assert cleaned and int(cleaned.group(1)) >= 1 and not litter.exists(), text
    assert len(list(output.glob("intermediate/*/manifest.json"))) == 2
    mine, theirs = results(output), results(reference)
    assert len(mine) == 4
    for name, record in mine.items():  # the same cells as in the uninterrupted grid, the same scores
        assert record["scores"] == theirs[name]["scores"]


def test_a_failing_cell_does_not_stop_the_others(tmp_path):
    import xharness_xtreme

    data = tmp_path / "data"
    samples = Path(xharness_xtreme.__file__).parent / "samples"
    shutil.copytree(samples / "pawsx", data / "pawsx")
    shutil.copytree(samples / "xnli", data / "xnli")
    (test_file,) = (data / "xnli").rglob("xnli.test.tsv")
    test_file.write_text(test_file.read_text(encoding="utf-8") + "a line with too few fields\n", encoding="utf-8")
    output = tmp_path / "out"
    result = sweep(output, "--inter", "none", "--target", "xnli,pawsx", "--data-dir", str(data), *FAST)
    assert result.exit_code == 1
    assert "summary: 1 done now, 0 reused (done before), 1 failed" in result.output
    failure = next(line for line in result.output.splitlines() if line.strip().startswith("failed: none → xnli"))
    assert "xnli.test.tsv" in failure and "log: " in failure
    log = Path(failure.split("log: ")[1].rstrip(")"))
    assert "xnli.test.tsv" in log.read_text()
    assert [r["target_task"] for r in results(output).values()] == ["pawsx"]
    status = sweep(output, "--status")
    assert "1 done, 0 running, 1 failed, 0 missing of 2 cells" in status.output
    # the data fixed, the same sweep tries the failed cell again and only that one
    test_file.write_text(test_file.read_text(encoding="utf-8").replace("a line with too few fields\n", ""),
                         encoding="utf-8")
    again = sweep(output, "--inter", "none", "--target", "xnli,pawsx", "--data-dir", str(data), *FAST)
    assert again.exit_code == 0, again.output
    assert "summary: 1 done now, 1 reused (done before), 0 failed" in again.output
    assert sorted(r["target_task"] for r in results(output).values()) == ["pawsx", "xnli"]


def test_two_local_workers_share_the_grid(tmp_path):
    output = tmp_path / "out"
    grid = ["--inter", "hellaswag", "--target", "pawsx,xnli", *FAST]
    run = Sweep(output, "--devices", "cpu,cpu", grid=grid)
    assert run.wait() == 0, "".join(run.lines)
    text = "".join(run.lines)
    assert "worker on device cpu" in text
    assert text.count("phase 2: training on hellaswag") == 1
    assert len(results(output)) == 2
    assert "summary: " in text and "0 failed" in text


@pytest.mark.slow
def test_the_slurm_path_requeues_a_signalled_cell_and_resumes_it(swept, tmp_path):
    """submitit's local executor stands in for Slurm: SIGUSR2 to the job (as Slurm sends before the
    time limit) makes it checkpoint, be requeued and resume, with the scores of an unsignalled run."""
    import submitit

    from harness.contract.discovery import discover
    from harness.grids.sweep import Grid, plan_grid, submit

    reference, _, _ = swept
    grid = Grid(inter=["hellaswag"], target=["pawsx"], seeds=[1], preset="smoke", output=str(tmp_path / "out"),
                languages=["en", "de"], overrides={"inter_epochs": 1.0, "target_epochs": 1.0},
                checkpoint_minutes=0.0)
    cells = plan_grid(grid, discover())
    executor = submitit.LocalExecutor(folder=str(tmp_path / "jobs"))
    executor.update_parameters(timeout_min=10)
    (job,) = submit(cells, executor)
    output = Path(grid.output)
    deadline = time.monotonic() + 120
    while not [p for p in output.glob("checkpoints/intermediate/*/*") if not p.name.startswith(".")]:
        assert time.monotonic() < deadline and job.state != "FINISHED", job.stderr()
        time.sleep(0.005)
    tasks = _children(job._process.pid)  # the job's task, as Slurm would signal it
    assert tasks
    for pid in tasks:
        os.kill(pid, signal.SIGUSR2)
    outcome = job.result()
    log = job.stdout() + (job.stderr() or "")
    assert "Requeued job" in log and "resuming from the checkpoint at update" in log
    (name,) = results(output)
    assert outcome["scores"] == results(reference)[name]["scores"]


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry))
    return found


def test_status_shows_a_cell_another_process_is_computing(swept, tmp_path):
    from harness.store.runstore import RunStore

    source, _, _ = swept
    output = tmp_path / "out"
    shutil.copytree(source, output, ignore=shutil.ignore_patterns("locks"))
    run_dir = sorted((output / "runs").iterdir())[0]
    shutil.rmtree(run_dir)
    with RunStore(output).lock(run_dir, "test", lambda m: None):
        status = sweep(output, "--status")
    assert status.exit_code == 1
    assert "11 done, 1 running, 0 failed, 0 missing of 12 cells" in status.output
    assert f"pid {os.getpid()}" in status.output
