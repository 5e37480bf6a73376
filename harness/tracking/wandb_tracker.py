"""Weights & Biases: one W&B run per training phase, grouped by experiment.

Offline by default when no API key is configured (``WANDB_MODE=offline``: files only, under
``<output>/trackers/wandb``; ``wandb sync`` uploads them later); ``WANDB_MODE``, ``WANDB_PROJECT``
and ``WANDB_ENTITY`` are honoured. The W&B run id is the phase's (``xh-<key>``) and it is opened with
``resume="allow"``, so a resumed cell continues its run.
"""

from __future__ import annotations

import os

from harness.contract.tracking import TrackedRun, Tracker


class WandbTracker(Tracker):
    def start(self, run: TrackedRun) -> None:
        import wandb

        mode = os.environ.get("WANDB_MODE") or ("online" if os.environ.get("WANDB_API_KEY") else "offline")
        self.run = wandb.init(project=os.environ.get("WANDB_PROJECT", "xharness"), entity=os.environ.get("WANDB_ENTITY"),
                              group=run.group, job_type=run.phase, id=run.id, name=run.name, config=run.config,
                              resume="allow", mode=mode, dir=str(run.folder("wandb")), reinit="create_new",
                              settings=wandb.Settings(silent=True, console="off"))

    def log(self, values: dict[str, float], step: int) -> None:
        self.run.log(dict(values, update=step))

    def summary(self, values: dict) -> None:
        self.run.summary.update(values)

    def finish(self) -> None:
        self.run.finish()
