"""Training checkpoints for exact resume inside a phase.

A checkpoint holds everything the next update depends on: model, optimizer and scheduler
state, every process's batch-stream positions, task-sampler and RNG states (python, numpy,
torch CPU and CUDA), the loop's counters and loss sums, the best state and the history so far.
Resuming from it continues the run as if it had never stopped: on the CPU the final weights,
scores and predictions are bitwise those of an uninterrupted run.

Checkpoints live in ``<store>/checkpoints/<phase folder>/<update>-<when>/`` (``state.pt`` and
a manifest), written through a temporary folder and sealed like a finished phase; a damaged one
is set aside with a warning and an older one (or a fresh start) is used instead. Older
checkpoints of the phase are removed once a newer one is complete, and all of them once the
phase is finished (unless ``--keep-checkpoints``).
"""

from __future__ import annotations

import random
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.store import RunStore, problem, seal
from harness.fsutil import atomic_dir

FORMAT = 1
STATE = "state.pt"


def rng_state() -> dict[str, Any]:
    import numpy
    import torch

    return {"python": random.getstate(), "numpy": numpy.random.get_state(), "torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None}


def set_rng_state(state: dict[str, Any]) -> None:
    import numpy
    import torch

    random.setstate(state["python"])
    numpy.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if state.get("cuda") is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


class Checkpointer:
    """Saves and finds the training checkpoints of one phase.

    :param folder: where this phase's checkpoints go (one sub-folder per checkpoint).
    :param every_minutes: write one at least this often during an epoch (0: after every update);
        one is always written at the end of every epoch.
    :param main: only the main process writes and removes files.
    :param log: where warnings go (one line each).
    """

    def __init__(self, store: RunStore, folder: Path, *, every_minutes: float, main: bool,
                 log: Callable[[str], None]):
        self.store, self.folder, self.main, self.log = store, folder, main, log
        self.every_seconds = max(0.0, float(every_minutes)) * 60
        self._last = time.monotonic()
        self.written = 0
        self.seconds = 0.0  # spent writing checkpoints: the cost of being resumable

    def due(self) -> bool:
        return time.monotonic() - self._last >= self.every_seconds

    def _candidates(self) -> list[Path]:
        if not self.folder.is_dir():
            return []
        return sorted((p for p in self.folder.iterdir() if p.is_dir() and not p.name.startswith(".")), reverse=True)

    def load(self) -> dict[str, Any] | None:
        """The newest sound checkpoint's state, or None; damaged ones are set aside with a warning."""
        import torch

        for candidate in self._candidates():
            trouble = problem(candidate)
            if trouble is None:
                state = torch.load(candidate / STATE, map_location="cpu", weights_only=False)
                if state.get("format") == FORMAT:
                    return state
                trouble = f"it was written by another version of xharness (format {state.get('format')})"
            if self.main:
                try:
                    kept = self.store.set_aside(candidate)
                except FileNotFoundError:
                    continue
                self.log(f"warning: training checkpoint {candidate} is damaged ({trouble}); moved it to {kept} "
                         f"and resuming from an older one, if any")
        return None

    def save(self, state: dict[str, Any], name: str) -> None:
        """Write ``state`` as checkpoint ``name`` (names sort in training order), then drop older ones."""
        import torch

        began = time.perf_counter()
        if self.main:
            target = self.folder / name
            if target.exists():  # written before a crash and now again: the same state, replace it
                shutil.rmtree(target)
            with atomic_dir(target) as tmp:
                torch.save(dict(state, format=FORMAT), tmp / STATE)
                seal(tmp)
            for older in self._candidates():
                if older.name < name:
                    _remove(older)
        self._last = time.monotonic()
        self.written += 1
        self.seconds += time.perf_counter() - began

    def clear(self) -> None:
        """Remove every checkpoint of this phase (it is finished)."""
        if self.main and self.folder.exists():
            _remove(self.folder)


def _remove(folder: Path) -> None:
    """Remove a folder so that it is never seen half-deleted: renamed to a hidden temporary name
    first (which the store cleans up if the process dies in the middle of deleting it)."""
    import os

    doomed = folder.with_name(f".{folder.name}.{os.getpid()}.deleting.tmp")
    try:
        os.rename(folder, doomed)
    except FileNotFoundError:
        return
    shutil.rmtree(doomed, ignore_errors=True)
