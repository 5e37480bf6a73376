"""Experiment trackers as plugins (issue 24, point 1): each built-in tracker runs with its real
library, offline, and what it wrote is read back with that library (or, for W&B, with its own
record schema) and compared with the run's results.json. A tracker that is missing or fails costs
one warning line, never the run; a resumed cell continues its tracked run."""

import json
import os
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from harness.api import TrackerSpec, hookimpl
import zygote  # tests/zygote.py: `python -m harness` without re-importing torch each time

CELL = ["--inter", "hellaswag", "--target", "pawsx", "--preset", "smoke", "--languages", "en,de", "--inter-epochs",
        "1", "--target-epochs", "1"]


def _environment(root: Path) -> dict:
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", WANDB_MODE="offline", WANDB_SILENT="true",
               TRACKIO_DIR=str(root / "trackio"), PYTHONUNBUFFERED="1")
    env.pop("MLFLOW_TRACKING_URI", None)
    return env


def _run(root: Path, *extra: str, cell=CELL) -> subprocess.CompletedProcess:
    return zygote.run([sys.executable, "-m", "harness", "run", *cell, "--output", str(root / "store"), *extra],
                      capture_output=True, text=True, env=_environment(root), timeout=300)


@pytest.fixture(scope="module")
def tracked(tmp_path_factory):
    """One cell (phase 2 and phase 3) run with all four built-in trackers."""
    root = tmp_path_factory.mktemp("trackers")
    done = _run(root, "--tracker", "wandb,mlflow,tensorboard,trackio")
    assert done.returncode == 0, done.stderr[-3000:]
    (results,) = (root / "store" / "runs").glob("*/results.json")
    record = json.loads(results.read_text())
    return root, record, done


def assert_curve(points: list[tuple[int, float]], steps: dict) -> None:
    """A tracker's (step, loss) points are results.json's training curve."""
    assert [step for step, _ in points] == steps["update"]
    assert [value for _, value in points] == pytest.approx(steps["train_loss"], rel=1e-6)


def _keys(record) -> tuple[str, str]:
    return "xh-" + record["phases"]["intermediate"]["key"], "xh-" + record["phases"]["target"]["key"]


@pytest.mark.slow  # its fixture, one cell with all four trackers, is shared by the module: started first
def test_no_tracker_warned_and_the_run_printed_as_always(tracked):
    _, _, done = tracked
    assert "warning" not in done.stderr and "Trackio" not in done.stdout + done.stderr
    assert "results:" in done.stdout


def test_tensorboard_holds_the_curve_the_dev_scores_and_the_test_scores(tracked):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    root, record, _ = tracked
    inter, target = _keys(record)
    (folder,) = (root / "store" / "trackers" / "tensorboard").glob(f"*/{target}")
    assert folder.parent.name == "run"  # grouped by the experiment
    events = EventAccumulator(str(folder))
    events.Reload()
    steps = record["phases"]["target"]["history"]["steps"]
    loss = events.Scalars("train/loss")
    assert [e.step for e in loss] == steps["update"]
    assert [e.value for e in loss] == pytest.approx(steps["train_loss"], rel=1e-6)
    assert [e.value for e in events.Scalars("train/learning_rate")] == pytest.approx(steps["learning_rate"])
    assert [e.value for e in events.Scalars("train/grad_norm")] == pytest.approx(steps["grad_norm"], rel=1e-6)
    assert all(e.value > 0 for e in events.Scalars("train/tokens_per_second"))
    epochs = record["phases"]["target"]["history"]["epochs"]
    assert [e.step for e in events.Scalars("dev/score")] == [x["updates"] for x in epochs]
    assert [e.value for e in events.Scalars("dev/score")] == pytest.approx([x["dev_score"] for x in epochs])
    for lang, value in record["scores"]["per_language"].items():
        assert events.Scalars(f"test/{lang}")[-1].value == pytest.approx(value)
    assert (root / "store" / "trackers" / "tensorboard" / "run" / inter).is_dir()  # phase 2 is its own run


