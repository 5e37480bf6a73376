"""``xharness verify [STORE]``: recheck every digest and manifest of a run store.

Reuse already checks each phase before it trusts it; this walks the whole store at once, as
``git fsck`` or ``restic check`` do, so that a lab can check a shared store after a crash, a
copy or a co-user's mistake. Each entry is one of:

- **sound**: its manifest lists every file with the size and SHA-256 it has, and its data parse;
- **damaged**: a file is missing, truncated, edited or flipped, or a JSON file does not parse;
- **foreign**: something the harness never writes there: a symbolic link, a file beside a phase's
  manifest that it does not list, an entry of the old pickle feature format, an unknown name;
- **temporary**: a hidden ``.*.tmp`` left by a process that stopped (or one writing right now).

Damaged and foreign entries make the exit code 1; temporary ones are only listed (the next run
removes them). Nothing is read in a way that can run code: manifests and records are JSON,
feature entries safetensors, checkpoints are opened with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from harness.store.runstore import problem

#: What the harness itself creates at the top of a store.
TOP_LEVEL = {"intermediate", "runs", "checkpoints", "features", "locks", "logs", "sweeps", "studies", "damaged",
             "reports", "experiments", "trackers", "export"}


@dataclass
class Finding:
    status: str  # "damaged" | "foreign" | "temporary"
    path: Path
    why: str


@dataclass
class Verdict:
    root: Path
    checked: dict[str, int] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return any(f.status in ("damaged", "foreign") for f in self.findings)

    def count(self, status: str) -> int:
        return sum(f.status == status for f in self.findings)


def verify(root: Path, *, advance: Callable[[], None] = lambda: None) -> Verdict:
    """Check every entry of the store at ``root``; ``advance`` is called once per entry checked."""
    root = Path(root)
    verdict = Verdict(root)

    def found(status: str, path: Path, why: str) -> None:
        verdict.findings.append(Finding(status, path, why))

    def checked(what: str) -> None:
        verdict.checked[what] = verdict.checked.get(what, 0) + 1
        advance()

    for path in _links(root):
        found("foreign", path, "a symbolic link: the harness never makes one, and it would write where it points")
    for entry in sorted(root.iterdir()):
        if entry.name == "slurm":
            found("foreign", entry, "submitit's job files of an older xharness (pickles its jobs load): they are kept in "
                                    "your own cache now; delete this folder once none of its jobs is queued")
        elif entry.name not in TOP_LEVEL and not entry.name.startswith(".xharness-write-test."):
            found("foreign", entry, "not something xharness writes at the top of a store")
    for folder in _phases(root):
        if _temporary(folder, found):
            continue
        checked("phases")
        trouble = problem(folder)
        if trouble is not None:
            found("damaged", folder, trouble)
    for folder in _checkpoints(root):
        if _temporary(folder, found):
            continue
        checked("checkpoints")
        trouble = problem(folder)
        if trouble is None:
            from harness.training.checkpoint import STATE, read_state

            _, trouble = read_state(folder / STATE)
        if trouble is not None:
            found("damaged", folder, trouble)
    for path in _files(root / "features"):
        if _temporary(path, found):
            continue
        checked("feature entries")
        _check_feature(path, found)
    for path in [*_files(root / "locks"), *_files(root / "sweeps"), *_files(root / "logs"), *_files(root / "experiments"),
                 *_study_files(root)]:
        if _temporary(path, found):
            continue
        checked("records")
        if path.suffix in (".json", ".owner"):
            try:
                json.loads(path.read_text(encoding="utf-8"))
            except (UnicodeDecodeError, ValueError):
                found("damaged", path, "not JSON text")
    return verdict


def count_entries(root: Path) -> int:
    """How many entries :func:`verify` checks (for its progress bar)."""
    root = Path(root)
    return (len(list(_phases(root))) + len(list(_checkpoints(root))) + len(list(_files(root / "features")))
            + sum(len(list(_files(root / sub))) for sub in ("locks", "sweeps", "logs", "experiments"))
            + len(list(_study_files(root))))


def _links(root: Path) -> Iterator[Path]:
    import os

    for folder, folders, files in os.walk(root):
        if Path(folder) == root:  # trackers' own files (W&B keeps links there): theirs, never read by xharness
            folders[:] = [name for name in folders if name != "trackers"]
        for name in folders + files:
            path = Path(folder) / name
            if path.is_symlink():
                yield path


def _subfolders(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.is_symlink()) if folder.is_dir() else []


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.is_symlink()) if folder.is_dir() else []


def _phases(root: Path) -> Iterator[Path]:
    for group in ("intermediate", "runs"):
        yield from _subfolders(root / group)


def _checkpoints(root: Path) -> Iterator[Path]:
    for group in _subfolders(root / "checkpoints"):
        for phase in _subfolders(group):
            if phase.name.startswith("."):
                yield phase  # a phase's checkpoints caught while being removed
                continue
            yield from _subfolders(phase)


def _study_files(root: Path) -> Iterator[Path]:
    for study in _subfolders(root / "studies"):
        yield from (p for p in _files(study) if p.suffix == ".json")


def _temporary(path: Path, found) -> bool:
    if path.name.startswith(".") and path.name.endswith(".tmp"):
        found("temporary", path, "left by a process that stopped (or being written now); the next run removes it")
        return True
    return False


def _check_feature(path: Path, found) -> None:
    from harness.data import features

    if path.suffix == features.OLD_SUFFIX:
        found("foreign", path, "a feature entry of the old pickle format: never read (unpickling could run code); "
                               "delete it")
        return
    if path.suffix != features.SUFFIX:
        found("foreign", path, "not a feature cache entry")
        return
    try:
        features.read_entry(path)
    except (OSError, features.EntryError) as exc:
        found("damaged", path, str(exc))


def describe(verdict: Verdict) -> str:
    """The closing line: what was checked and what was found."""
    checked = ", ".join(f"{n} {what}" for what, n in verdict.checked.items() if n) or "nothing"
    counts = [f"{verdict.count(s)} {s}" for s in ("damaged", "foreign", "temporary") if verdict.count(s)]
    if not counts:
        return f"{verdict.root}: all sound ({checked} checked)"
    return f"{verdict.root}: {', '.join(counts)} ({checked} checked)"


__all__ = ["Finding", "Verdict", "count_entries", "describe", "verify"]
