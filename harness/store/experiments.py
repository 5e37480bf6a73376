"""Experiments: which runs of a store belong together.

A store is shared: a study, a sweep and a handful of plain ``run`` commands may all write to the
same ``--output`` folder, and a run folder (keyed by what it computes) may serve several of them.
So membership is kept beside the runs, not in them: ``<store>/experiments/<kind>-<name>.json``
lists the run folders each experiment used, and every cell adds its run there when it finishes or
is reused. ``xharness report`` groups by it, one set of tables per experiment, so numbers from
different experiments are never set side by side as if they were one grid.

An experiment is named ``KIND:NAME``:

* ``run`` — plain ``xharness run`` commands (``run:NAME`` with ``--experiment NAME``);
* ``sweep:NAME`` — a sweep; NAME is its grid file's name without the suffix (``sweep`` for a grid
  given as options), or ``--experiment NAME``;
* ``study:NAME`` — a study recipe's grids.

A run also records, in its ``results.json``, the experiment that computed it (``experiment``); a
store without membership files (written before they existed) is grouped by that, or as
``unrecorded``.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.contract.errors import UserError

SCHEMA = "xharness.experiment/1"
KINDS = ("run", "sweep", "study")
FOLDER = "experiments"
#: The group of runs no experiment lists and whose record names none.
UNRECORDED = "unrecorded"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,79}")


@dataclass(frozen=True)
class Experiment:
    kind: str
    name: str

    @property
    def label(self) -> str:
        """How reports and ``--experiment`` name it: ``run`` or ``KIND:NAME``."""
        return self.kind if self.kind == self.name == "run" else f"{self.kind}:{self.name}"

    def as_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "name": self.name, "label": self.label}

    @property
    def file_name(self) -> str:
        slug = re.sub(r"[^A-Za-z0-9._+-]", "_", self.name)
        if slug != self.name:  # two names that slug alike must not share a file
            slug += "-" + hashlib.sha256(self.name.encode()).hexdigest()[:8]
        return f"{self.kind}-{slug}.json"

    @classmethod
    def parse(cls, label: str) -> Experiment:
        kind, _, name = label.partition(":")
        if kind not in KINDS or (not name and kind != "run"):
            raise ValueError(f"not an experiment label: {label!r}")
        return cls(kind, name or "run")


def check_name(name: str, option: str = "--experiment") -> str:
    """A user's experiment name: letters, digits and ``._+-``, starting with a letter or digit."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise UserError(f"{option} {name!r}: use up to 80 letters, digits and . _ + - (starting with a letter or "
                        f"digit), e.g. {option} lr-sweep")
    return name


def for_run(name: str | None = None) -> Experiment:
    return Experiment("run", check_name(name) if name else "run")


def for_sweep(grid_file: Path | None, name: str | None = None) -> Experiment:
    if name:
        return Experiment("sweep", check_name(name))
    if grid_file is None:
        return Experiment("sweep", "sweep")
    stem = Path(grid_file).name.split(".")[0] or "sweep"
    return Experiment("sweep", stem)


def for_study(name: str) -> Experiment:
    return Experiment("study", name)


def path_of(root: Path, experiment: Experiment) -> Path:
    return Path(root) / FOLDER / experiment.file_name


def join(root: Path, experiment: Experiment, *run_dirs: Path) -> None:
    """Record that ``experiment`` used the runs in ``run_dirs`` (folders of ``<root>/runs``); safe
    when processes record at once (a file lock), and a no-op for those listed already."""
    from filelock import FileLock

    from harness.common.fsutil import atomic_write_json

    path = path_of(root, experiment)
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock"):
        record, _ = read(path)
        if record is None or record.get("kind") != experiment.kind or record.get("name") != experiment.name:
            record = {"schema": SCHEMA, "kind": experiment.kind, "name": experiment.name,
                      "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "runs": []}
        names = {run_dir.name for run_dir in run_dirs}
        if names <= set(record["runs"]):
            return
        record["runs"] = sorted({*record["runs"], *names})
        atomic_write_json(path, record)


def read(path: Path) -> tuple[dict[str, Any] | None, str | None]:
    """A membership file's record, or None and why it cannot be used (plain JSON: reading it runs nothing)."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None, None
    except (OSError, ValueError) as exc:
        return None, f"{path}: unreadable ({exc})"
    if not isinstance(record, dict) or record.get("schema") != SCHEMA or record.get("kind") not in KINDS \
            or not isinstance(record.get("name"), str) or not isinstance(record.get("runs"), list) \
            or not all(isinstance(r, str) for r in record["runs"]):
        return None, f"{path}: not an xharness experiment record"
    return record, None


def memberships(root: Path) -> tuple[dict[str, list[str]], list[str]]:
    """Run folder name → the labels of the experiments that list it, for the store at ``root``;
    and the membership files that could not be read."""
    found: dict[str, list[str]] = {}
    problems: list[str] = []
    folder = Path(root) / FOLDER
    if not folder.is_dir():
        return found, problems
    for path in sorted(folder.glob("*.json")):
        record, trouble = read(path)
        if record is None:
            if trouble:
                problems.append(trouble)
            continue
        label = Experiment(record["kind"], record["name"]).label
        for name in record["runs"]:
            found.setdefault(name, []).append(label)
    return found, problems
