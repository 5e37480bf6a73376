"""Write faults lose nothing and say one line (a run store a lab can share): a full disk, a quota or a
read-only file system while writing a checkpoint, a feature cache entry, a phase's results or a
sweep's log ends with one line naming the path and what to do, exit 1, the last good checkpoint
intact and no temporary file left. The faults are real: small tmpfs mounts inside the store, filled
up or remounted read-only at the right moment (root only; skipped elsewhere)."""

import errno
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from harness.cli import cli

FAST = ["--inter", "hellaswag", "--target", "pawsx", "--preset", "smoke", "--languages", "en,de",
        "--inter-epochs", "1", "--target-epochs", "2"]


def run(output: Path, *extra: str):
    return CliRunner().invoke(cli, ["run", *FAST, "--output", str(output), *extra])


class Mounts:
    """tmpfs mounts made by one test; every one is unmounted when the test ends."""

    def __init__(self):
        self.mounted: list[Path] = []

    def tmpfs(self, path: Path, size: str) -> Path:
        path.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(path)],
                              capture_output=True, text=True)
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs at {path}: {done.stderr.strip() or done.returncode}")
        self.mounted.append(path)
        return path

    def read_only(self, path: Path) -> None:
        subprocess.run(["mount", "-o", "remount,ro", str(path)], check=True, capture_output=True)

    def unmount(self, path: Path) -> None:
        if path in self.mounted:
            self.mounted.remove(path)
            if subprocess.run(["umount", str(path)], capture_output=True).returncode != 0:
                subprocess.run(["umount", "-l", str(path)], capture_output=True)

    def unmount_all(self) -> None:
        for path in reversed(list(self.mounted)):
            self.unmount(path)


@pytest.fixture
def mounts():
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    made = Mounts()
    try:
        yield made
    finally:
        made.unmount_all()