def test_mlflow_holds_one_run_per_phase_with_its_settings_and_metrics(tracked):
    from mlflow.tracking import MlflowClient

    root, record, _ = tracked
    inter, target = _keys(record)
    os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    client = MlflowClient(tracking_uri=(root / "store" / "trackers" / "mlflow").as_uri())
    experiment = client.get_experiment_by_name("run")
    (run,) = client.search_runs([experiment.experiment_id], filter_string=f"tags.`xharness.id` = '{target}'")
    assert run.info.status == "FINISHED"
    assert run.data.params["settings.lr"] == json.dumps(record["hyperparameters"]["target"]["lr"])
    assert run.data.params["start.phase2"] == "trained now"  # strings as they are, the rest as JSON
    history = client.get_metric_history(run.info.run_id, "train/loss")
    steps = record["phases"]["target"]["history"]["steps"]
    assert_curve([(m.step, m.value) for m in history], steps)
    assert run.data.metrics["test/de"] == pytest.approx(record["scores"]["per_language"]["de"])
    assert run.data.metrics["test/average"] == pytest.approx(record["scores"]["average"])
    assert client.search_runs([experiment.experiment_id], filter_string=f"tags.`xharness.id` = '{inter}'")


def _wandb_records(path: Path):
    """The records of a W&B transaction log (.wandb): LevelDB-style blocks of framed records, each
    a protobuf ``Record`` of W&B's own schema (wandb.proto)."""
    from wandb.proto import wandb_internal_pb2 as pb

    data = path.read_bytes()
    assert data[:4] == b":W&B"
    position, block, pieces = 7, 32768, b""
    while position + 7 <= len(data):
        room = block - position % block
        if room < 7:  # a block's tail too short for a header is padding
            position += room
            continue
        _, length, kind = struct.unpack("<IHB", data[position:position + 7])
        pieces += data[position + 7:position + 7 + length]
        position += 7 + length
        if kind in (1, 4):  # a whole record, or the last piece of one
            record = pb.Record()
            record.ParseFromString(pieces)
            yield record
            pieces = b""
        elif kind == 0:
            break


def test_wandb_offline_run_holds_the_curve_config_and_summary(tracked):
    root, record, _ = tracked
    _, target = _keys(record)
    (log,) = (root / "store" / "trackers" / "wandb" / "wandb").glob(f"offline-run-*-{target}/run-{target}.wandb")
    history, summary, config, run = [], {}, {}, None
    for entry in _wandb_records(log):
        kind = entry.WhichOneof("record_type")
        if kind == "history":
            history.append({item.key or "/".join(item.nested_key): json.loads(item.value_json) for item in entry.history.item})
        elif kind == "summary":
            summary.update({item.key or "/".join(item.nested_key): json.loads(item.value_json) for item in entry.summary.update})
        elif kind == "config":
            config.update({item.key: json.loads(item.value_json) for item in entry.config.update})
        elif kind == "run":
            run = entry.run
    assert run.run_id == target and run.run_group == "run" and run.job_type == "target"
    steps = record["phases"]["target"]["history"]["steps"]
    logged = [(row["update"], row["train/loss"]) for row in history if "train/loss" in row]
    assert_curve(logged, steps)
    assert summary["test/de"] == pytest.approx(record["scores"]["per_language"]["de"])
    config.update({item.key: json.loads(item.value_json) for item in run.config.update})  # sent with the run
    settings = config["settings"].get("value", config["settings"])  # W&B may wrap a value as {"value": …}
    assert settings["lr"] == record["hyperparameters"]["target"]["lr"]


