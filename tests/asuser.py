"""Running xharness as an ordinary user.

Root ignores file permissions, so a test of sharing, read-only or unwritable cases proves
nothing as root: these helpers create ordinary users (and a group) and run commands as them
with ``setpriv``. The venv's interpreter may lie under root's private home; a system Python of
the same version then stands in, with this checkout's packages added as a site directory.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest


def _users_lock():
    """One process at a time creates users and groups (the suite runs in several workers)."""
    from filelock import FileLock

    return FileLock(os.path.join(os.environ.get("TMPDIR", "/tmp"), "xharness-tests-users.lock"))


def needs_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("creating ordinary users to test permissions needs root")
    if shutil.which("setpriv") is None:
        pytest.skip("setpriv is not available")


def ensure_group(name: str) -> int:
    import grp

    needs_root()
    with _users_lock():
        try:
            return grp.getgrnam(name).gr_gid
        except KeyError:
            pass
        if shutil.which("groupadd") is None or subprocess.run(["groupadd", name], capture_output=True).returncode != 0:
            pytest.skip(f"cannot create the group {name} (groupadd)")
        return grp.getgrnam(name).gr_gid


def ensure_user(name: str, group: str | None = None) -> tuple[int, int]:
    """(uid, primary gid) of the ordinary user ``name``, created (without a home) when missing."""
    import pwd

    needs_root()
    with _users_lock():
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            command = ["useradd", "-M", "-s", "/usr/sbin/nologin"] + (["-N", "-g", group] if group else []) + [name]
            if shutil.which("useradd") is None or subprocess.run(command, capture_output=True).returncode != 0:
                pytest.skip(f"cannot create the ordinary user {name} (useradd)")
            entry = pwd.getpwnam(name)
    return entry.pw_uid, entry.pw_gid


def _setpriv(user: str, gid: int) -> list[str]:
    return ["setpriv", f"--reuid={user}", f"--regid={gid}", "--clear-groups"]


def user_python(user: str, gid: int, folder: Path) -> tuple[str, str]:
    """(a Python ``user`` can run that imports this checkout, the site directory to add)."""
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    site = sysconfig.get_paths()["purelib"]
    for python in (sys.executable, shutil.which(version), f"/usr/bin/{version}"):
        if python and os.path.exists(python):
            probe = subprocess.run([*_setpriv(user, gid), python, "-c",
                                    "import site, sys; site.addsitedir(sys.argv[1]); import harness.cli", site],
                                   capture_output=True, cwd=folder)
            if probe.returncode == 0:
                return python, site
    pytest.skip(f"no Python that {user} can run imports this checkout (is the repository readable by others?)")


def run_as(user: str, gid: int, args: list[str], *, folder: Path, env: dict[str, str], umask: int = 0o022,
           timeout: float = 600) -> subprocess.CompletedProcess:
    """``xharness ARGS`` as ``user`` with primary group ``gid`` only, under ``umask``, in ``folder``."""
    python, site = user_python(user, gid, folder)
    script = (f"import os, site, sys; os.umask({umask:#o}); site.addsitedir(sys.argv.pop(1)); "
              f"from harness.cli import cli; cli()")
    base = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
            "TOKENIZERS_PARALLELISM": "false", "COLUMNS": "200"}
    return subprocess.run([*_setpriv(user, gid), python, "-c", script, site, *map(str, args)], capture_output=True,
                          text=True, env={**base, **env}, cwd=folder, timeout=timeout)
