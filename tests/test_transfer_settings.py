"""--transfer (issue 25): XTREME's translate-train, translate-train-all and translate-test beside
zero-shot, and few-shot target-language fine-tuning, in one grid.

The tiny model proves the mechanics (which data each model trains and is tested on, what is recorded
and keyed), not transfer: its PAWS-X scores sit at chance in every setting.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from harness.analysis import report
from harness.cell.planning import RunRequest, plan_run
from harness.cell.protocol import cell_paths, prepare_model
from harness.cli import cli
from harness.contract.discovery import discover

CELL = ["--target", "pawsx", "--preset", "smoke", "--languages", "en,de", "--target-epochs", "1"]
TRANSLATIONS = Path(__file__).resolve().parents[1] / "plugins" / "xtreme" / "xharness_xtreme_translations" / "samples"


def invoke(*args: str):
    return CliRunner().invoke(cli, [str(a) for a in args])


def records(output: Path) -> dict[str, dict]:
    """The store's runs by their setting's label (few-shot: with K and the shot seed)."""
    found = {}
    for path in sorted((output / "runs").glob("*/results.json")):
        record = json.loads(path.read_text(encoding="utf-8"))
        transfer = record.get("transfer") or {"setting": "zero-shot"}
        label = transfer["setting"] + (f" {transfer['shots']}/{transfer['shot_seed']}"
                                       if transfer["setting"] == "few-shot" else "")
        found[f"{'+'.join(record['intermediate_tasks']) or 'none'} {label}"] = dict(record, folder=str(path.parent))
    return found


@pytest.fixture(scope="module")
def grid(tmp_path_factory) -> Path:
    """hellaswag and the baseline × every setting (few-shot: K=4, two draws), on PAWS-X's samples."""
    output = tmp_path_factory.mktemp("settings") / "store"
    result = invoke("sweep", "--inter", "hellaswag,none", *CELL, "--inter-epochs", "1", "--transfer",
                    "zero-shot,translate-train,translate-train-all,translate-test,few-shot", "--shots", "4",
                    "--shot-seeds", "1,2", "--output", output)
    assert result.exit_code == 0, result.output
    assert "intermediate trainings 1 to do of 1" in result.output  # one phase 2 for every setting
    assert "× 6 transfer settings" in result.output
    return output


def test_zero_shot_keys_are_those_of_a_run_without_the_option():
    registry = discover()
    keys = []
    for extra in ({}, {"transfer": "zero-shot"}, {"transfer": "translate-train-all"}, {"transfer": "few-shot",
                                                                                       "shots": 4}):
        plan = plan_run(RunRequest("hellaswag", "pawsx", preset="smoke", languages=["en", "de"], overrides=extra),
                        registry)
        paths = cell_paths(plan, prepare_model(plan))
        keys.append((paths.inter_key, paths.run_key))
    assert keys[0] == keys[1]  # zero-shot: nothing of --transfer enters the key
    assert len({run for _, run in keys}) == 3  # every other setting is a cell of its own
    assert len({inter for inter, _ in keys}) == 1  # with the same phase-2 encoder


def test_translate_train_all_trains_one_model_on_english_and_every_translation(grid):
    found = records(grid)["none translate-train-all"]
    phase = found["phases"]["target"]
    assert phase["train_examples"] == 2 * 96  # en's 96 rows and their German translations
    assert "plugin:xtreme-translations" in found["code"]["target"]  # the translations' readers are keyed
    assert sorted(found["data_files"]["translations"]) == ["train/de"]
    assert set(found["scores"]["per_language"]) == {"en", "de"}


def test_translate_train_trains_a_model_per_language_on_its_translation(grid):
    found = records(grid)["none translate-train"]
    per_language = found["phases"]["target"]["per_language"]
    assert sorted(per_language) == ["de", "en"]
    assert all(entry["train_examples"] == 96 and entry["history"]["epochs"] for entry in per_language.values())
    zero_shot = records(grid)["none zero-shot"]
    # the training language's model is the zero-shot one: the same data, the same seed, the same scores
    assert found["scores"]["per_language"]["en"] == zero_shot["scores"]["per_language"]["en"]
    assert per_language["en"]["history"]["epochs"] == zero_shot["phases"]["target"]["history"]["epochs"]


