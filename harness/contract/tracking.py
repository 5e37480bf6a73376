"""What a tracker plugin implements: the run it is told about and the calls it receives.

A tracker (``--tracker NAME``, registered with a :class:`harness.contract.spec.TrackerSpec`) gets, for
every training phase it follows, one tracked run:

* ``start(run)`` with the run's identity and settings (:class:`TrackedRun`); ``run.id`` is the same
  when a killed cell is resumed, so a tracker continues that run instead of starting another;
* ``log(values, step)`` per update (``train/loss``, ``train/learning_rate``, ``train/grad_norm``,
  ``train/tokens_per_second``) and per epoch (``dev/score``, ``dev/<task>``, ``train/epoch_loss``,
  ``epoch``), ``step`` being the update count;
* ``summary(values)`` once at the end: every test language's score (``test/<lang>``) and their
  average (``test/average``), or the best dev score of an intermediate phase;
* ``finish()``.

Only the main process of a multi-process run has trackers. A tracker that raises is dropped for the
rest of the process with one warning line; the run goes on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class TrackedRun:
    """One training phase as a tracker sees it."""

    id: str  # stable across resumes and reruns of the same phase: "xh-" + the phase's key
    name: str  # readable: "hellaswag → pawsx · tiny · seed 42"
    group: str  # the experiment (harness.store.experiments label): a sweep's or study's cells share it
    phase: str  # "intermediate" or "target"
    store: Path  # the run store; trackers that write files keep them under <store>/trackers/<name>/
    config: dict[str, Any] = field(default_factory=dict)  # settings, keys, model, tasks, seed, start encoder
    reused: bool = False  # the phase was finished before: only its results are sent

    def folder(self, tracker: str) -> Path:
        """Where tracker ``tracker`` keeps its local files for this store."""
        path = Path(self.store) / "trackers" / tracker
        path.mkdir(parents=True, exist_ok=True)
        return path


class Tracker:
    """Base class of trackers: every call does nothing unless overridden."""

    def start(self, run: TrackedRun) -> None:
        """Open (or continue, for a ``run.id`` seen before) the tracked run."""

    def log(self, values: dict[str, float], step: int) -> None:
        """Record ``values`` at update ``step``."""

    def summary(self, values: dict[str, Any]) -> None:
        """Record the phase's final figures."""

    def finish(self) -> None:
        """Close the tracked run (flush files, end the library's run)."""
