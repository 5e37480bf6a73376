"""A sweep in a store a lab shares: stop signals reach every worker, a symbolic link at a log path
is refused, and wrong grid files and invalid cells fail with one line."""

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest
from click.testing import CliRunner

from harness.cli import cli

FAST = ["--preset", "smoke", "--languages", "en,de", "--inter-epochs", "1", "--target-epochs", "1"]


def sweep(output: Path, *args: str):
    return CliRunner().invoke(cli, ["sweep", *args, "--output", str(output)])


# -- signals reach the whole sweep ---------------------------------------------------------

class Workers:
    """`xharness sweep --devices cpu,cpu` in a session of its own, as a shell starts a job."""

    def __init__(self, output: Path):
        grid = ["--inter", "hellaswag,mnli,none", "--target", "pawsx,xnli", "--seeds", "1,2", *FAST,
                "--checkpoint-minutes", "0"]
        self.output = output
        self.process = subprocess.Popen([sys.executable, "-m", "harness", "sweep", *grid, "--devices", "cpu,cpu",
                                         "--output", str(output)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                        text=True, env=dict(os.environ, PYTHONUNBUFFERED="1"),
                                        start_new_session=True)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=lambda: self.lines.extend(self.process.stderr), daemon=True)
        self._reader.start()

    def training(self) -> list[psutil.Process]:
        """Wait until both workers run and one has written a training checkpoint; the processes under
        the sweep (the workers and anything they started)."""
        deadline = time.monotonic() + 300
        while not [p for p in self.output.glob("checkpoints/*/*/*") if not p.name.startswith(".")]:
            assert self.process.poll() is None and time.monotonic() < deadline, "".join(self.lines)
            time.sleep(0.02)
        children = psutil.Process(self.process.pid).children(recursive=True)
        assert len([c for c in children if c.ppid() == self.process.pid]) == 2, "".join(self.lines)
        return children

    def wait(self) -> int:
        code = self.process.wait(timeout=300)
        self._reader.join(timeout=10)
        return code


def _alive(processes: list[psutil.Process]) -> list[psutil.Process]:
    return [p for p in processes if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]


def _stop_and_check(tmp_path: Path, send, signum: int, code: int) -> list[str]:
    run = Workers(tmp_path / "out")
    workers: list[psutil.Process] = []
    try:
        workers = run.training()
        send(run.process.pid)
        assert run.wait() == code, "".join(run.lines)
        _, still = psutil.wait_procs(workers, timeout=30)
        assert not _alive(still), f"workers still running after the sweep stopped: {still}"
    finally:
        for process in _alive(workers):  # ours only, by pid: never leave a training behind
            process.kill()
        if run.process.poll() is None:
            run.process.kill()
    text = "".join(run.lines)
    assert "Traceback" not in text and "Aborted!" not in text, text
    name = signal.Signals(signum).name
    assert text.count(f"(device cpu) sweep stopped by {name}") == 2, text  # each worker, once
    last = run.lines[-1]
    assert last.startswith(f"sweep stopped by {name}: 2 workers stopped"), last
    assert "run the same command again" in last and "checkpointed" not in last  # its own line claims no more
    output = tmp_path / "out"
    assert not [p for p in [*output.glob("runs/.*.tmp"), *output.glob("intermediate/.*.tmp")]], "temporary left"
    if "the running one checkpointed" in text:  # a worker that said so left its checkpoint
        assert [p for p in output.glob("checkpoints/*/*/*") if not p.name.startswith(".")]
    return run.lines


def test_sigterm_to_the_sweep_stops_every_worker(tmp_path):
    """Without forwarding, the parent exits 75 at once and both workers train on."""
    _stop_and_check(tmp_path, lambda pid: os.kill(pid, signal.SIGTERM), signal.SIGTERM, 75)


def test_ctrl_c_in_a_terminal_stops_every_worker_once(tmp_path):
    """Ctrl-C goes to the terminal's foreground process group: the sweep's, not its workers' (they
    have a session of their own), so each worker is stopped once, by the sweep."""
    _stop_and_check(tmp_path, lambda pid: os.killpg(pid, signal.SIGINT), signal.SIGINT, 130)


# -- a symbolic link at a log path ---------------------------------------------------------

