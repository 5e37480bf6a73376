"""Experiment trackers: the fan-out a run talks to, and the core's four trackers.

A run started with ``--tracker wandb,mlflow`` has a :class:`Trackers` on its main process; the
training loop and the cell call it, and it calls every tracker (``harness.contract.tracking``).
A tracker whose library is missing, or that raises (no network, a full disk, a bug), is dropped
with one warning line on the run's log, and the run goes on: tracking never costs a result.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Sequence
from typing import Any

from harness.contract.tracking import TrackedRun, Tracker

#: Trackers dropped in this process (missing library, an error): not tried again, so a sweep of a
#: hundred cells says it once, not a hundred times.
_DROPPED: set[str] = set()


def tracker_names(value: Any) -> list[str]:
    """``--tracker a,b`` (or a grid file's list, or the API's) as names, in order, each once."""
    items = value if isinstance(value, (list, tuple)) else str(value or "").split(",")
    return list(dict.fromkeys(str(item).strip() for item in items if str(item).strip()))


def slug(text: str) -> str:
    """A name every tracker accepts for a project, experiment or folder: letters, digits, ``._-``."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-") or "xharness"


class Trackers:
    """The trackers of one process, each guarded: a failure is one warning, then it is dropped."""

    def __init__(self, registered: Sequence[Any] = (), log: Callable[[str], None] = print):
        self._registered = list(registered)  # harness.contract.discovery.Registered of TrackerSpec
        self._log = log
        self._active: list[tuple[str, Tracker]] = []

    def __bool__(self) -> bool:
        return bool(self._registered)

    def start(self, run: TrackedRun) -> None:
        """Open ``run`` in every tracker (each instantiated anew: a phase is one tracked run)."""
        self._active = []
        for item in self._registered:
            spec = item.spec
            if spec.name in _DROPPED:
                continue
            missing = [module for module in spec.requires if not importable(module)]
            try:
                if missing:
                    raise ModuleNotFoundError(name=missing[0])
                module, _, attribute = spec.load.partition(":")
                tracker = getattr(importlib.import_module(module), attribute)()
            except ImportError as exc:
                name = getattr(exc, "name", None) or str(exc)
                hint = f" ({spec.install})" if spec.install else ""
                self._log(f"warning: tracker {spec.name}: {name} is not installed{hint}; nothing is tracked there "
                          f"by this process")
                _DROPPED.add(spec.name)
                continue
            except Exception as exc:  # a plugin's bug
                self._warn(spec.name, exc)
                continue
            if self._call(spec.name, tracker.start, run):
                self._active.append((spec.name, tracker))

    def log(self, values: dict[str, float], step: int) -> None:
        for name, tracker in list(self._active):
            self._call(name, tracker.log, values, step)

    def summary(self, values: dict[str, Any]) -> None:
        for name, tracker in list(self._active):
            self._call(name, tracker.summary, values)

    def finish(self) -> list[str]:
        """Close every open tracked run; returns the trackers that had it all (none failed on the way)."""
        finished = [name for name, tracker in list(self._active) if self._call(name, tracker.finish)]
        self._active = []
        return finished

    def _call(self, name: str, method, *args) -> bool:
        try:
            method(*args)
            return True
        except Exception as exc:  # the tracker's trouble, never the run's
            self._warn(name, exc)
            self._active = [(n, t) for n, t in self._active if n != name]
            return False

    def _warn(self, name: str, exc: Exception) -> None:
        _DROPPED.add(name)
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        self._log(f"warning: tracker {name} failed ({type(exc).__name__}{': ' + text[:200] if text else ''}); the run "
                  f"goes on without it")


def importable(module: str) -> bool:
    """Whether ``module`` could be imported, without importing it (a tracker's library is heavy)."""
    import importlib.util

    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False
