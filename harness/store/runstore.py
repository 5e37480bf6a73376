"""The run store: finished phases on disk, each sealed by a manifest and verified before reuse.

A phase folder (``intermediate/<name>`` or ``runs/<name>``) is finished when its
``manifest.json`` lists every file the phase wrote with its size and SHA-256 and every one of
them still matches. Anything else — a missing or edited file, flipped bytes, a folder without
its manifest — is damaged: it is moved aside to ``<store>/damaged/`` (a user's files are never
deleted) and the phase is computed again. Writes go to a temporary sibling that is renamed
into place when complete; if that fails at the end (disk full), what was computed is written
to a rescue folder and the one-line error says where.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import socket
import stat
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from harness.contract.errors import UserError
from harness.common.fsutil import (
    atomic_dir, atomic_write_json, cache_root, file_sha256, remove_dead_temporaries, storage_fault,
)

MANIFEST = "manifest.json"
#: Every stale temporary folder this process removed, with its size (a sweep's summary reports them).
CLEANED: list[tuple[Path, int]] = []
MANIFEST_SCHEMA = "xharness.manifest/1"


def seal(folder: Path) -> None:
    """Write the manifest of every file under ``folder`` (the manifest itself excluded)."""
    files = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        relative = path.relative_to(folder).as_posix()
        if relative == MANIFEST:
            continue
        files[relative] = {"size": path.stat().st_size, "sha256": file_sha256(path)}
    atomic_write_json(folder / MANIFEST, {"schema": MANIFEST_SCHEMA, "files": files})


def problem(folder: Path, *, quick: bool = False) -> str | None:
    """Why ``folder`` is not a sound finished phase, or None when every file matches its manifest.

    ``quick`` checks presence and sizes only: enough to count a grid's finished cells without
    reading every encoder; reuse always checks the digests too.
    """
    manifest = folder / MANIFEST
    if not manifest.is_file():
        return f"it has no {MANIFEST} (an unfinished or foreign folder)"
    try:
        listed = json.loads(manifest.read_text(encoding="utf-8"))["files"]
        entries = [(name, int(entry["size"]), str(entry["sha256"])) for name, entry in listed.items()]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return f"its {MANIFEST} is unreadable"
    for name, size, digest in entries:
        path = folder / name
        if path.is_symlink():  # the store never makes one: it would read (or show) another file
            return f"{name} is a symbolic link"
        if not path.is_file():
            return f"{name} is missing"
        if path.stat().st_size != size:
            return f"{name} has changed size ({path.stat().st_size} bytes, {size} when written)"
    if quick:
        return None
    for name, _, digest in entries:  # sizes first: cheap, and they catch truncation at once
        if file_sha256(folder / name) != digest:
            return f"{name} does not match its recorded SHA-256 (edited or corrupted)"
    unlisted = _unlisted(folder, {name for name, _, _ in entries})
    if unlisted:
        return f"it holds {unlisted[0]}, which its {MANIFEST} does not list (added after it was sealed)"
    for name, _, _ in entries:  # resealed by someone: still only data, and data that parses
        if name.endswith(".json"):
            try:
                json.loads((folder / name).read_text(encoding="utf-8"))
            except (UnicodeDecodeError, ValueError):
                return f"{name} is not JSON text"
    return None


def _unlisted(folder: Path, listed: set[str]) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")
                  if (p.is_file() or p.is_symlink()) and p.relative_to(folder).as_posix() not in listed | {MANIFEST})


class BusyError(UserError):
    """The phase is being computed by another process and ``--no-wait`` was given."""

    exit_code = 3


class RunStore:
    """The ``--output`` folder: phases by key, verified reuse, damaged copies kept aside.

    Several processes may share one store: a phase is computed under its lock (``lock``), so a
    second process that needs it waits and then reuses it, and temporary folders found beside a
    phase whose lock is free were left by a process that died (``clean_stale``).
    """

    def __init__(self, root: Path):
        self.root = Path(root).expanduser().resolve()

    @property
    def locks_root(self) -> Path:
        return self.root / "locks"

    def checkpoint_dir(self, folder: Path) -> Path:
        return self.root / "checkpoints" / folder.parent.name / folder.name

    def language_checkpoint_dir(self, folder: Path, lang: str) -> Path:
        """Where one language's model of a phase that trains one per language (``--transfer
        translate-train`` or ``few-shot``) keeps its checkpoints: beside the phase's own."""
        return self.checkpoint_dir(folder).with_name(f"{folder.name}@{lang}")

    def language_checkpoint_dirs(self, folder: Path) -> list[Path]:
        base = self.checkpoint_dir(folder)
        return sorted(base.parent.glob(f"{folder.name}@*")) if base.parent.is_dir() else []

    def lock_path(self, folder: Path) -> Path:
        return self.locks_root / f"{folder.parent.name}--{folder.name}.lock"

    def owner(self, folder: Path) -> dict | None:
        """Who holds (or last held) the lock of ``folder``: host, pid, since, command."""
        try:
            return json.loads(self.lock_path(folder).with_suffix(".owner").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def is_locked(self, folder: Path) -> bool:
        from filelock import FileLock, Timeout

        path = self.lock_path(folder)
        if not path.exists():
            return False
        probe = FileLock(str(path))
        try:
            probe.acquire(timeout=0)
        except Timeout:
            return True
        except OSError:  # a read-only store: nobody can be writing there
            return False
        probe.release()
        return False

    #: The store's own folders: each must be a folder (or absent), never a file or a link.
    FOLDERS = ("intermediate", "runs", "checkpoints", "locks", "features", "logs", "sweeps", "studies", "experiments",
               "trackers")

    def check_layout(self) -> None:
        """One line, before any work, when a file or a symbolic link stands where the store keeps
        one of its folders (a read or a write there would fail, or land outside the store)."""
        for name in self.FOLDERS:
            path = self.root / name
            self.refuse_link(path, f"the store's {name} folder")
            if path.exists() and not path.is_dir():
                raise UserError(f"{path} is a file, but the store keeps its {name} there: move that file out of "
                                f"{self.root} (or choose another --output) and run again")

    def refuse_link(self, path: Path, what: str) -> None:
        """The store writes only inside itself: a symbolic link where it writes is refused in one line."""
        if path.is_symlink():
            raise UserError(f"{path} is a symbolic link (to {os.readlink(path)}), where xharness writes {what}; "
                            f"a store never follows links it did not make: remove the link and run again")

    def clean_dead(self) -> list[tuple[Path, int]]:
        """Remove temporary files that killed processes left in the store's shared folders
        (feature entries, lock owners, sweep states); phase folders are cleaned under their lock."""
        removed = []
        for name in ("features", "locks", "sweeps", "experiments"):
            removed += remove_dead_temporaries(self.root / name)
        CLEANED.extend(removed)
        return removed

    @contextmanager
    def lock(self, folder: Path, describe: str, log: Callable[[str], None], *, wait: bool = True) -> Iterator[None]:
        """Hold the lock of one phase while it is checked, computed and written.

        An operating-system lock (filelock): it is released when its holder dies, so a lock
        held by a process that was killed is simply taken over.
        """
        from filelock import FileLock, Timeout

        self.refuse_link(self.locks_root, "its locks")
        self.locks_root.mkdir(parents=True, exist_ok=True)
        for path in (self.lock_path(folder), self.lock_path(folder).with_suffix(".owner")):
            self.refuse_link(path, "a lock")
        lock = FileLock(str(self.lock_path(folder)))
        try:
            lock.acquire(timeout=0)
        except Timeout:
            holder = _describe_owner(self.owner(folder))
            if not wait:
                raise BusyError(f"{describe} is being computed by {holder}; not waiting (--no-wait): run again "
                                f"later to reuse it") from None
            log(f"waiting for {describe}, being computed by {holder}")
            lock.acquire()
        try:
            owner = {"host": socket.gethostname(), "pid": os.getpid(), "since": time.strftime("%Y-%m-%d %H:%M:%S"),
                     "command": " ".join(sys.argv[:1] + sys.argv[1:6])}
            atomic_write_json(self.lock_path(folder).with_suffix(".owner"), owner)
            yield
        finally:
            lock.release()

    def clean_stale(self, folder: Path) -> list[tuple[Path, int]]:
        """Remove temporary folders of ``folder`` (and of its checkpoints) left by dead processes.

        Call only while holding the phase's lock: every writer holds it, so whatever temporary
        folder exists now belongs to a process that is gone.
        """
        found = list(folder.parent.glob(f".{folder.name}.*.tmp")) if folder.parent.is_dir() else []
        checkpoints = self.checkpoint_dir(folder)
        for own in [checkpoints, *self.language_checkpoint_dirs(folder)]:
            if own.is_dir():
                found += list(own.glob(".*.tmp"))
            if own.parent.is_dir():  # the checkpoints of the phase, caught while being removed
                found += list(own.parent.glob(f".{own.name}.*.tmp"))
        removed = []
        for path in found:
            size = sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else \
                path.stat().st_size
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
            removed.append((path, size))
        CLEANED.extend(removed)
        return removed

    @property
    def damaged_root(self) -> Path:
        return self.root / "damaged"

    def check_folder(self) -> None:
        """Fail during planning if ``--output`` lies under a file (nothing could ever be read there)."""
        existing = self._existing()
        if not existing.is_dir():
            raise UserError(f"--output {self.root}: {existing} is a file, not a folder; choose another --output")

    def _existing(self) -> Path:
        existing = self.root
        while not existing.exists():
            if existing.parent == existing:
                break
            existing = existing.parent
        return existing

    def unwritable(self) -> str | None:
        """Why nothing can be written in the store (its first folder that refuses a write), or None."""
        existing = self._existing()
        probes = [existing] + [self.root / sub for sub in ("intermediate", "runs", "locks", "checkpoints", "features")
                               if (self.root / sub).is_dir()]
        for folder in probes:
            try:
                os.rmdir(tempfile.mkdtemp(prefix=".xharness-write-test.", dir=folder))
            except OSError as exc:
                return f"{folder}: {exc.strerror or exc}"
        return None

    def reusable(self, folder: Path, describe: str, log: Callable[[str], None], *, move_aside: bool = True) -> bool:
        """True if ``folder`` holds a sound finished phase; a damaged one is moved aside (and said so).

        Under several processes only the main one moves folders (``move_aside``); the others
        just see that the phase must be computed again.
        """
        if not folder.exists():
            return False
        trouble = problem(folder)
        if trouble is None:
            return True
        if not move_aside:
            return False
        try:
            kept = self.set_aside(folder)
        except FileNotFoundError:  # another process moved it first
            return False
        log(f"warning: {describe} in {folder} is damaged ({trouble}); moved it to {kept} and computing it again")
        return False

    def set_aside(self, folder: Path) -> Path:
        self.damaged_root.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        target = self.damaged_root / f"{folder.name}.{stamp}"
        counter = 1
        while target.exists():
            counter += 1
            target = self.damaged_root / f"{folder.name}.{stamp}.{counter}"
        os.rename(folder, target)
        return target

    def write(self, folder: Path, fill: Callable[[Path], None]) -> None:
        """Create ``folder`` atomically from ``fill(tmp)``, sealed with its manifest.

        If writing fails (disk full, a mount gone read-only) the phase's outputs are written to
        a rescue folder instead, and the error says where they are and how to put them back.
        """
        try:
            with atomic_dir(folder) as tmp:
                fill(tmp)
                seal(tmp)
        except Exception as exc:
            reason = storage_fault(exc)
            if reason is None and not isinstance(exc, OSError):
                raise
            reason = reason or exc.strerror or str(exc) or errno.errorcode.get(exc.errno or 0, type(exc).__name__)
            rescued = self._rescue(folder, fill)
            if rescued is None:
                raise UserError(f"could not write {folder} ({reason}), and no rescue folder could be written "
                                f"either; free some space and run the same command again") from None
            raise UserError(f"could not write {folder} ({reason}); what was computed is kept in {rescued}: "
                            f"move that folder to {folder} and run the same command again to reuse it") from None

    def _rescue(self, folder: Path, fill: Callable[[Path], None]) -> Path | None:
        for base in rescue_roots(cache_root()):  # the user's cache, usually on another disk than --output
            target = base / f"{folder.name}.{time.strftime('%Y%m%d-%H%M%S')}.{os.getpid()}"
            try:
                private_folder(base)
                with atomic_dir(target) as tmp:
                    fill(tmp)
                    seal(tmp)
                return target
            except Exception as exc:  # this place is full or not ours too: try the next
                if isinstance(exc, OSError) or storage_fault(exc):
                    continue
                raise
        return None


def rescue_roots(cache: Path) -> list[Path]:
    """Where a phase that could not be written to the store is kept, in order of preference: the
    user's own cache (often another disk), else a folder of this user's in ``$TMPDIR``."""
    return [cache / "rescued", Path(tempfile.gettempdir()) / f"xharness-rescued-{os.getuid()}"]


def private_folder(path: Path) -> None:
    """Create ``path`` 0700, or check that an existing one is this user's own folder (not a link
    or another user's folder planted in a shared ``/tmp``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        path.mkdir(mode=0o700)
    except FileExistsError:
        pass
    info = os.lstat(path)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
        raise PermissionError(errno.EPERM, "not this user's own folder", str(path))
    if info.st_mode & 0o077:
        os.chmod(path, 0o700)


def _describe_owner(owner: dict | None) -> str:
    if not owner:
        return "another process"
    return f"pid {owner.get('pid')} on {owner.get('host')} (since {owner.get('since')})"
