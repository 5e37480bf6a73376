"""The built-in plugin that registers the core's task kinds and experiment trackers, exactly as a
third party would."""

from harness.contract.hookspecs import hookimpl
from harness.contract.spec import TrackerSpec
from harness.kinds import BUILTIN

#: The trackers the core ships; each imports its library only when a run asks for it.
TRACKERS = (
    TrackerSpec("wandb", "harness.tracking.wandb_tracker:WandbTracker",
                "Weights & Biases (offline without an account: WANDB_MODE=offline; `wandb sync` uploads later)",
                requires=("wandb",), install="pip install 'xtreme-harness[wandb]'"),
    TrackerSpec("mlflow", "harness.tracking.mlflow_tracker:MlflowTracker",
                "MLflow (MLFLOW_TRACKING_URI, else a file store in <output>/trackers/mlflow)",
                requires=("mlflow",), install="pip install 'xtreme-harness[mlflow]'"),
    TrackerSpec("tensorboard", "harness.tracking.tensorboard_tracker:TensorboardTracker",
                "TensorBoard event files in <output>/trackers/tensorboard (tensorboard --logdir …)",
                requires=("tensorboard",), install="pip install 'xtreme-harness[tensorboard]'"),
    TrackerSpec("trackio", "harness.tracking.trackio_tracker:TrackioTracker",
                "Trackio, locally (TRACKIO_DIR; `trackio show` opens the dashboard)",
                requires=("trackio",), install="pip install 'xtreme-harness[trackio]'"),
)


@hookimpl
def register_task_kinds(register):
    for spec in BUILTIN:
        register(spec)


@hookimpl
def register_trackers(register):
    for spec in TRACKERS:
        register(spec)