def test_translate_test_scores_the_original_examples(grid):
    found = records(grid)["none translate-test"]
    zero_shot = records(grid)["none zero-shot"]
    folder, other = Path(found["folder"]), Path(zero_shot["folder"])
    for lang in ("de",):  # an outcome per original test example, under the original ids
        mine = json.loads((folder / found["outcomes"]["files"][lang]).read_text())
        theirs = json.loads((other / zero_shot["outcomes"]["files"][lang]).read_text())
        assert mine["ids"] == theirs["ids"] and len(mine["ids"]) == 32
    assert found["phases"]["target"]["train_examples"] == 96  # the English model
    assert found["scores"]["per_language"]["en"] == zero_shot["scores"]["per_language"]["en"]
    assert sorted(found["data_files"]["translations"]) == ["test/de"]  # read from the translations
    # the prediction file is the original test set's, line for line, as `xharness score` reads it
    predicted = (folder / "predictions" / "pawsx" / "test-de.tsv").read_text().splitlines()
    assert len(predicted) == 32 and set(predicted) <= {"0", "1"}


def test_few_shot_records_its_draws_and_keeps_them_out_of_selection(grid):
    runs = records(grid)
    first, again, other = runs["none few-shot 4/1"], runs["hellaswag few-shot 4/1"], runs["none few-shot 4/2"]
    for lang in ("de",):
        entry = first["phases"]["target"]["per_language"][lang]
        shots = entry["shots"]
        assert shots["split"] == "dev" and len(shots["ids"]) == 4 == entry["train_examples"]
        assert entry["dev_examples"] == 32 - 4  # the language's dev data less the drawn examples
        dev_ids = [line.split("\t")[0] for line in (Path(__file__).resolve().parents[1] / "plugins" / "xtreme" /
                   "xharness_xtreme" / "samples" / "pawsx" / "x-final" / lang / "dev_2k.tsv").read_text().splitlines()[1:]]
        assert set(shots["ids"]) <= set(dev_ids)
        # the same seed draws the same examples in every cell; another seed others
        assert again["phases"]["target"]["per_language"][lang]["shots"]["ids"] == shots["ids"]
        assert other["phases"]["target"]["per_language"][lang]["shots"]["ids"] != shots["ids"]
    # every language continues from the English model, which is the zero-shot one
    assert first["scores"]["per_language"]["en"] == runs["none zero-shot"]["scores"]["per_language"]["en"]


def test_the_report_has_a_panel_per_setting_with_the_spread_over_draws(grid):
    runs, _ = report.collect([grid])
    built = report.build(runs, resamples=50)
    settings = [table.setting for table in built.tables]
    assert settings == ["zero-shot", "translate-test", "translate-train", "translate-train-all", "few-shot (K=4)"]
    for table in built.tables:
        assert table.mode == "delta" and table.rows == ["none", "hellaswag"]
        cell = table.cells[("hellaswag", "pawsx")]
        if table.setting.startswith("few-shot"):  # two draws of one seed: paired draw by draw
            assert cell.delta.n == 2 and cell.delta.seeds == ["42/1", "42/2"]
            assert cell.spread == {"draws": 2, "std_over_draws": pytest.approx(cell.delta.std, abs=1e-9),
                                   "seeds": 1, "std_over_seeds": None}
        else:
            assert cell.delta.n == 1 and cell.spread is None
        # each Δ pairs runs of its own setting only
        setting_of = {run.folder.as_posix(): run.setting for run in runs}
        assert {setting_of[Path(f).as_posix()] for f in cell.runs + cell.baseline_runs} == {table.setting}
    page = report.to_dict(built)
    assert [t["setting"] for t in page["tables"]] == settings