def fill(folder: Path) -> None:
    """Take every free block of the file system of ``folder``."""
    fd = os.open(folder / "filler", os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError as exc:
        assert exc.errno == errno.ENOSPC
    finally:
        os.close(fd)


def the_error_line(result, *words: str) -> str:
    """Exit 1 through the CLI's own error path (not a crash), exactly one ``error:`` line holding
    ``words``, and no traceback."""
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.output  # a crash also exits 1 under CliRunner
    assert "Traceback" not in result.output, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.output
    for word in words:
        assert word in errors[0], errors[0]
    return errors[0]


def no_temporary_files(store: Path) -> None:
    assert not list(store.rglob("*.tmp")), sorted(store.rglob("*.tmp"))


def checkpoints(store: Path, phase: str) -> list[Path]:
    """The complete checkpoints of ``phase`` (intermediate or runs), as the Checkpointer lists them."""
    return sorted(p for p in (store / "checkpoints" / phase).glob("*/*") if p.is_dir() and not p.name.startswith("."))


def loads(checkpoint: Path) -> None:
    from harness.training.checkpoint import read_state
    from harness.store.runstore import problem

    assert problem(checkpoint) is None, problem(checkpoint)
    state, why = read_state(checkpoint / "state.pt")
    assert state is not None, why


# -- checkpoints -----------------------------------------------------------------------------

def test_a_full_disk_while_checkpointing_keeps_the_last_good_checkpoint(tmp_path, mounts):
    """5 MiB: the first checkpoint (3.4 MiB) fits, the second does not (the first is removed only
    once the second is complete)."""
    store = tmp_path / "store"
    mounts.tmpfs(store / "checkpoints", "5m")
    result = run(store, "--checkpoint-minutes", "0")
    line = the_error_line(result, f"could not write the training checkpoint {store / 'checkpoints'}",
                          "no space left", "free some space", "run the same command again")
    (kept,) = checkpoints(store, "intermediate")
    assert kept.name == "000000001-0step" and f"the last good checkpoint, {kept}, is kept" in line
    loads(kept)
    no_temporary_files(store)


def test_a_read_only_file_system_while_checkpointing_keeps_the_last_good_checkpoint(tmp_path, mounts,
                                                                                     monkeypatch):
    """The checkpoints' file system turns read-only at the end of phase 2's epoch: the epoch's
    checkpoint fails, the last one written after an update stays."""
    import harness.common.progress

    store = tmp_path / "store"
    folder = mounts.tmpfs(store / "checkpoints", "64m")

    class Saboteur(harness.common.progress.Reporter):
        def log(self, message: str) -> None:
            if message.startswith("hellaswag epoch 1:"):
                mounts.read_only(folder)
            super().log(message)

    monkeypatch.setattr(harness.common.progress, "Reporter", Saboteur)
    result = run(store, "--checkpoint-minutes", "0")
    line = the_error_line(result, f"could not write the training checkpoint {store / 'checkpoints'}",
                          "read-only file system", "run the same command again")
    (kept,) = checkpoints(store, "intermediate")
    assert f"the last good checkpoint, {kept}, is kept: make {kept.parent} writable" in line
    assert "free some space" not in line  # no space to free: the advice fits the fault
    loads(kept)
    no_temporary_files(store)


# -- the feature cache -----------------------------------------------------------------------

def test_a_full_feature_cache_stops_the_run_with_one_line(tmp_path, mounts):
    """80 KiB: phase 2's two entries (72 KiB in pages) fit, phase 3's first one does not."""
    store = tmp_path / "store"
    mounts.tmpfs(store / "features", "80k")
    result = run(store, "--keep-checkpoints")
    the_error_line(result, f"could not write the feature cache entry {store / 'features'}", "no space left",
                   "free some space", "XHARNESS_FEATURE_CACHE=0", "run the same command again")
    from harness.store.runstore import problem

    (phase2,) = (store / "intermediate").iterdir()
    assert problem(phase2) is None  # what was finished before stays finished
    (kept,) = checkpoints(store, "intermediate")
    loads(kept)
    assert not (store / "runs").exists() or not list((store / "runs").iterdir())
    assert len(list((store / "features").glob("*.safetensors"))) == 2
    no_temporary_files(store)


def test_a_read_only_feature_cache_stops_the_run_with_one_line(tmp_path, mounts):
    """Read-only from the start: the store's write check names the folder before any work."""
    store = tmp_path / "store"
    features = mounts.tmpfs(store / "features", "64k")
    mounts.read_only(features)
    result = run(store)
    the_error_line(result, f"--output {store} cannot be written ({features}: Read-only file system)",
                   "run it with a writable --output")
    assert not list(store.glob("intermediate/*")) and not checkpoints(store, "intermediate")
    no_temporary_files(store)


def test_a_feature_cache_turning_read_only_stops_the_run_with_one_line(tmp_path, mounts, monkeypatch):
    """Read-only once phase 2 starts, after the write check: its first entry cannot be written."""
    import harness.common.progress

    store = tmp_path / "store"
    features = mounts.tmpfs(store / "features", "64k")

    class Saboteur(harness.common.progress.Reporter):
        def log(self, message: str) -> None:
            if message.startswith("phase 2: training on"):
                mounts.read_only(features)
            super().log(message)

    monkeypatch.setattr(harness.common.progress, "Reporter", Saboteur)
    result = run(store)
    line = the_error_line(result, f"could not write the feature cache entry {features}", "read-only file system",
                          f"make {features} writable", "XHARNESS_FEATURE_CACHE=0", "run the same command again")
    assert "free some space" not in line
    assert not list(store.glob("intermediate/*")) and not checkpoints(store, "intermediate")
    no_temporary_files(store)


# -- a phase's results ------------------------------------------------------------------------

def test_a_full_disk_at_the_end_rescues_the_phase_and_putting_it_back_reuses_it(tmp_path, mounts):
    """8 KiB under runs/: the trained run does not fit; it is written to the user's rescue folder
    (created 0700), the line says where and how to put it back, and doing so makes the next run
    reuse it."""
    from harness.cell.planning import cache_root
    from harness.store.runstore import problem

    store = tmp_path / "store"
    runs = mounts.tmpfs(store / "runs", "8k")
    result = run(store)
    line = the_error_line(result, f"could not write {runs}", "no space left", "is kept in",
                          "run the same command again")
    run_dir = Path(line.split("could not write ")[1].split(" (")[0])
    rescued = Path(line.split("is kept in ")[1].split(": move")[0])
    assert f"move that folder to {run_dir}" in line
    assert rescued.parent == cache_root() / "rescued"
    assert rescued.parent.stat().st_mode & 0o777 == 0o700
    assert problem(rescued) is None and (rescued / "results.json").is_file()
    (kept,) = checkpoints(store, "runs")  # the trained state is kept too
    loads(kept)
    no_temporary_files(store)

    mounts.unmount(runs)  # space is free again
    shutil.move(str(rescued), str(run_dir))
    again = run(store)
    assert again.exit_code == 0, again.output
    assert "reusing finished run" in again.output and "training" not in again.output


# -- the rescue folder is the user's own ---------------------------------------------------------

@pytest.fixture
def full_store(tmp_path, mounts, monkeypatch):
    """A store whose runs/ is full and whose user cache is read-only: a rescue goes to $TMPDIR."""
    from harness.store.runstore import RunStore

    cache = mounts.tmpfs(tmp_path / "cache", "64k")
    mounts.read_only(cache)
    monkeypatch.setenv("XHARNESS_CACHE", str(cache))
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    store = RunStore(tmp_path / "store")
    mounts.tmpfs(store.root / "runs", "8k")
    return store, temp / f"xharness-rescued-{os.getuid()}"


def results(folder: Path) -> None:
    (folder / "results.json").write_text("{}" + " " * 20000)  # more than the 8 KiB of runs/


def test_the_rescue_folder_in_tmpdir_is_created_private(full_store):
    from harness.contract.errors import UserError
    from harness.store.runstore import problem

    store, private = full_store
    folder = store.root / "runs" / "cell"
    previous = os.umask(0)
    try:
        with pytest.raises(UserError) as caught:
            store.write(folder, results)
    finally:
        os.umask(previous)
    message = str(caught.value)
    assert "\n" not in message and f"could not write {folder} (no space left" in message
    assert private.is_dir() and not private.is_symlink()
    assert private.stat().st_mode & 0o777 == 0o700
    (rescued,) = private.iterdir()
    assert f"is kept in {rescued}: move that folder to {folder}" in message
    assert problem(rescued) is None
    no_temporary_files(store.root)


def test_an_own_rescue_folder_open_to_others_is_made_private(full_store):
    from harness.contract.errors import UserError

    store, private = full_store
    private.mkdir(mode=0o755)
    os.chmod(private, 0o777)
    with pytest.raises(UserError) as caught:
        store.write(store.root / "runs" / "cell", results)
    assert private.stat().st_mode & 0o777 == 0o700
    (rescued,) = private.iterdir()
    assert f"is kept in {rescued}" in str(caught.value)


@pytest.mark.parametrize("planted", ["a symbolic link", "another user's folder"])
def test_a_planted_rescue_folder_in_tmpdir_is_not_used(full_store, tmp_path, planted):
    from harness.contract.errors import UserError

    store, private = full_store
    theirs = tmp_path / "theirs"
    theirs.mkdir(mode=0o777)
    os.chmod(theirs, 0o777)
    if planted == "a symbolic link":
        private.symlink_to(theirs)
        seen = theirs
    else:
        private.mkdir(mode=0o777)
        os.chmod(private, 0o777)
        os.chown(private, 4242, 4242)
        seen = private
    folder = store.root / "runs" / "cell"
    with pytest.raises(UserError) as caught:
        store.write(folder, results)
    message = str(caught.value)
    assert "\n" not in message and f"could not write {folder} (no space left" in message
    assert "no rescue folder could be written" in message and "free some space" in message
    assert not list(seen.iterdir())  # nothing of ours went where someone else can read or swap it
    assert os.lstat(private).st_uid == (os.getuid() if planted == "a symbolic link" else 4242)
    no_temporary_files(store.root)


# -- quotas: the error, bare and as libraries wrap it --------------------------------------------

def _raised_while_handling(first: BaseException, second: BaseException) -> BaseException:
    try:
        try:
            raise first
        except BaseException:
            raise second  # noqa: B904 -- the implicit context is what libraries leave
    except BaseException as exc:
        return exc


def test_a_quota_is_a_storage_fault_in_every_form():
    from safetensors import SafetensorError

    from harness.common.fsutil import storage_fault

    quota = OSError(errno.EDQUOT, os.strerror(errno.EDQUOT), "/store/checkpoints/x/state.pt")
    assert storage_fault(quota) == "disk quota exceeded"
    # torch.save into a file object: a RuntimeError raised while handling the file's OSError
    torch_form = _raised_while_handling(quota, RuntimeError("[enforce fail at inline_container.cc:672] . "
                                                            "unexpected pos 704 vs 598"))
    assert storage_fault(torch_form) == "disk quota exceeded"
    # safetensors: the operating system's error only as text
    rust = SafetensorError("Error while serializing: I/O error: Disk quota exceeded (os error 122)")
    assert storage_fault(rust) == "disk quota exceeded"
    full = SafetensorError("Error while serializing: I/O error: No space left on device (os error 28)")
    assert storage_fault(full) == "no space left on the device"
    assert storage_fault(_raised_while_handling(OSError(errno.EROFS, "Read-only file system"), ValueError("x"))) \
        == "read-only file system"
    # other errors are not storage faults
    assert storage_fault(OSError(errno.EACCES, "Permission denied")) is None
    assert storage_fault(RuntimeError("no such file (os error 2)")) is None
    assert storage_fault(None) is None


def test_real_library_errors_on_a_full_disk_are_storage_faults(tmp_path, mounts):
    import torch
    from safetensors.torch import save_file

    from harness.common.fsutil import storage_fault

    folder = mounts.tmpfs(tmp_path / "small", "64k")
    with pytest.raises(Exception) as caught:
        save_file({"weights": torch.zeros(100_000)}, str(folder / "model.safetensors"))
    assert storage_fault(caught.value) == "no space left on the device"
    with pytest.raises(Exception) as caught:
        with open(folder / "state.pt", "wb") as handle:
            torch.save({"weights": torch.zeros(100_000)}, handle)
    assert storage_fault(caught.value) == "no space left on the device"


# -- a sweep's log -------------------------------------------------------------------------------

SWEEP = ["--inter", "none", "--target", "pawsx", "--preset", "smoke", "--languages", "en,de",
         "--target-epochs", "2", "--checkpoint-minutes", "0"]


def sweep(output: Path):
    return CliRunner().invoke(cli, ["sweep", *SWEEP, "--output", str(output)])


def the_failed_cell(result, *words: str) -> str:
    """The sweep ends with exit 1, says the cell failed, with one line holding ``words``."""
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.output
    assert "Traceback" not in result.output, result.output
    assert "summary: 0 done now, 0 reused (done before), 1 failed" in result.output, result.output
    (line,) = [line for line in result.output.splitlines() if line.strip().startswith("failed: none → pawsx")]
    for word in words:
        assert word in line, line
    return line


def test_a_full_log_folder_fails_the_cell_with_one_line(tmp_path, mounts):
    store = tmp_path / "store"
    logs = mounts.tmpfs(store / "logs", "64k")
    fill(logs)
    result = sweep(store)
    the_failed_cell(result, f"log file {logs}", "no space left", "run the sweep again")
    assert not (store / "runs").exists() or not list((store / "runs").iterdir())
    no_temporary_files(store)


def test_a_log_folder_turning_read_only_fails_the_cell_with_one_line(tmp_path, mounts, monkeypatch):
    import harness.grids.sweep

    store = tmp_path / "store"
    logs = mounts.tmpfs(store / "logs", "1m")

    class Saboteur(harness.grids.sweep.CellReporter):
        def log(self, message: str) -> None:
            if message.startswith("pawsx epoch 1:"):
                mounts.read_only(logs)
            super().log(message)

    monkeypatch.setattr(harness.grids.sweep, "CellReporter", Saboteur)
    result = sweep(store)
    the_failed_cell(result, f"log file {logs}", "read-only file system", "run the sweep again")
    (kept,) = checkpoints(store, "runs")
    loads(kept)
    no_temporary_files(store)