def test_the_cell_log_never_follows_a_symbolic_link(tmp_path):
    from harness.contract.errors import UserError
    from harness.grids.sweep import CellReporter

    victim = tmp_path / "someone-elses-file"
    victim.write_text("theirs\n")
    log = tmp_path / "logs" / "cell.log"
    log.parent.mkdir()
    log.symlink_to(victim)
    with pytest.raises(UserError) as refused:
        CellReporter(log, enabled=False).write("a line")
    message = str(refused.value)
    assert f"the log file {log} is a symbolic link" in message and "remove it" in message
    assert victim.read_text() == "theirs\n" and log.is_symlink()


def test_a_sweep_fails_the_cell_whose_log_is_a_symbolic_link(tmp_path, registry):
    from harness.grids.sweep import Grid, plan_grid

    output = tmp_path / "out"
    grid = Grid(inter=["none"], target=["pawsx", "xnli"], preset="smoke", output=str(output), languages=["en", "de"],
                overrides={"target_epochs": 1.0})
    planted, other = plan_grid(grid, registry)
    victim = tmp_path / "someone-elses-file"
    victim.write_text("theirs\n")
    os.chmod(victim, 0o666)  # writable by anyone: only the sweep's refusal keeps it whole
    Path(planted.log).parent.mkdir(parents=True)
    Path(planted.log).symlink_to(victim)
    previous = os.umask(0o002)
    try:
        result = sweep(output, "--inter", "none", "--target", "pawsx,xnli", *FAST)
    finally:
        os.umask(previous)
    assert result.exit_code == 1, result.output
    assert "summary: 1 done now, 0 reused (done before), 1 failed" in result.output
    failure = next(line for line in result.output.splitlines() if line.strip().startswith("failed: none → pawsx"))
    assert f"the log file {planted.log} is a symbolic link" in failure and "remove it" in failure
    assert victim.read_text() == "theirs\n" and Path(planted.log).is_symlink()
    assert Path(other.log).stat().st_mode & 0o777 == 0o664  # a new log file follows the umask
    assert [p.name for p in output.glob("runs/*")] == [other.run_dir.name]


# -- grid files and dry runs that fail clearly ---------------------------------------------

GRID = 'inter = ["none"]\ntarget = ["pawsx"]\npreset = "smoke"\n'


@pytest.mark.parametrize("text, where, words", [
    (GRID.encode() + b"# caf\xe9\n", ":4", "not UTF-8"),
    (b'inter = ["none"]\ntarget = ["pawsx"]\nseeds = "abc"\n', ":3", "seeds takes whole numbers"),
    (b'inter = 3\ntarget = ["pawsx"]\n', ":1", "inter takes names"),
    (GRID.encode() + b'target-epochs = "many"\n', ":4", "target-epochs takes a number, not 'many'"),
    (GRID.encode() + b"batch-size = 1.5\n", ":4", "batch-size takes a whole number"),
    (GRID.encode() + b'keep-checkpoints = "yes"\n', ":4", "keep-checkpoints takes true or false"),
    (GRID.encode() + b"sampling = 3\n", ":4", "sampling takes a string, not 3"),
    (GRID.encode() + b"learning-rate = 1\n", "", "unknown key 'learning_rate'"),
])
def test_a_wrong_grid_file_fails_with_one_line(tmp_path, text, where, words):
    grid = tmp_path / "grid.toml"
    grid.write_bytes(text)
    result = sweep(tmp_path / "out", str(grid), "--dry-run")
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    assert lines[0].startswith(f"error: grid file {grid}{where}") and words in lines[0], lines[0]


def test_a_dry_run_lists_invalid_cells_and_fails(tmp_path):
    result = sweep(tmp_path / "out", "--inter", "nosuchtask,none", "--target", "pawsx", "--languages", "en,xx",
                   "--preset", "smoke", "--dry-run")
    assert result.exit_code == 2, result.output
    assert "0 missing, 2 invalid (below)" in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error: ")]
    assert len(errors) == 2, result.output
    assert errors[0].startswith("error: nosuchtask → pawsx · seed 42 · tiny: unknown intermediate task "
                                "'nosuchtask'")
    assert errors[1].startswith("error: none → pawsx · seed 42 · tiny:") and "xx" in errors[1]
    assert not (tmp_path / "out" / "sweeps").exists()  # nothing saved, nothing run
