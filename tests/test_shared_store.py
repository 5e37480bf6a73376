"""A store a research group shares (issue 20): two users of one group (umask 002) write, reuse and
resume each other's cells; a user outside the group reads the finished ones from a store they
cannot write. Run as real ordinary users: root ignores the permissions under test."""

import json
import os
import shutil
import stat
import tempfile
from pathlib import Path

import pytest
from asuser import ensure_group, ensure_user, run_as

GROUP, ALICE, BOB, CAROL = "xhlab", "xh-alice", "xh-bob", "xh-carol"
FAST = ["--inter", "hellaswag", "--target", "pawsx", "--preset", "smoke", "--languages", "en,de",
        "--inter-epochs", "1", "--target-epochs", "2"]


@pytest.fixture(scope="session")  # per worker: a module xdist splits does not rebuild it
def lab():
    gid = ensure_group(GROUP)
    users = {ALICE: ensure_user(ALICE, GROUP), BOB: ensure_user(BOB, GROUP), CAROL: ensure_user(CAROL)}
    assert users[ALICE][1] == users[BOB][1] == gid and users[CAROL][1] != gid
    folder = Path(tempfile.mkdtemp(prefix="xharness-lab-"))  # pytest's tmp_path is private to root
    folder.chmod(0o755)
    store, cache = folder / "store", folder / "cache"
    for shared in (store, cache):  # as a lab sets it up: group-owned, set-group-ID, group-writable
        shared.mkdir()
        os.chown(shared, 0, gid)
        shared.chmod(0o2775)
    homes = {}
    for user, (uid, user_gid) in users.items():
        home = folder / f"home-{user}"
        home.mkdir()
        os.chown(home, uid, user_gid)
        homes[user] = home

    def run(user: str, *args: str, umask: int = 0o002):
        home = homes[user]
        env = {"HOME": str(home), "HF_HOME": str(home / "hf"), "XHARNESS_CACHE": str(cache)}
        return run_as(user, users[user][1], list(args), folder=folder, env=env, umask=umask)

    yield {"store": store, "cache": cache, "gid": gid, "run": run}
    shutil.rmtree(folder, ignore_errors=True)


def _not_shared(root: Path, gid: int) -> list[str]:
    """Everything under ``root`` the group could not read and write (umask 002), or that left the group."""
    wrong = []
    for path in [root, *root.rglob("*")]:
        info = os.lstat(path)
        mode = stat.S_IMODE(info.st_mode)
        if stat.S_ISDIR(info.st_mode):
            ok = mode & 0o2770 == 0o2770  # rwx for the group, and the set-group-ID bit kept
        else:
            ok = mode & 0o660 == 0o660
        if not ok or info.st_gid != gid:
            wrong.append(f"{path.relative_to(root)} {oct(mode)} gid {info.st_gid}")
    return wrong


@pytest.mark.slow
def test_a_group_shares_reuses_and_resumes_and_an_outsider_reads(lab):
    store, run = lab["store"], lab["run"]
    first = run(ALICE, "run", *FAST, "--keep-checkpoints", "--output", store)
    assert first.returncode == 0, first.stdout + first.stderr
    # weights (safetensors writes 0600), checkpoints, features, locks, the built tiny model: all the group's
    assert _not_shared(store, lab["gid"]) == []
    assert _not_shared(lab["cache"], lab["gid"]) == []
    assert list(store.glob("checkpoints/runs/*/*/state.pt")) and list(store.glob("intermediate/*/encoder/*.safetensors"))

    # Bob reuses Alice's finished run (keeping her checkpoints: a reuse clears those of a finished phase)
    again = run(BOB, "run", *FAST, "--keep-checkpoints", "--output", store)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "reusing finished run" in again.stderr

    # ... and resumes her phase 3 from her checkpoint after it stopped (its run folder is not there)
    (run_dir,) = (store / "runs").iterdir()
    expected = json.loads((run_dir / "results.json").read_text())["scores"]
    shutil.move(str(run_dir), str(lab["store"].parent / "alice-run"))
    resumed = run(BOB, "run", *FAST, "--output", store)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "reusing finished phase" in resumed.stderr and "resuming from the checkpoint" in resumed.stderr, resumed.stderr
    assert json.loads((run_dir / "results.json").read_text())["scores"] == expected
    assert _not_shared(store, lab["gid"]) == []

    # Carol is outside the group: the store is read-only to her, and serves what it holds
    read = run(CAROL, "run", *FAST, "--output", store, umask=0o022)
    assert read.returncode == 0, read.stdout + read.stderr
    assert "reusing finished run" in read.stderr and "average" in read.stdout
    status = run(CAROL, "sweep", *FAST[:-4], "--inter-epochs", "1", "--target-epochs", "2", "--output", store,
                 "--status", umask=0o022)
    assert status.returncode == 0, status.stdout + status.stderr
    assert "1 done, 0 running, 0 failed, 0 missing of 1 cells" in status.stdout
    missing = run(CAROL, "run", *FAST, "--seed", "7", "--output", store, umask=0o022)
    lines = [line for line in (missing.stdout + missing.stderr).splitlines() if line.strip()]
    assert missing.returncode == 1 and len(lines) == 1, lines
    assert lines[0].startswith(f"error: --output {store} cannot be written") and "writable --output" in lines[0]


def test_a_sweep_over_a_read_only_store(lab):
    """Carol (outside the group) sweeps a grid the group finished: nothing to do, exit 0; a grid
    with a cell still missing is refused in one line that names the store."""
    store, run = lab["store"], lab["run"]
    grid = ["--inter", "hellaswag", "--target", "pawsx", "--preset", "smoke", "--languages", "en,de",
            "--inter-epochs", "1", "--target-epochs", "2", "--output", store]
    made = run(ALICE, "sweep", *grid)
    assert made.returncode == 0, made.stdout + made.stderr
    done = run(CAROL, "sweep", *grid, umask=0o022)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 done now, 1 reused" in done.stderr
    more = run(CAROL, "sweep", *grid, "--seeds", "42,7", umask=0o022)
    lines = [line for line in (more.stdout + more.stderr).splitlines() if line.strip().startswith("error")]
    assert more.returncode == 1 and len(lines) == 1 and "Traceback" not in more.stderr, more.stdout + more.stderr
    assert f"--output {store} cannot be written" in lines[0] and "writable --output" in lines[0]
