"""TensorBoard: event files in ``<output>/trackers/tensorboard/<experiment>/<phase id>/``.

A resumed cell writes into the same folder, so TensorBoard shows it as one run; the settings are
written once as text (``config``) and the final figures as scalars at the last step.
"""

from __future__ import annotations

import json

from harness.contract.tracking import TrackedRun, Tracker
from harness.tracking import slug


class TensorboardTracker(Tracker):
    def start(self, run: TrackedRun) -> None:
        from torch.utils.tensorboard import SummaryWriter

        folder = run.folder("tensorboard") / slug(run.group) / run.id
        fresh = not folder.exists()
        self.writer = SummaryWriter(log_dir=str(folder))
        self.step = 0
        if fresh:
            self.writer.add_text("config", "```\n" + json.dumps(run.config, indent=2, default=str) + "\n```")
            self.writer.add_text("name", run.name)

    def log(self, values: dict[str, float], step: int) -> None:
        self.step = max(self.step, step)
        for key, value in values.items():
            self.writer.add_scalar(key, float(value), step)

    def summary(self, values: dict) -> None:
        for key, value in values.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                self.writer.add_scalar(key, float(value), self.step)

    def finish(self) -> None:
        self.writer.close()
