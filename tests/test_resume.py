"""Exact resume inside a phase, stop signals, locks and stale temporary folders (issue 8).

A run killed at any moment and started again must end bitwise identical to one that was never
interrupted: the same scores, the same prediction files, the same saved encoder.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import zygote  # tests/zygote.py: `python -m harness` without re-importing torch each time

CELL = ["--inter", "hellaswag", "--target", "pawsx", "--preset", "smoke", "--languages", "en,de,ja"]


class Run:
    """`xharness run` in a subprocess whose stderr lines are collected as they come."""

    def __init__(self, output: Path, *extra: str, command: str = "run", cell=CELL, fresh: bool = False):
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        # a zygote's child unless ``fresh`` (tests/zygote.py); the reference is a fresh interpreter, so
        # that runs compared with it bitwise differ from it in hash seed and import history too
        start = subprocess.Popen if fresh else zygote.popen
        self.process = start([sys.executable, "-m", "harness", command, *cell, "--output", str(output), *extra],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.process.stderr:
            self.lines.append(line)

    def wait(self, timeout: float = 300) -> int:
        code = self.process.wait(timeout=timeout)
        self._reader.join(timeout=10)
        return code

    @property
    def text(self) -> str:
        return "".join(self.lines)


def outcome(output: Path) -> dict:
    """What must be bitwise equal: scores, prediction files and the phase-2 encoder's weights."""
    (results,) = output.glob("runs/*/results.json")
    record = json.loads(results.read_text())
    predictions = {p.name: p.read_bytes() for p in sorted(results.parent.glob("predictions/*/*"))}
    (weights,) = output.glob("intermediate/*/encoder/model.safetensors")
    return {"scores": record["scores"], "predictions": predictions, "encoder": weights.read_bytes(),
            "losses": [e["train_loss"] for phase in ("intermediate", "target")
                       for e in record["phases"][phase]["history"]["epochs"]]}


@pytest.fixture(scope="session")  # per worker: a module xdist splits does not rebuild it
def reference(tmp_path_factory) -> tuple[Path, dict, dict]:
    """The uninterrupted run, and how many updates its two phases make."""
    output = tmp_path_factory.mktemp("reference")
    run = Run(output, fresh=True)
    assert run.wait() == 0, run.text
    (results,) = output.glob("runs/*/results.json")
    record = json.loads(results.read_text())
    updates = {phase: record["phases"][phase]["history"]["updates"] for phase in ("intermediate", "target")}
    assert not (output / "checkpoints" / "intermediate").exists() or \
        not any((output / "checkpoints" / "intermediate").iterdir()), "checkpoints must go once a phase is done"
    return output, outcome(output), updates


def _latest_checkpoint(output: Path, phase: str) -> tuple[int, str] | None:
    names = sorted(p.name for p in output.glob(f"checkpoints/{phase}/*/*") if not p.name.startswith("."))
    if not names:
        return None
    return int(names[-1][:9]), names[-1]


