"""The run store keeps its promises: keys see every input, artifacts are verified before reuse,
unwritable outputs fail before training, signals stop cleanly, files follow the umask (issue 14)."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from harness.cli import cli
import zygote  # tests/zygote.py: `python -m harness` without re-importing torch each time

FAST = ["--inter", "hellaswag", "--target", "pawsx", "--preset", "smoke", "--languages", "en,de",
        "--inter-epochs", "1", "--target-epochs", "2"]


def run(output: Path, *extra: str):
    return CliRunner().invoke(cli, ["run", *FAST, "--output", str(output), *extra])


def results(output: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((output / "runs").glob("*/results.json"))]


def comparable(record: dict) -> dict:
    """What must be equal between two runs of the same cell (timings and dates differ)."""
    phases = {name: {k: v for k, v in (phase or {}).items() if k not in ("wall_seconds", "reused")}
              for name, phase in record["phases"].items()}
    for phase in phases.values():
        if "history" in phase:
            phase["history"] = {k: v for k, v in phase["history"].items() if k not in ("train_seconds", "checkpoints")}
    return {"scores": record["scores"], "phases": phases}


@pytest.fixture(scope="session")  # per worker: a module xdist splits does not rebuild it
def finished(tmp_path_factory) -> Path:
    """One finished fast cell; tests copy it and damage the copy."""
    output = tmp_path_factory.mktemp("finished")
    result = run(output)
    assert result.exit_code == 0, result.output
    return output


@pytest.fixture
def store(finished, tmp_path) -> Path:
    copy = tmp_path / "store"
    shutil.copytree(finished, copy)
    return copy


# -- keys see every input ----------------------------------------------------------------

def test_editing_a_local_models_config_changes_the_key(tiny_model_dir, tmp_path):
    model = tmp_path / "model"
    shutil.copytree(tiny_model_dir, model)
    first = run(tmp_path / "out", "--model", str(model))
    assert first.exit_code == 0, first.output
    config = json.loads((model / "config.json").read_text())
    assert config["hidden_dropout_prob"] == 0.1
    config["hidden_dropout_prob"] = 0.9
    (model / "config.json").write_text(json.dumps(config))
    second = run(tmp_path / "out", "--model", str(model))
    assert second.exit_code == 0, second.output
    assert "reusing" not in second.output
    before, after = results(tmp_path / "out")
    assert before["model"]["sha256"] != after["model"]["sha256"]
    assert "config.json" in after["model"]["files"] and "tokenizer.json" in after["model"]["files"]


def test_editing_a_local_models_tokenizer_changes_its_identity(tiny_model_dir, tmp_path):
    from harness.cell.protocol import ModelChoice

    model = tmp_path / "model"
    shutil.copytree(tiny_model_dir, model)
    (model / "README.md").write_text("notes")  # documentation is not read by from_pretrained
    choice = ModelChoice("model", "local", str(model))
    before = choice.identity()
    config = json.loads((model / "tokenizer_config.json").read_text())
    config["model_max_length"] = 64
    (model / "tokenizer_config.json").write_text(json.dumps(config))
    assert choice.identity()["sha256"] != before["sha256"]
    assert "README.md" not in before["files"]


def test_the_tiny_model_builds_the_same_bytes_every_time(registry, tmp_path):
    from harness.cell.protocol import ModelChoice

    spec = registry.model("tiny").spec
    digests = []
    for attempt in range(3):
        folder = tmp_path / f"build{attempt}"
        spec.build(folder)
        digests.append(ModelChoice("tiny", "built", str(folder)).identity()["sha256"])
    assert len(set(digests)) == 1
    for name in ("tokenizer.json", "model.safetensors", "config.json"):
        assert (tmp_path / "build0" / name).read_bytes() == (tmp_path / "build2" / name).read_bytes()


# -- every artifact is checked before reuse ---------------------------------------------------

def _encoder_weights(store: Path) -> Path:
    (weights,) = store.glob("intermediate/*/encoder/model.safetensors")
    return weights


@pytest.mark.parametrize("damage", ["flipped", "truncated", "empty", "random"])
def test_a_damaged_encoder_is_set_aside_and_retrained(store, finished, damage):
    weights = _encoder_weights(store)
    data = bytearray(weights.read_bytes())
    if damage == "flipped":
        for offset in range(len(data) - 4000, len(data) - 3000):  # tensor bytes, not the header
            data[offset] ^= 0xFF
    elif damage == "truncated":
        data = data[: len(data) // 2]
    elif damage == "empty":
        data = bytearray()
    else:
        data = bytearray(os.urandom(len(data)))
    weights.write_bytes(bytes(data))
    shutil.rmtree(next((store / "runs").iterdir()))  # so phase 3 needs the encoder
    result = run(store)
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output and "SafetensorError" not in result.output
    assert "is damaged" in result.output and "model.safetensors" in result.output
    assert "phase 2: training" in result.output
    (kept,) = (store / "damaged").iterdir()
    assert (kept / "encoder" / "model.safetensors").read_bytes() == bytes(data)  # the user's copy is kept
    (record,) = results(store)
    assert comparable(record) == comparable(results(finished)[0])


def test_an_edited_results_file_is_not_believed(store, finished):
    (path,) = store.glob("runs/*/results.json")
    record = json.loads(path.read_text())
    record["scores"]["average"] = 99.0
    path.write_text(json.dumps(record, indent=2))
    result = run(store)
    assert result.exit_code == 0, result.output
    assert "is damaged" in result.output and "results.json" in result.output
    assert "99.00" not in result.output
    assert "reusing finished phase" in result.output  # phase 2 was sound and is reused
    assert comparable(results(store)[0]) == comparable(results(finished)[0])


def test_a_deleted_prediction_file_is_noticed(store):
    (path,) = store.glob("runs/*/predictions/pawsx/test-de.tsv")
    path.unlink()
    result = run(store)
    assert result.exit_code == 0, result.output
    assert "test-de.tsv is missing" in result.output
    assert path.is_file()


def test_a_phase_folder_without_its_record_is_retrained_once_and_then_reused(store):
    (phase,) = store.glob("intermediate/*/phase.json")
    phase.unlink()
    shutil.rmtree(next((store / "runs").iterdir()))
    first = run(store)
    assert first.exit_code == 0, first.output
    assert "phase.json is missing" in first.output and "phase 2: training" in first.output
    assert phase.is_file()  # written this time, not thrown away
    shutil.rmtree(next((store / "runs").iterdir()))
    second = run(store)
    assert second.exit_code == 0, second.output
    assert "reusing finished phase" in second.output and "damaged" not in second.output


def test_checkpoints_caught_half_deleted_beside_a_finished_phase_are_removed(store):
    """A run killed while clearing a finished phase's checkpoints leaves them under a temporary name;
    the next run that reuses the phase removes them (found by the SIGKILL test, at random moments)."""
    (phase,) = store.glob("intermediate/*/phase.json")
    doomed = store / "checkpoints" / "intermediate" / f".{phase.parent.name}.4242.deleting.tmp" / "000000002-0step"
    doomed.mkdir(parents=True)
    (doomed / "state.pt").write_bytes(b"x" * 1024)
    shutil.rmtree(next((store / "runs").iterdir()))  # so that phase 2 is looked at again
    result = run(store)
    assert result.exit_code == 0, result.output
    assert "reusing finished phase" in result.output
    assert f"removed .{phase.parent.name}.4242.deleting.tmp" in result.output
    assert not list(store.rglob("*.tmp"))


# -- fail before training, never after --------------------------------------------------------

def _one_error_line(result) -> str:
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    return lines[0]


def test_an_output_under_a_regular_file_fails_during_planning(tmp_path):
    (tmp_path / "file").write_text("not a folder")
    began = time.perf_counter()
    result = run(tmp_path / "file" / "runs")
    assert result.exit_code == 1
    assert "is a file, not a folder" in _one_error_line(result)
    assert time.perf_counter() - began < 5  # nothing was trained


def test_an_immutable_output_fails_during_planning(finished, tmp_path):
    output = tmp_path / "store"
    shutil.copytree(finished, output)
    if subprocess.run(["chattr", "+i", str(output / "runs")], capture_output=True).returncode != 0:
        pytest.skip("chattr +i is not supported on this file system")
    try:
        result = run(output, "--seed", "7")  # a new cell: it would be written under runs/
        assert result.exit_code == 1
        line = _one_error_line(result)
        assert "cannot be written" in line and "runs" in line
        assert len(list((output / "intermediate").iterdir())) == 1  # no phase 2 was trained for seed 7
    finally:
        subprocess.run(["chattr", "-i", str(output / "runs")])


def test_a_write_that_fails_at_the_end_keeps_what_was_trained(tmp_path, monkeypatch):
    """The output turns unwritable after planning (here: runs/ becomes a file); the trained run is rescued."""
    from harness.contract.errors import UserError
    from harness.contract.discovery import discover
    from harness.common.progress import Reporter
    from harness.cell.protocol import RunRequest, execute, plan_run

    monkeypatch.setenv("XHARNESS_CACHE", str(tmp_path / "cache"))
    output = tmp_path / "out"

    class Saboteur(Reporter):
        def log(self, message: str) -> None:
            if message.startswith("phase 3:"):
                (output / "runs").write_text("the disk is full")
            super().log(message)

    request = RunRequest(inter="hellaswag", target="pawsx", preset="smoke", output=output, languages=["en", "de"],
                         overrides={"inter_epochs": 1, "target_epochs": 2})
    with pytest.raises(UserError) as caught:
        execute(plan_run(request, discover()), reporter_factory=Saboteur)
    message = str(caught.value)
    assert "\n" not in message and "could not write" in message and "is kept in" in message
    rescued = Path(message.split("is kept in ")[1].split(":")[0])
    assert (rescued / "results.json").is_file() and (rescued / "manifest.json").is_file()
    # putting it where it belongs makes the next run reuse it
    (output / "runs").unlink()
    (output / "runs").mkdir()
    run_dir = Path(message.split("could not write ")[1].split(" (")[0])
    shutil.move(str(rescued), str(run_dir))
    again = run(output)
    assert again.exit_code == 0, again.output
    assert "reusing finished run" in again.output


def test_an_empty_test_split_fails_before_any_training(tmp_path):
    import xharness_stilts
    import xharness_xtreme

    data = tmp_path / "data"
    shutil.copytree(Path(xharness_stilts.__file__).parent / "samples" / "hellaswag", data / "hellaswag")
    shutil.copytree(Path(xharness_xtreme.__file__).parent / "samples" / "pawsx", data / "pawsx")
    empty = data / "pawsx" / "x-final" / "de" / "test_2k.tsv"
    empty.write_text(empty.read_text(encoding="utf-8").splitlines()[0] + "\n")  # the header, no examples
    result = CliRunner().invoke(cli, ["run", *FAST, "--data-dir", str(data), "--output", str(tmp_path / "out")])
    assert result.exit_code == 1
    line = _one_error_line(result)
    assert "test split for de is empty" in line and str(empty) in line
    assert not (tmp_path / "out" / "intermediate").exists()


# -- signals and permissions --------------------------------------------------------------

def _start(output: Path) -> subprocess.Popen:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return zygote.popen([sys.executable, "-m", "harness", "run", *FAST, "--output", str(output)],
                        stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)


@pytest.mark.parametrize("signum, code, moment", [(signal.SIGTERM, 75, "phase 3:"),
                                                  (signal.SIGINT, 130, "phase 2: training")])
def test_a_signal_stops_with_one_line_and_no_litter(tmp_path, signum, code, moment):
    process = _start(tmp_path / "out")
    seen = []
    for line in process.stderr:
        seen.append(line)
        if line.startswith(moment):
            break
    process.send_signal(signum)
    seen.extend(process.stderr)
    assert process.wait(timeout=60) == code, "".join(seen)
    text = "".join(seen)
    assert "Traceback" not in text and "Aborted!" not in text
    last = seen[-1]
    assert f"stopped by {signal.Signals(signum).name}" in last and "run the same command again" in last
    if moment == "phase 3:":
        assert "kept phase 2 (hellaswag)" in last
    assert not list((tmp_path / "out").rglob("*.tmp"))


def test_sigterm_while_writing_removes_the_temporary_folder(tmp_path, monkeypatch):
    import harness.cell.protocol

    real = harness.cell.protocol.atomic_write_json

    def killed_midway(path, data):
        if path.name == "phase.json":
            os.kill(os.getpid(), signal.SIGTERM)  # the encoder is already in the temporary folder
        real(path, data)

    monkeypatch.setattr(harness.cell.protocol, "atomic_write_json", killed_midway)
    result = run(tmp_path / "out")
    assert result.exit_code == 75, result.output
    assert "stopped by SIGTERM" in result.output
    assert not list((tmp_path / "out").rglob("*.tmp")), "temporary folder left behind"
    assert not list((tmp_path / "out").glob("intermediate/*"))


def test_outputs_follow_the_umask(tmp_path):
    previous = os.umask(0o002)
    try:
        result = run(tmp_path / "out")
    finally:
        os.umask(previous)
    assert result.exit_code == 0, result.output
    (run_dir,) = (tmp_path / "out" / "runs").iterdir()
    assert run_dir.stat().st_mode & 0o777 == 0o775
    assert (run_dir / "results.json").stat().st_mode & 0o777 == 0o664
    (phase,) = (tmp_path / "out" / "intermediate").iterdir()
    assert phase.stat().st_mode & 0o777 == 0o775
    assert (phase / "phase.json").stat().st_mode & 0o777 == 0o664
