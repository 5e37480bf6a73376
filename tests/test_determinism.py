"""Determinism a shared run store depends on (issue "a run store that a lab can share").

* A phase-2 encoder folder is byte for byte the same whether its features were computed or all
  read from the store's feature cache (a fast tokenizer's ``tokenizer.json`` records the
  truncation of its last call, and with every feature cached it is never called).
* Under torchrun every process computes the same loss history, and it is the global one: each
  epoch's ``train_loss`` is the mean over all micro-steps of all processes and ``first_loss``
  the mean of every process's first micro-step, also when the epoch was resumed from a
  checkpoint written in its middle (a checkpoint's loop counters are the main process's; each
  process's own partial loss sum must survive it).
"""

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

CELL = ["--inter", "hellaswag", "--target", "pawsx", "--preset", "smoke", "--languages", "en,de",
        "--inter-epochs", "1", "--target-epochs", "1"]


def _run(output: Path, *extra: str):
    """The cell in this process (each run loads its own tokenizer, as a process of its own would)."""
    from click.testing import CliRunner

    from harness.cli import cli

    return CliRunner().invoke(cli, ["run", *CELL, "--output", str(output), *extra])


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.slow
def test_encoder_folder_is_byte_identical_with_and_without_cached_features(tmp_path):
    cold, warm = tmp_path / "cold", tmp_path / "warm"
    done = _run(cold)
    assert done.exit_code == 0, done.output[-4000:]
    # the same cell into a fresh store whose feature cache already holds every feature it needs
    shutil.copytree(cold / "features", warm / "features")
    cached = sorted(p.name for p in (warm / "features").iterdir())
    done = _run(warm)
    assert done.exit_code == 0, done.output[-4000:]
    assert sorted(p.name for p in (warm / "features").iterdir()) == cached, "every feature came from the cache"

    (cold_encoder,) = cold.glob("intermediate/*/encoder")
    (warm_encoder,) = warm.glob("intermediate/*/encoder")
    assert cold_encoder.parent.name == warm_encoder.parent.name  # the same phase key
    assert (cold_encoder / "tokenizer.json").read_bytes() == (warm_encoder / "tokenizer.json").read_bytes()
    cold_files, warm_files = _files(cold_encoder), _files(warm_encoder)
    assert sorted(cold_files) == sorted(warm_files)
    assert [name for name in cold_files if cold_files[name] != warm_files[name]] == []
    # and so the digests the two stores sealed for the encoder agree
    sealed = [{name: entry for name, entry in json.loads((e.parent / "manifest.json").read_text())["files"].items()
               if name.startswith("encoder/")} for e in (cold_encoder, warm_encoder)]
    assert sealed[0] == sealed[1] and len(sealed[0]) == len(cold_files)
    # saved without the truncation and padding of the tokenizer's last call (the cold run's featurisation)
    tokenizer_json = json.loads((cold_encoder / "tokenizer.json").read_text())
    assert tokenizer_json["truncation"] is None and tokenizer_json["padding"] is None


# -- two processes under torchrun --------------------------------------------------------

