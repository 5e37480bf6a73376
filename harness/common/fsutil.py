"""Writes that never leave a half-written file or folder behind."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import shutil
import socket
import stat
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from harness.contract.errors import UserError


#: Write errors that no retry fixes: the disk or the quota is full, or the file system is read-only.
STORAGE_ERRORS = {errno.ENOSPC: "no space left on the device", errno.EDQUOT: "disk quota exceeded",
                  errno.EROFS: "read-only file system"}


def storage_fault(exc: BaseException | None) -> str | None:
    """What is wrong in words, when ``exc`` says that storage is full or read-only; else None.

    Libraries wrap the operating system's error: torch's writer raises a RuntimeError whose
    context is the OSError of the file object it was given, safetensors a SafetensorError whose
    text ends in "(os error 28)"."""
    seen = 0
    while exc is not None and seen < 8:
        if isinstance(exc, OSError) and exc.errno in STORAGE_ERRORS:
            return STORAGE_ERRORS[exc.errno]
        found = re.search(r"os error (\d+)", str(exc))
        if found and int(found.group(1)) in STORAGE_ERRORS:
            return STORAGE_ERRORS[int(found.group(1))]
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return None


def storage_advice(reason: str, folder: Path) -> str:
    """What to do about a :func:`storage_fault`: make ``folder`` writable, or free some space."""
    return f"make {folder} writable" if reason == STORAGE_ERRORS[errno.EROFS] else "free some space"


def cache_root() -> Path:
    """The user's own cache (``XHARNESS_CACHE``): built models, rescued phases, Slurm job files."""
    return Path(os.environ.get("XHARNESS_CACHE", Path.home() / ".cache" / "xharness"))


#: Bytes a file system allows in one name (ext4, XFS, btrfs, tmpfs, APFS, NTFS: 255).
NAME_MAX = 255
#: Bytes in a whole path, its final NUL included (Linux).
PATH_MAX = 4096


def check_path_names(option: str, path: Path | str) -> None:
    """One line for a path the file system cannot take: a name in it longer than NAME_MAX bytes,
    or the whole path beyond PATH_MAX (what would otherwise end in ``OSError: [Errno 36]``)."""
    text = str(Path(path).expanduser())
    for part in Path(text).parts:
        size = len(os.fsencode(part))
        if size > NAME_MAX:
            shown = part if len(part) <= 40 else f"{part[:40]}…"
            raise UserError(f"{option}: the name {shown!r} is {size} bytes, beyond the file system's limit of "
                            f"{NAME_MAX} bytes per name; use a shorter name")
    if len(os.fsencode(text)) >= PATH_MAX:
        raise UserError(f"{option}: the path is {len(os.fsencode(text))} bytes, beyond the file system's limit of "
                        f"{PATH_MAX - 1}; use a shorter path")


def current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _share_as_umask_says(path: Path | int, *, folder: bool, umask: int | None = None) -> None:
    """mkstemp/mkdtemp (and libraries such as safetensors) create private (0600/0700) entries;
    results belong to a research group, so give them the mode any other tool would under the
    user's umask. A folder keeps its set-group-ID bit (inherited from a shared store's folder),
    so that what is created inside it stays in the group."""
    mode = (0o777 if folder else 0o666) & ~(current_umask() if umask is None else umask)
    if isinstance(path, int):
        os.fchmod(path, mode | (os.fstat(path).st_mode & stat.S_ISGID if folder else 0))
    else:
        os.chmod(path, mode | (os.stat(path).st_mode & stat.S_ISGID if folder else 0))


def share_tree(root: Path) -> None:
    """Give every file and folder under ``root`` (itself included) the mode the umask says,
    whatever mode the code that wrote them chose; links are left alone."""
    umask = current_umask()
    for folder, folders, files in os.walk(root):
        _share_as_umask_says(Path(folder), folder=True, umask=umask)
        for name in files:
            path = Path(folder) / name
            if not path.is_symlink():
                _share_as_umask_says(path, folder=False, umask=umask)


#: The longest writer tag: 6 hex digits of the host name's hash, "-", a pid (Linux: at most 7 digits).
TAG_MAX = 14


def _writer_tag() -> str:
    """``<host hash>-<pid>`` of this process, as it appears in its temporary names: short and of
    bounded length whatever the host's name, so that a temporary name always fits where the
    final one does (``planning.MAX_FOLDER_NAME``)."""
    host = hashlib.sha256(socket.gethostname().encode()).hexdigest()[:6]
    return f"{host}-{os.getpid()}"


