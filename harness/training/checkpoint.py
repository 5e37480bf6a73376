"""Training checkpoints for exact resume inside a phase.

A checkpoint holds everything the next update depends on: model, optimizer and scheduler
state, every process's batch-stream positions, task-sampler and RNG states (python, numpy,
torch CPU and CUDA), the loop's counters and loss sums, the best state and the history so far.
Resuming from it continues the run as if it had never stopped: on the CPU the final weights,
scores and predictions are bitwise those of an uninterrupted run.

Checkpoints live in ``<store>/checkpoints/<phase folder>/<update>-<when>/`` (``state.pt`` and
a manifest), written through a temporary folder and sealed like a finished phase; a damaged one
is set aside with a warning and an older one (or a fresh start) is used instead. ``state.pt`` is
read with ``torch.load(weights_only=True)``: tensors, numbers, strings and containers only, never
an object that runs code when loaded (numpy's RNG state is kept as a tensor for that reason), so
a checkpoint planted in a shared store can at worst resume a wrong state, never run a program. Older
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

from harness.contract.errors import UserError
from harness.common.fsutil import atomic_dir, storage_advice, storage_fault
from harness.store.runstore import RunStore, problem, seal

FORMAT = 2  # 2: only what torch.load(weights_only=True) reads (numpy's RNG state as a tensor)
STATE = "state.pt"


def read_state(path: Path) -> tuple[dict[str, Any] | None, str | None]:
    """(the checkpoint's state, None), or (None, why it cannot be used); never runs code from the file."""
    import pickle

    import torch

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, TypeError, AttributeError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]
        return None, f"it holds more than plain tensors and numbers, so it is not loaded ({first})"
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        found = state.get("format") if isinstance(state, dict) else type(state).__name__
        return None, f"it was written by another version of xharness (format {found})"
    return state, None


def rng_state() -> dict[str, Any]:
    import numpy
    import torch

    name, keys, position, has_gauss, cached = numpy.random.get_state()
    return {"python": random.getstate(),
            "numpy": (name, torch.from_numpy(keys.astype(numpy.int64)), int(position), int(has_gauss), float(cached)),
            "torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None}


def set_rng_state(state: dict[str, Any]) -> None:
    import numpy
    import torch

    random.setstate(state["python"])
    name, keys, position, has_gauss, cached = state["numpy"]
    numpy.random.set_state((name, keys.numpy().astype(numpy.uint32), position, has_gauss, cached))
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
                state, trouble = read_state(candidate / STATE)
                if state is not None:
                    return state
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
            try:
                with atomic_dir(target) as tmp:
                    with open(tmp / STATE, "wb") as handle:  # a file object: a full disk is an OSError
                        torch.save(dict(state, format=FORMAT), handle)
                    seal(tmp)
            except Exception as exc:
                reason = storage_fault(exc)
                if reason is None:
                    raise
                kept = [p for p in self._candidates() if p.name < name]
                last = f"the last good checkpoint, {kept[0]}, is kept" if kept else "no earlier checkpoint exists"
                raise UserError(f"could not write the training checkpoint {target} ({reason}); {last}: "
                                f"{storage_advice(reason, self.folder)} "
                                f"and run the same command again to resume") from None
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
