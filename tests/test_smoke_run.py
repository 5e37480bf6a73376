"""The smoke preset end to end: the table, the results record, and reuse of finished phases."""

import json
import time
from pathlib import Path

import pytest

from click.testing import CliRunner

from harness.cli import cli

PAWSX_LANGUAGES = ["en", "de", "es", "fr", "ja", "ko", "zh"]


def _results(output: Path) -> tuple[Path, dict]:
    (path,) = sorted((output / "runs").glob("*/results.json"))
    return path, json.loads(path.read_text())


def test_smoke_run_prints_the_table_for_all_languages(smoke_run):
    output, result = smoke_run
    assert result.exit_code == 0, result.output
    for lang in PAWSX_LANGUAGES + ["average"]:
        assert lang in result.output
    assert "results: " in result.output and "results.json" in result.output


def test_results_record_holds_the_protocol(smoke_run, smoke_results):
    output, result = smoke_run
    path, record = smoke_results, json.loads(smoke_results.read_text())
    assert record["intermediate_tasks"] == ["hellaswag"] and record["target_task"] == "pawsx"
    assert record["model"]["name"] == "tiny" and len(record["model"]["sha256"]) == 64
    assert record["seed"] == 42
    for phase in ("intermediate", "target"):
        settings = record["hyperparameters"][phase]
        assert {"lr", "batch_size", "max_length", "epochs", "warmup_ratio", "weight_decay"} <= set(settings)
        assert record["phases"][phase]["wall_seconds"] > 0
        assert record["phases"][phase]["reused"] is False
    assert record["hyperparameters"]["target"]["epochs"] == 4
    assert record["versions"]["core"] and set(record["versions"]["plugins"]) >= {"xtreme", "stilts", "models"}
    import harness
    import xharness_models
    import xharness_stilts
    import xharness_xtreme

    # the versions each package writes once (its __version__; its distribution's metadata reads it)
    assert record["versions"]["core"] == harness.__version__
    assert {name: record["versions"]["plugins"][name] for name in ("xtreme", "stilts", "models")} == {
        "xtreme": xharness_xtreme.__version__, "stilts": xharness_stilts.__version__,
        "models": xharness_models.__version__}
    assert record["versions"]["torch"] and "git" in record
    scores = record["scores"]
    assert scores["metric"] == "accuracy" and list(scores["per_language"]) == PAWSX_LANGUAGES
    assert abs(scores["average"] - sum(scores["per_language"].values()) / 7) < 1e-9
    # the scores are what the written predictions give against the bundled gold labels
    samples = Path(__import__("xharness_xtreme").__file__).parent / "samples" / "pawsx" / "x-final"
    for lang, value in scores["per_language"].items():
        predicted = (path.parent / "predictions" / "pawsx" / f"test-{lang}.tsv").read_text().split()
        gold = [row.split("\t")[3] for row in (samples / lang / "test_2k.tsv").read_text().splitlines()[1:]]
        assert len(predicted) == len(gold)
        assert abs(100 * sum(p == g for p, g in zip(predicted, gold)) / len(gold) - value) < 1e-9
    history = record["phases"]["intermediate"]["history"]
    assert history["updates"] == 24 and len(history["epochs"]) == 3  # 64 examples / 8 × 3 epochs
    assert not list(output.rglob("*.tmp")), "temporary files left behind"


def test_finished_phases_are_reused(smoke_run, smoke_results):
    output, _ = smoke_run
    path, before = smoke_results, json.loads(smoke_results.read_text())
    mtime = path.stat().st_mtime_ns
    began = time.perf_counter()
    again = CliRunner().invoke(cli, ["run", "--inter", "hellaswag", "--target", "pawsx", "--preset", "smoke",
                                     "--output", str(output)])
    assert again.exit_code == 0, again.output
    assert "reusing finished run" in again.output
    assert path.stat().st_mtime_ns == mtime  # not rewritten
    assert time.perf_counter() - began < 5

    # a changed target setting redoes phase 3 only: phase 2 is reused from its key
    changed = CliRunner().invoke(cli, ["run", "--inter", "hellaswag", "--target", "pawsx", "--preset", "smoke",
                                       "--output", str(output), "--target-epochs", "1", "--languages", "en,de"])
    assert changed.exit_code == 0, changed.output
    assert "reusing finished phase" in changed.output
    runs = sorted((output / "runs").glob("hellaswag__pawsx__*/results.json"))
    assert len(runs) == 2
    new = json.loads(next(p for p in runs if p != path).read_text())
    assert new["phases"]["intermediate"]["reused"] is True
    assert new["phases"]["intermediate"]["key"] == before["phases"]["intermediate"]["key"]
    assert list(new["scores"]["per_language"]) == ["en", "de"]
    assert len(list((output / "intermediate").iterdir())) == 1


def test_baseline_without_intermediate_task(tmp_path):
    result = CliRunner().invoke(cli, ["run", "--inter", "none", "--target", "pawsx", "--preset", "smoke",
                                      "--output", str(tmp_path), "--target-epochs", "1"])
    assert result.exit_code == 0, result.output
    _, record = _results(tmp_path)
    assert record["intermediate_tasks"] == [] and record["phases"]["intermediate"] is None
    assert not (tmp_path / "intermediate").exists()