@pytest.mark.slow
def test_sigkill_at_many_moments_then_resume_is_bitwise_identical(reference, tmp_path):
    _, expected, updates = reference
    inter, target = updates["intermediate"], updates["target"]
    output = tmp_path / "out"

    def checkpoint_at_least(phase: str, update: int, epoch_end: bool = False):
        def reached() -> bool:
            latest = _latest_checkpoint(output, phase)
            return latest is not None and latest[0] >= update and (not epoch_end or latest[1].endswith("epoch"))
        return reached

    def line(text: str):
        return lambda run: any(text in l for l in run.lines)

    # Each moment is met by a later point of the same cell, so one chain of runs passes them all: one
    # of each sort of moment (before any checkpoint, mid-epoch, epoch end, between the phases, during
    # the test), each run costing a process start; test_determinism kills mid-epoch again.
    moments = [
        ("inside phase 2, before its first checkpoint", "line", line("phase 2: training")),
        ("inside phase 2's first epoch, after update 2", "files", checkpoint_at_least("intermediate", 2)),
        ("phase 2, end of its first epoch", "files", checkpoint_at_least("intermediate", inter // 3, True)),
        ("between the phases", "files", lambda: bool(list(output.glob("intermediate/*/manifest.json")))),
        ("inside phase 3's third epoch", "files", checkpoint_at_least("runs", target // 2 + 2)),
        ("during the test evaluation", "files", checkpoint_at_least("runs", target, True)),
    ]
    killed = []
    for description, how, condition in moments:
        run = Run(output, "--checkpoint-minutes", "0")
        deadline = time.monotonic() + 240
        while run.process.poll() is None and time.monotonic() < deadline:
            if condition(run) if how == "line" else condition():
                break
            time.sleep(0.002)
        if run.process.poll() is None:
            run.process.send_signal(signal.SIGKILL)
            killed.append(description)
        run.wait()
        if list(output.glob("runs/*/results.json")):
            break
    final = Run(output, "--checkpoint-minutes", "0")
    assert final.wait() == 0, final.text
    assert len(killed) >= 5, f"only {len(killed)} kills landed: {killed}"
    assert outcome(output) == expected
    assert not list(output.rglob("*.tmp")), "temporary folders of killed runs were not cleaned"
    assert not [p for p in output.glob("checkpoints/*/*/*")], "checkpoints remain after the phases finished"


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGUSR2])
def test_preemption_signal_checkpoints_exits_75_and_resumes_identically(reference, tmp_path, signum):
    _, expected, updates = reference
    output = tmp_path / "out"
    run = Run(output)  # default --checkpoint-minutes 30: only the signal makes a mid-epoch checkpoint
    while run.process.poll() is None and not any("hellaswag epoch 1:" in l for l in run.lines):
        time.sleep(0.002)
    run.process.send_signal(signum)  # during the second epoch
    assert run.wait() == 75, run.text
    last = run.lines[-1]
    assert f"stopped by {signal.Signals(signum).name}" in last and "checkpointed" in last
    assert "run the same command again" in last and "Traceback" not in run.text
    latest = _latest_checkpoint(output, "intermediate")
    # written for the signal (the timed ones are 30 minutes apart): at the next update or epoch end
    assert latest is not None and updates["intermediate"] // 3 <= latest[0] < updates["intermediate"], latest
    assert not list(output.glob("intermediate/*"))
    if signum == signal.SIGUSR2:
        # the same checkpoint as SIGTERM's, written by the same code: resuming from it is proven with
        # SIGTERM here and, for SIGUSR2, by the Slurm requeue test (tests/test_sweep.py)
        return
    again = Run(output)
    assert again.wait() == 0, again.text
    assert f"resuming from the checkpoint at update {latest[0]} " in again.text
    assert outcome(output) == expected


@pytest.mark.slow
def test_a_damaged_checkpoint_is_set_aside_and_training_starts_over(reference, tmp_path):
    _, expected, _ = reference
    output = tmp_path / "out"
    run = Run(output, "--checkpoint-minutes", "0")
    while run.process.poll() is None and (_latest_checkpoint(output, "intermediate") or (0,))[0] < 5:
        time.sleep(0.002)
    run.process.send_signal(signal.SIGKILL)
    run.wait()
    # killed between writing a checkpoint and removing the one before it, there are two
    checkpoints = [p for p in output.glob("checkpoints/intermediate/*/*")
                   if not p.name.startswith(".") and (p / "state.pt").is_file()]
    assert checkpoints
    for checkpoint in checkpoints:
        state = checkpoint / "state.pt"
        state.write_bytes(state.read_bytes()[: state.stat().st_size // 2])  # truncated
    again = Run(output)
    assert again.wait() == 0, again.text
    assert "is damaged" in again.text and "state.pt" in again.text
    assert "resuming from the checkpoint" not in again.text
    assert list((output / "damaged").iterdir()), "the damaged checkpoint must be kept aside"
    assert outcome(output) == expected


def _without_phase_3(reference, tmp_path: Path) -> tuple[Path, Path]:
    """A copy of the reference store whose finished run is gone: phase 3 must be computed again."""
    output = tmp_path / "out"
    shutil.copytree(reference[0], output)
    (run_dir,) = output.glob("runs/*")
    shutil.rmtree(run_dir)
    return output, run_dir


@pytest.mark.slow
def test_temporary_folders_of_a_dead_process_are_removed(reference, tmp_path):
    output, run_dir = _without_phase_3(reference, tmp_path)  # as after a crash while writing it
    litter = run_dir.parent / f".{run_dir.name}.99999.abcd.tmp"
    (litter / "predictions").mkdir(parents=True)
    (litter / "results.json").write_text("{}")
    again = Run(output)
    assert again.wait() == 0, again.text
    assert not litter.exists()
    assert f"removed {litter.name}" in again.text


# -- one store, many processes ----------------------------------------------------------

def test_no_wait_exits_with_one_line_when_another_process_holds_the_phase(reference, tmp_path):
    from harness.store.runstore import RunStore

    output, run_dir = _without_phase_3(reference, tmp_path)
    store = RunStore(output)
    with store.lock(run_dir, "test", lambda m: None):
        run = Run(output, "--no-wait")
        assert run.wait() == 3, run.text
    lines = [l for l in run.lines if l.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and f"pid {os.getpid()}" in lines[0]
    assert "--no-wait" in lines[0]


def test_a_lock_held_by_a_dead_process_is_taken_over(reference, tmp_path):
    output, run_dir = _without_phase_3(reference, tmp_path)
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from pathlib import Path; from harness.store.runstore import RunStore\n"
        f"store = RunStore(Path({str(output)!r}))\n"
        f"with store.lock(Path({str(run_dir)!r}), 't', print):\n"
        "    print('locked', flush=True); time.sleep(600)\n")], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    holder.kill()
    holder.wait()
    began = time.perf_counter()
    run = Run(output, "--no-wait")
    assert run.wait() == 0, run.text
    assert time.perf_counter() - began < 120


@pytest.mark.slow
def test_four_processes_on_overlapping_cells_train_each_phase_once(tmp_path):
    """Two targets share one phase 2; each cell is started twice. Every phase is trained once and
    every result equals the sequential run's."""
    from click.testing import CliRunner

    from harness.cli import cli

    output = tmp_path / "shared"
    # one epoch a phase: the processes still meet at the phase locks (they start together and wait
    # on each other's phase 2), and each phase is still trained once
    cells = [["--inter", "hellaswag", "--target", target, "--preset", "smoke", "--languages", "en,de",
              "--inter-epochs", "1", "--target-epochs", "1"] for target in ("pawsx", "xnli")]
    runs = [Run(output, cell=cells[i % 2]) for i in range(4)]
    codes = [run.wait() for run in runs]
    assert codes == [0, 0, 0, 0], "\n".join(r.text for r in runs)
    text = "".join(r.text for r in runs)
    assert text.count("phase 2: training on hellaswag") == 1
    assert text.count("phase 3: fine-tuning on pawsx") == 1 and text.count("phase 3: fine-tuning on xnli") == 1
    assert len(list(output.glob("intermediate/*/manifest.json"))) == 1
    sequential = tmp_path / "sequential"
    for cell in cells:  # in this process: the same command, two process starts fewer
        done = CliRunner().invoke(cli, ["run", *cell, "--output", str(sequential)])
        assert done.exit_code == 0, done.output
    assert len(list(sequential.glob("runs/*/results.json"))) == 2
    for results in sorted(sequential.glob("runs/*/results.json")):
        mine = output / "runs" / results.parent.name / "results.json"
        assert json.loads(mine.read_text())["scores"] == json.loads(results.read_text())["scores"]
