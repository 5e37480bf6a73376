"""Writes that never leave a half-written file or folder behind."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _share_as_umask_says(path: Path | int, *, folder: bool) -> None:
    """mkstemp/mkdtemp create private (0600/0700) entries; results belong to a research group,
    so give them the mode any other tool would under the user's umask."""
    mode = (0o777 if folder else 0o666) & ~current_umask()
    if isinstance(path, int):
        os.fchmod(path, mode)
    else:
        os.chmod(path, mode)


def atomic_write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
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
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=path.parent))
    try:
        _share_as_umask_says(tmp, folder=True)
        yield tmp
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


def sha256_files(paths: list[Path], root: Path | None = None) -> str:
    """One digest over the names (relative to ``root``) and contents of ``paths``.

    Remembered for this process while no file's inode, size, mtime or ctime changes (ctime
    cannot be set back by hand), so a sweep planning many cells reads each data file once.
    """
    stamp = (str(root), tuple((str(p), *_stat_stamp(p)) for p in sorted(paths)))
    if stamp not in _DIGESTS:
        _DIGESTS[stamp] = _sha256_files(paths, root)
    return _DIGESTS[stamp]


def _stat_stamp(path: Path) -> tuple[int, int, int, int]:
    info = os.stat(path)
    return info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns


def _sha256_files(paths: list[Path], root: Path | None = None) -> str:
    digest = hashlib.sha256()
    for path in sorted(paths):
        name = str(path.relative_to(root)) if root else path.name
        digest.update(name.encode() + b"\0")
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