@pytest.mark.slow
def test_smoke_with_a_real_bert_backbone_without_token_type_ids(tmp_path, e5_model, shared_data):
    """multilingual-e5-small: BERT architecture, XLM-R tokenizer, no token_type_ids; real PAWS-X files."""
    result = CliRunner().invoke(cli, ["run", "--inter", "hellaswag", "--target", "pawsx", "--preset", "smoke",
                                      "--model", str(e5_model), "--data-dir", str(shared_data), "--lr", "3e-5",
                                      "--batch-size", "8", "--max-length", "128",
                                      "--output", str(tmp_path), "--inter-epochs", "1", "--target-epochs", "1"])
    assert result.exit_code == 0, result.output
    _, record = _results(tmp_path)
    model = record["model"]
    assert model["source"] == "local" and model["location"] == str(e5_model.resolve())
    from harness.common.fsutil import sha256_files

    read = ["config.json", "model.safetensors", "pruned_vocab_map.tsv.gz", "pruning_info.json", "tokenizer.json",
            "tokenizer_config.json"]  # every file but the README
    assert model["files"] == read
    assert model["sha256"] == sha256_files([e5_model / name for name in read], root=e5_model)
    assert record["data"]["target"]["source"] == "local"
    assert record["phases"]["target"]["train_examples"] == 4  # the real en/train.tsv sample has 4 rows
    encoder = next((tmp_path / "intermediate").iterdir()) / "encoder"
    assert "BertModel" in json.loads((encoder / "config.json").read_text())["architectures"][0]


def test_xnli_after_hellaswag_reuses_phase_2_and_writes_label_names(smoke_run):
    output, first = smoke_run
    assert first.exit_code == 0
    result = CliRunner().invoke(cli, ["run", "--inter", "hellaswag", "--target", "xnli", "--preset", "smoke",
                                      "--output", str(output), "--target-epochs", "1"])
    assert result.exit_code == 0, result.output
    assert "reusing finished phase" in result.output  # one intermediate checkpoint serves every target
    (path,) = (output / "runs").glob("hellaswag__xnli__*/results.json")
    record = json.loads(path.read_text())
    assert len(record["scores"]["per_language"]) == 15
    predicted = (path.parent / "predictions" / "xnli" / "test-sw.tsv").read_text().split()
    assert len(predicted) == 24 and set(predicted) <= {"entailment", "neutral", "contradiction"}


NINE = {"pawsx": (7, "tsv"), "xnli": (15, "tsv"), "udpos": (33, "tsv"), "panx": (40, "tsv"), "xquad": (11, "json"),
        "mlqa": (7, "json"), "tydiqa": (9, "json"), "bucc2018": (4, "tsv"), "tatoeba": (36, "tsv")}


@pytest.mark.parametrize("target", sorted(NINE))
def test_every_xtreme_target_runs_the_smoke_baseline(target, tmp_path):
    result = CliRunner().invoke(cli, ["run", "--inter", "none", "--target", target, "--preset", "smoke",
                                      "--output", str(tmp_path), "--target-epochs", "1"])
    assert result.exit_code == 0, result.output
    path, record = _results(tmp_path)
    count, extension = NINE[target]
    assert len(record["scores"]["per_language"]) == count and "average" in result.output
    written = sorted(p.name for p in (path.parent / "predictions" / target).iterdir())
    assert written == sorted(f"test-{lang}.{extension}" for lang in record["languages"])


def test_tatoeba_after_hellaswag_reuses_phase_2(smoke_run):
    output, first = smoke_run
    assert first.exit_code == 0
    result = CliRunner().invoke(cli, ["run", "--inter", "hellaswag", "--target", "tatoeba", "--preset", "smoke",
                                      "--output", str(output), "--languages", "de,ja,sw"])
    assert result.exit_code == 0, result.output
    assert "reusing finished phase" in result.output


def test_a_named_model_does_not_inherit_the_presets_settings_for_its_tiny_model(registry, tmp_path, e5_model, capsys,
                                                                              monkeypatch):
    """Issue 23: `--preset smoke --model <e5>` trained e5 at the tiny model's lr 5e-4 (it collapsed to one
    class); the task's own settings apply to a named model, and a line says so."""
    from harness.cell import planning
    from harness.cell.planning import PRESETS, RunRequest, plan_run

    monkeypatch.setattr(planning, "_NOTED", set())  # the line is said once a process: say it here

    plan = plan_run(RunRequest(inter="none", target="pawsx", preset="smoke", model=str(e5_model),
                               output=tmp_path), registry)
    defaults = registry.task("target", "pawsx").spec.defaults
    assert plan.target_settings["lr"] == float(defaults.get("lr", 1e-5)) != PRESETS["smoke"]["settings"]["lr"]
    assert plan.source == "bundled" and plan.target_settings["epochs"] == PRESETS["smoke"]["target_epochs"]
    assert "the preset's settings for its tiny model (lr=0.0005" in capsys.readouterr().err
    tiny = plan_run(RunRequest(inter="none", target="pawsx", preset="smoke", output=tmp_path), registry)
    assert tiny.target_settings["lr"] == PRESETS["smoke"]["settings"]["lr"]  # the preset's own model keeps them