def test_trackio_holds_the_curve_in_its_project(tracked):
    root, record, _ = tracked
    _, target = _keys(record)
    code = ("import json, sys\nfrom trackio.sqlite_storage import SQLiteStorage\n"
            f"print(json.dumps(SQLiteStorage.get_logs('run', {target!r})))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=_environment(root),
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    logs = json.loads(done.stdout.strip().splitlines()[-1])
    steps = record["phases"]["target"]["history"]["steps"]
    curve = [(row["step"], row["train/loss"]) for row in logs if "train/loss" in row]
    assert_curve(curve, steps)
    assert any(row.get("test/de") == pytest.approx(record["scores"]["per_language"]["de"]) for row in logs)


@pytest.mark.slow
def test_a_resumed_cell_continues_its_tracked_run(tmp_path):
    cell = ["--inter", "none", "--target", "pawsx", "--preset", "smoke", "--languages", "en,de", "--target-epochs", "2",
            "--checkpoint-minutes", "0", "--tracker", "mlflow,tensorboard"]
    process = zygote.popen([sys.executable, "-m", "harness", "run", *cell, "--output", str(tmp_path / "store")],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=_environment(tmp_path))
    lines = []
    for line in process.stderr:
        lines.append(line)
        if "pawsx epoch 1:" in line:
            process.send_signal(signal.SIGTERM)  # during the second epoch
            break
    lines += process.stderr.readlines()
    assert process.wait(120) == 75, "".join(lines)
    done = zygote.run([sys.executable, "-m", "harness", "run", *cell, "--output", str(tmp_path / "store")],
                      capture_output=True, text=True, env=_environment(tmp_path), timeout=300)
    assert done.returncode == 0 and "resuming from the checkpoint" in done.stderr, done.stderr[-2000:]
    (results,) = (tmp_path / "store" / "runs").glob("*/results.json")
    record = json.loads(results.read_text())
    target = "xh-" + record["phases"]["target"]["key"]
    from mlflow.tracking import MlflowClient

    os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    client = MlflowClient(tracking_uri=(tmp_path / "store" / "trackers" / "mlflow").as_uri())
    experiment = client.get_experiment_by_name("run")
    runs = client.search_runs([experiment.experiment_id], filter_string=f"tags.`xharness.id` = '{target}'")
    assert len(runs) == 1  # one tracked run, continued
    logged = {m.step: m.value for m in client.get_metric_history(runs[0].info.run_id, "train/loss")}
    steps = record["phases"]["target"]["history"]["steps"]
    assert sorted(logged) == steps["update"]  # every point, before and after the stop
    assert [logged[s] for s in steps["update"]] == pytest.approx(steps["train_loss"])
    assert runs[0].data.metrics["test/average"] == pytest.approx(record["scores"]["average"])
    folders = list((tmp_path / "store" / "trackers" / "tensorboard").glob(f"*/{target}"))
    assert len(folders) == 1


# ----------------------------------------------------------------------------- failures and names


class _Broken:
    """A tracker plugin: one tracker fails as a full disk would, one needs a library that is not there."""

    __version__ = "1.0"

    @staticmethod
    @hookimpl
    def register_trackers(register):
        register(TrackerSpec("full-disk", "test_trackers:FullDisk", "writes nowhere"))
        register(TrackerSpec("absent", "xharness_no_such_library_module:Tracker", "not installed",
                             requires=("xharness_no_such_library_module",), install="pip install absent-tracker"))


class FullDisk:
    def start(self, run):
        self.calls = 0

    def log(self, values, step):
        raise OSError(28, "No space left on device")

    def summary(self, values):
        raise AssertionError("a dropped tracker is called no more")

    def finish(self):
        pass


def test_a_missing_or_failing_tracker_costs_one_warning_never_the_run(tmp_path, monkeypatch):
    from harness.cli import cli
    from harness.contract.discovery import discover

    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    registry = discover([("broken-trackers", _Broken)])
    monkeypatch.setattr("harness.cli.base._registry", lambda: registry)
    result = CliRunner().invoke(cli, ["run", "--inter", "none", "--target", "pawsx", "--preset", "smoke",
                                      "--languages", "en,de", "--target-epochs", "1", "--output", str(tmp_path),
                                      "--tracker", "full-disk,absent"])
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.output.splitlines() if "warning: tracker" in line]
    assert len(warnings) == 2, warnings
    assert "tracker absent: xharness_no_such_library_module is not installed (pip install absent-tracker)" in warnings[0]
    assert "tracker full-disk failed (OSError: [Errno 28] No space left on device); the run goes on without it" \
        in warnings[1]
    assert list(tmp_path.glob("runs/*/results.json"))


def test_an_unknown_tracker_is_one_line(tmp_path):
    from harness.cli import cli

    result = CliRunner().invoke(cli, ["run", "--inter", "none", "--target", "pawsx", "--preset", "smoke",
                                      "--output", str(tmp_path), "--tracker", "wandbb"])
    assert result.exit_code == 2 and result.output.count("\n") == 1
    assert "unknown tracker 'wandbb'" in result.output and "wandb" in result.output
