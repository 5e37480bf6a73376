"""MLflow: one MLflow run per training phase, in an MLflow experiment named after the xharness one.

``MLFLOW_TRACKING_URI`` when set; otherwise a local file store in ``<output>/trackers/mlflow``
(MLflow keeps that backend in maintenance mode behind ``MLFLOW_ALLOW_FILE_STORE``, which is set
for it). A phase's run is found again by its tag ``xharness.id`` (``xh-<key>``), so a resumed cell
continues it.
"""

from __future__ import annotations

import json
import os
import time

from harness.contract.tracking import TrackedRun, Tracker


class MlflowTracker(Tracker):
    def start(self, run: TrackedRun) -> None:
        from mlflow.entities import Param
        from mlflow.tracking import MlflowClient

        uri = os.environ.get("MLFLOW_TRACKING_URI")
        if not uri:
            os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
            uri = run.folder("mlflow").resolve().as_uri()
        self.client = client = MlflowClient(tracking_uri=uri)
        experiment = client.get_experiment_by_name(run.group)
        experiment_id = experiment.experiment_id if experiment else client.create_experiment(run.group)
        found = client.search_runs([experiment_id], filter_string=f"tags.`xharness.id` = '{run.id}'", max_results=1)
        if found:
            self.run_id = found[0].info.run_id
            client.update_run(self.run_id, status="RUNNING")
        else:
            created = client.create_run(experiment_id, run_name=run.name,
                                        tags={"xharness.id": run.id, "xharness.phase": run.phase})
            self.run_id = created.info.run_id
            params = [Param(key[:250], (json.dumps(value) if not isinstance(value, str) else value)[:6000])
                      for key, value in _flat(run.config).items()]
            for start in range(0, len(params), 100):  # MLflow takes at most 100 params a batch
                client.log_batch(self.run_id, params=params[start:start + 100])

    def log(self, values: dict[str, float], step: int) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        self.client.log_batch(self.run_id, metrics=[Metric(key, float(value), now, step)
                                                    for key, value in values.items()])

    def summary(self, values: dict) -> None:
        self.log({k: v for k, v in values.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}, 0)

    def finish(self) -> None:
        self.client.set_terminated(self.run_id)


def _flat(config: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out.update(_flat(value, name + "."))
        else:
            out[name] = value
    return out