WORKER = r'''
"""`xharness run` under torchrun, with every process dumping its micro-step losses and the
history train_tasks returned; with STOP_AT, process 1 gets SIGTERM during that micro-step."""
import json, os, signal, sys
from pathlib import Path

import harness.training.loop as train

dump, stop_at, rank = Path(os.environ["DUMP"]), int(os.environ.get("STOP_AT", "0")), int(os.environ["RANK"])
calls = []
original_run, original_train = train.Step.run, train.train_tasks


def run(self, task_name, kind, batch, last_micro):
    loss = original_run(self, task_name, kind, batch, last_micro)
    calls[-1].append(float(loss))
    if stop_at and rank == 1 and len(calls) == 1 and len(calls[-1]) == stop_at:
        os.kill(os.getpid(), signal.SIGTERM)  # a preemption signal that reaches one process only
    return loss


def train_tasks(accelerator, model, tasks, **options):
    steps, history = [], None
    calls.append(steps)
    try:
        history = original_train(accelerator, model, tasks, **options)
        return history
    finally:
        name = "+".join(t.spec.name for t in tasks)
        (dump / f"{name}-rank{rank}.json").write_text(json.dumps({"steps": steps, "history": history}))


train.Step.run, train.train_tasks = run, train_tasks
sys.argv = ["xharness", *sys.argv[1:]]
from harness.cli import main

main()
'''


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _torchrun(script: Path, output: Path, dump: Path, **env) -> subprocess.CompletedProcess:
    found = shutil.which("torchrun", path=str(Path(sys.executable).parent)) or shutil.which("torchrun")
    launcher = [found] if found else [sys.executable, "-m", "torch.distributed.run"]
    dump.mkdir(parents=True)
    command = launcher + ["--nproc_per_node", "2", "--master_port", str(_free_port()), str(script), "run", *CELL,
                          "--output", str(output)]
    return subprocess.run(command, capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, OMP_NUM_THREADS="1", DUMP=str(dump), **env))


def _dumps(folder: Path, name: str) -> list[dict]:
    return [json.loads((folder / f"{name}-rank{rank}.json").read_text()) for rank in (0, 1)]


def _without_clocks(history: dict) -> dict:
    """A history less what each process measures with its own clock."""
    history = dict(history, train_seconds=None)
    if "checkpoints" in history:
        history["checkpoints"] = dict(history["checkpoints"], seconds=None)
    return history


@pytest.mark.slow
def test_every_process_records_the_global_losses_across_a_mid_epoch_resume(tmp_path):
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    output = tmp_path / "store"
    stop_at = 3  # of phase 2's 8 updates (64 examples, 4 per process × 2 processes per update)
    stopped = _torchrun(script, output, tmp_path / "stopped", STOP_AT=str(stop_at))
    assert stopped.returncode != 0 and not list(output.glob("runs/*/results.json")), stopped.stderr[-4000:]
    assert "stopped by SIGTERM" in stopped.stderr and "checkpointed" in stopped.stderr, stopped.stderr[-4000:]
    assert [p.name for p in output.glob("checkpoints/intermediate/*/*")] == [f"{stop_at:09d}-0step"]

    resumed = _torchrun(script, output, tmp_path / "resumed")
    assert resumed.returncode == 0, resumed.stdout[-2000:] + resumed.stderr[-4000:]
    assert f"resuming from the checkpoint at update {stop_at} " in resumed.stderr
    (results,) = output.glob("runs/*/results.json")
    record = json.loads(results.read_text())
    assert record["environment"]["processes"] == 2

    for phase, name in (("intermediate", "hellaswag"), ("target", "pawsx")):
        ranks = _dumps(tmp_path / "resumed", name)
        steps = [mine["steps"] for mine in ranks]
        if phase == "intermediate":  # the micro-steps before the checkpoint ran in the stopped run
            before = [mine["steps"] for mine in _dumps(tmp_path / "stopped", name)]
            assert [len(s) for s in before] == [stop_at, stop_at]
            steps = [b + s for b, s in zip(before, steps)]
        assert len(steps[0]) == len(steps[1]) == record["phases"][phase]["history"]["updates"]
        histories = [mine["history"] for mine in ranks]
        # every process computed the same history, and it is the one results.json records
        assert _without_clocks(histories[0]) == _without_clocks(histories[1])
        assert histories[0]["epochs"] == record["phases"][phase]["history"]["epochs"]
        (epoch,) = histories[0]["epochs"]
        everything = steps[0] + steps[1]
        assert steps[0] != steps[1], "the processes took different batches"
        # the mean over all micro-steps of all processes: not rank 0's, not a sum over processes
        assert epoch["train_loss"] == pytest.approx(sum(everything) / len(everything), rel=1e-6, abs=0)
        assert epoch["first_loss"] == pytest.approx((steps[0][0] + steps[1][0]) / 2, rel=1e-6, abs=0)
    assert record["phases"]["intermediate"]["history"]["resumed_at_update"] == [stop_at]