def temp_prefix(name: str) -> str:
    """The prefix of a temporary sibling of ``name``: hidden, and naming the host and process that
    write it, so that a later run can tell one left by a dead process (:func:`remove_dead_temporaries`)."""
    return f".{name}.{_writer_tag()}."


_TAGGED = re.compile(r"^\..+\.(?P<tag>[0-9a-f]{6}-\d+)\.[A-Za-z0-9_]+\.tmp$")
#: A temporary file without a writer tag (written by an older version) is removed after this long.
UNTAGGED_AGE = 3600.0
#: One written on another host (whose processes cannot be asked) after this long.
OTHER_HOST_AGE = 24 * 3600.0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def remove_dead_temporaries(folder: Path) -> list[tuple[Path, int]]:
    """Remove the hidden ``.*.tmp`` files and folders in ``folder`` whose writer is gone: on this
    host, a process that no longer runs; elsewhere or untagged, one untouched for a long time.
    A writer still at work is never disturbed. Returns what was removed, with sizes."""
    removed: list[tuple[Path, int]] = []
    if not folder.is_dir():
        return removed
    mine, now = _writer_tag().rpartition("-")[0], time.time()
    for path in folder.glob(".*.tmp"):
        if path.is_symlink():
            continue
        match = _TAGGED.match(path.name)
        try:
            age = now - path.stat().st_mtime
        except FileNotFoundError:
            continue
        if match:
            host, _, pid = match.group("tag").rpartition("-")
            dead = not _alive(int(pid)) if host == mine else age > OTHER_HOST_AGE
        else:
            dead = age > UNTAGGED_AGE
        if not dead:
            continue
        size = sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else path.stat().st_size
        try:
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink()
        except FileNotFoundError:
            continue
        except OSError:  # another user's, in a folder we may not change: left for its owner
            continue
        removed.append((path, size))
    return removed


def atomic_write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=temp_prefix(path.name), suffix=".tmp", dir=path.parent)
    try:
        _share_as_umask_says(fd, folder=False)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_json(path: Path, data: Any) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, ensure_ascii=False, sort_keys=False) + "\n")


@contextmanager
def atomic_dir(path: Path) -> Iterator[Path]:
    """Yield a temporary sibling folder that becomes ``path`` only if the block succeeds.

    If ``path`` appeared meanwhile (another process built the same thing), ours is dropped.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=temp_prefix(path.name), suffix=".tmp", dir=path.parent))
    try:
        _share_as_umask_says(tmp, folder=True)
        yield tmp
        share_tree(tmp)  # weights (safetensors writes 0600) and whatever else was written inside
        try:
            os.rename(tmp, path)
        except OSError:
            if not path.exists():
                raise
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


_DIGESTS: dict[tuple, str] = {}


def sha256_files(paths: list[Path], root: Path | None = None,
                 content: Callable[[bytes], bytes] | None = None) -> str:
    """One digest over the names (relative to ``root``) and contents of ``paths``; ``content``, a
    module-level function, turns each file's bytes into what is digested (plugin code: its syntax tree).

    Remembered for this process while no file's inode, size, mtime or ctime changes (ctime
    cannot be set back by hand), so a sweep planning many cells reads each data file once.
    """
    how = None if content is None else f"{content.__module__}.{content.__qualname__}"
    stamp = (str(root), how, tuple((str(p), *_stat_stamp(p)) for p in sorted(paths)))
    if stamp not in _DIGESTS:
        _DIGESTS[stamp] = _sha256_files(paths, root, content)
    return _DIGESTS[stamp]


def _stat_stamp(path: Path) -> tuple[int, int, int, int]:
    info = os.stat(path)
    return info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns


def _sha256_files(paths: list[Path], root: Path | None = None,
                  content: Callable[[bytes], bytes] | None = None) -> str:
    digest = hashlib.sha256()
    for path in sorted(paths):
        name = str(path.relative_to(root)) if root else path.name
        digest.update(name.encode() + b"\0")
        if content is not None:
            digest.update(content(path.read_bytes()))
            continue
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def stable_hash(data: Any, length: int = 16) -> str:
    text = json.dumps(data, sort_keys=True, ensure_ascii=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
