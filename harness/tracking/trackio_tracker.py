"""Trackio (Hugging Face's local-first tracker): one Trackio run per training phase, in a project
named after the experiment. Local by default (``TRACKIO_DIR``; ``trackio show`` opens the
dashboard). The run's name is the phase's id (``xh-<key>``) and it is opened with
``resume="allow"``, so a resumed cell continues it; the readable name is in its config.
"""

from __future__ import annotations

import contextlib
import io

from harness.contract.tracking import TrackedRun, Tracker
from harness.tracking import slug


class TrackioTracker(Tracker):
    def start(self, run: TrackedRun) -> None:
        import trackio

        self.trackio = trackio
        with _quiet():  # trackio prints "* Created new run" between a run's own lines
            self.run = trackio.init(project=slug(run.group), name=run.id, group=run.phase,
                                    config=dict(run.config, name=run.name), resume="allow", embed=False,
                                    auto_log_gpu=False, auto_log_cpu=False)

    def log(self, values: dict[str, float], step: int) -> None:
        self.run.log(dict(values), step=step)

    def summary(self, values: dict) -> None:
        numbers = {k: v for k, v in values.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
        if numbers:
            self.run.log(numbers)

    def finish(self) -> None:
        with _quiet():  # trackio.finish also forgets the run, so trackio's exit handler has nothing to print
            self.trackio.finish()


def _quiet():
    return contextlib.redirect_stdout(io.StringIO())