def test_settings_a_task_cannot_run_are_one_line_naming_what_is_missing(tmp_path):
    cases = [
        (["--target", "udpos", "--transfer", "translate-test"], "a tagging prediction made on the translation"),
        (["--target", "udpos", "--transfer", "translate-train"], "no installed plugin registers translations of udpos"),
        (["--target", "xquad", "--transfer", "translate-train"],
         "ship no bundled samples; pass --data-dir with their files (translate-train/squad.translate.train.en-de.json"),
        (["--target", "xquad", "--languages", "en,ro", "--transfer", "translate-train"], "have no train data in ro"),
        (["--target", "xnli", "--transfer", "translate-test"], "have no test data in"),
        (["--target", "xquad", "--transfer", "few-shot", "--shots", "4"], "xquad has no training or dev data of its own"),
        (["--target", "pawsx", "--transfer", "few-shot"], "--transfer few-shot needs --shots K"),
        (["--target", "pawsx", "--shots", "4"], "--shots belongs to --transfer few-shot"),
        (["--target", "pawsx", "--transfer", "few-shot", "--shots", "40"], "too few to draw 40"),
        (["--target", "pawsx", "--transfer", "fewshot"], "unknown transfer setting 'fewshot'"),
        (["--target", "lareqa", "--transfer", "few-shot", "--shots", "4"], "ranks one candidate pool"),
    ]
    for extra, wanted in cases:
        result = invoke("run", "--inter", "none", "--preset", "smoke", "--languages", "en,de", *extra,
                        "--output", tmp_path / "store")
        assert result.exit_code != 0, (extra, result.output)
        lines = [line for line in result.output.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("error:") and wanted in lines[0], (extra, result.output)
    assert not (tmp_path / "store" / "runs").exists()  # refused before anything trained


def test_a_translated_test_set_must_keep_the_originals_ids(tmp_path):
    data = tmp_path / "data"
    for lang in ("en", "de"):
        source = Path(__file__).resolve().parents[1] / "plugins" / "xtreme" / "xharness_xtreme" / "samples" / "pawsx"
        for path in (source / "x-final" / lang).iterdir():
            target = data / "x-final" / lang / path.name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(path.read_bytes())
    translated = (TRANSLATIONS / "pawsx" / "translate-test" / "pawsx" / "de" / "test_2k.tsv").read_text().splitlines()
    header, first, second, *rest = translated
    wrong = data / "translate-test" / "pawsx" / "de" / "test_2k.tsv"
    wrong.parent.mkdir(parents=True)
    wrong.write_text("\n".join([header, second, first, *rest]) + "\n", encoding="utf-8")  # two rows swapped
    result = invoke("run", "--inter", "none", *CELL[:4], "--languages", "en,de", "--data-dir", data, "--transfer",
                    "translate-test", "--output", tmp_path / "store")
    assert result.exit_code == 1
    assert "keep the originals' ids and order" in result.output and "Traceback" not in result.output


def test_a_killed_few_shot_cell_resumes_every_language_to_the_same_results(tmp_path):
    """Each language's model keeps its own checkpoints: killed while a language trains, the cell resumes
    the languages it had finished from their last checkpoint and ends as an uninterrupted run does."""
    import signal
    import sys
    import time

    import subprocess

    import zygote

    cell = ["run", "--inter", "none", *CELL, "--languages", "en,de,ja", "--transfer", "few-shot", "--shots", "8",
            "--shot-epochs", "6"]
    reference = invoke(*cell, "--output", tmp_path / "reference")
    assert reference.exit_code == 0, reference.output
    output = tmp_path / "killed"
    process = zygote.popen([sys.executable, "-m", "harness", *cell, "--output", str(output), "--checkpoint-minutes",
                            "0"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while process.poll() is None and time.monotonic() < deadline:
        if [p for p in output.glob("checkpoints/runs/*@ja/*") if not p.name.startswith(".")]:
            break  # de is done, ja is training
        time.sleep(0.002)
    assert process.poll() is None, "the cell ended before the kill"
    process.send_signal(signal.SIGKILL)
    process.wait()
    resumed = invoke(*cell, "--output", output, "--checkpoint-minutes", "0")
    assert resumed.exit_code == 0, resumed.output
    assert "resuming from the checkpoint" in resumed.output
    (mine,), (theirs,) = records(output).values(), records(tmp_path / "reference").values()
    assert mine["scores"] == theirs["scores"]
    for lang in ("de", "ja"):
        entry = mine["phases"]["target"]["per_language"][lang]
        assert entry["shots"] == theirs["phases"]["target"]["per_language"][lang]["shots"]
        assert entry["train_examples"] == 8 == len(entry["shots"]["ids"])
    assert not list(output.glob("checkpoints/runs/*")), "the languages' checkpoints remain after the cell finished"


def test_few_shot_never_draws_machine_translated_training_data(tmp_path):
    """XNLI's training data in German is XNLI-MT's translation of MNLI: with it under --data-dir, the
    German shots still come from German dev data (human-written), not from it."""
    import shutil

    data = tmp_path / "data"
    samples = Path(__file__).resolve().parents[1] / "plugins" / "xtreme" / "xharness_xtreme" / "samples" / "xnli"
    shutil.copytree(samples, data)
    shutil.copytree(TRANSLATIONS / "xnli", data, dirs_exist_ok=True)  # multinli.train.de.tsv is there now
    assert (data / "XNLI-MT-1.0" / "multinli" / "multinli.train.de.tsv").is_file()
    plan = plan_run(RunRequest("none", "xnli", preset="smoke", data_dir=data, languages=["en", "de"],
                               overrides={"transfer": "few-shot", "shots": 4}), discover())
    assert plan.source == "local" and plan.shot_splits == {"de": "dev"}


def test_a_settings_list_keeps_shot_epochs_to_its_few_shot_cells():
    from harness.cell.transfer import variants

    cells = variants({"transfer": "zero-shot,few-shot", "shots": "10", "shot_epochs": 5.0, "lr": 1e-5})
    assert cells == [{"transfer": "zero-shot", "lr": 1e-5},
                     {"transfer": "few-shot", "shots": "10", "shot_seed": None, "shot_epochs": 5.0, "lr": 1e-5}]
