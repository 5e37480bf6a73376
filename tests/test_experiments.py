"""Experiments stay apart (issue 23, point 1): every run is recorded under the experiment that used
it (a plain `run`, a sweep's grid file, a study), and `xharness report` gives each its own tables;
runs that cannot share a table are left out with a line in words; variants have their own rows."""

import json
import multiprocessing
from pathlib import Path

import pytest
from click.testing import CliRunner

from harness.analysis import report
from harness.cli import cli
from harness.store import experiments

CELL = ["--target", "pawsx", "--preset", "smoke", "--target-epochs", "1"]


def invoke(*args) -> object:
    return CliRunner().invoke(cli, [str(a) for a in args])


def as_json(*args) -> dict:
    result = invoke("report", *args, "--format", "json", "--bootstrap", "0")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    """Two plain runs (one tested on a language more) and a sweep from a grid file whose one cell is the
    first run's: the sweep reuses that run folder, so it belongs to both experiments."""
    root = tmp_path_factory.mktemp("experiments")
    output = root / "xharness-runs"
    for seed, languages in ((1, "en,de"), (2, "en,de,fr")):
        result = invoke("run", "--inter", "none", *CELL, "--seed", seed, "--languages", languages, "--output", output)
        assert result.exit_code == 0, result.output
    grid = root / "lr-grid.toml"
    grid.write_text('inter = ["none"]\ntarget = ["pawsx"]\nseeds = [1]\npreset = "smoke"\nlanguages = ["en", "de"]\n'
                    'target-epochs = 1\ntracker = ["tensorboard"]\n', encoding="utf-8")
    result = invoke("sweep", grid, "--output", output)
    assert result.exit_code == 0, result.output
    assert "experiment sweep:lr-grid" in result.output and "1 reused (done before)" in result.output
    return output


def test_each_experiment_lists_the_runs_it_used(store):
    run_folders = sorted(p.name for p in (store / "runs").iterdir())
    assert len(run_folders) == 2  # the sweep computed nothing new
    members, problems = experiments.memberships(store)
    assert problems == []
    seed1 = next(name for name in run_folders if "seed1-" in name)
    assert sorted(members[seed1]) == ["run", "sweep:lr-grid"]
    assert [members[name] for name in run_folders if name != seed1] == [["run"]]
    record = json.loads((store / "runs" / seed1 / "results.json").read_text())
    assert record["experiment"] == {"kind": "run", "name": "run", "label": "run"}  # the one that computed it
    assert set(record["data_files"]["target"]) == {"train/en", "dev/en", "test/en", "test/de"}


def test_a_grid_files_tracker_gets_the_reused_cells_results_grouped_by_the_experiment(store):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    (results,) = [p for p in (store / "runs").glob("*seed1-*/results.json")]
    record = json.loads(results.read_text())
    folder = store / "trackers" / "tensorboard" / "sweep-lr-grid" / f"xh-{record['phases']['target']['key']}"
    events = EventAccumulator(str(folder))
    events.Reload()
    assert events.Scalars("test/de")[-1].value == pytest.approx(record["scores"]["per_language"]["de"])
    # sent once: running the sweep again sends nothing (a rerun of a big sweep must not re-send every cell)
    files = sorted(folder.iterdir())
    result = invoke("sweep", store.parent / "lr-grid.toml", "--output", store)
    assert result.exit_code == 0, result.output
    assert sorted(folder.iterdir()) == files


def test_report_gives_each_experiment_its_tables_and_says_what_it_left_out(store):
    doc = as_json(store)
    assert doc["experiments"] == ["sweep:lr-grid", "run"]
    assert [t["experiment"] for t in doc["tables"]] == ["sweep:lr-grid", "run"]
    # the plain runs differ in their test languages: never averaged, one left out, said in words
    (line,) = doc["left_out"]
    assert line.startswith("run: left out 1 run (none → pawsx, seed ") and "from column pawsx of model tiny" in line
    assert "test languages en, de" in line and "pawsx test data in fr" in line
    assert "sha" not in line and "{" not in line
    for table in doc["tables"]:
        (cell,) = [c for c in table["cells"] if c["column"] == "pawsx"]
        assert cell["score"]["n"] == 1

    only = as_json(store, "--experiment", "lr-grid")  # a name one experiment has is enough
    assert [t["experiment"] for t in only["tables"]] == ["sweep:lr-grid"] and only["left_out"] == []
    text = invoke("report", store, "--format", "markdown", "--bootstrap", "0").stdout
    assert "### experiment sweep:lr-grid · model tiny" in text and "### experiment run · model tiny" in text
    assert "\nrun: left out 1 run" in text


def test_an_unknown_experiment_is_one_line_naming_the_known_ones(store):
    result = invoke("report", store, "--experiment", "lr-gird")
    assert result.exit_code == 2 and result.output.count("\n") == 1  # 2: an unknown name, as for tasks
    assert "lr-gird" in result.output and "sweep:lr-grid" in result.output


def test_a_store_without_membership_files_groups_by_each_runs_own_record(store, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(store, copy)
    shutil.rmtree(copy / "experiments")
    doc = as_json(copy)
    assert doc["experiments"] == ["run"]  # both runs were computed by plain runs


def test_a_bad_experiment_name_is_one_line(tmp_path):
    result = invoke("run", "--inter", "none", *CELL, "--experiment", "my grid/1", "--output", tmp_path)
    assert result.exit_code == 1 and result.output.count("\n") == 1
    assert "--experiment 'my grid/1'" in result.output and "e.g. --experiment lr-sweep" in result.output


def _join_many(root: str, name: str, count: int) -> None:
    for i in range(count):
        experiments.join(Path(root), experiments.Experiment("sweep", name), Path(root) / "runs" / f"{name}-{i}")


def test_processes_recording_at_once_lose_nothing(tmp_path):
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_join_many, args=(str(tmp_path), "grid", 25)) for _ in range(2)]
    workers += [context.Process(target=_join_many, args=(str(tmp_path), "other", 25))]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    members, problems = experiments.memberships(tmp_path)
    assert problems == [] and len(members) == 50
    assert all(labels == ["sweep:grid"] for name, labels in members.items() if name.startswith("grid-"))


@pytest.mark.parametrize(("settings", "expected"), [
    (None, "mnli"),
    ({"lr": 1e-5}, "mnli"),
    ({"translated": "de"}, "mnli (de)"),
    ({"translated": ["de", "fr"]}, "mnli (de, fr)"),
    ({"mlm_weight": 0.25}, "mnli + mlm"),
    ({"translated": "de", "mlm_weight": 0.25}, "mnli (de) + mlm"),
])
def test_variants_of_an_intermediate_task_get_rows_of_their_own(settings, expected):
    record = {"intermediate_tasks": ["mnli"], "hyperparameters": {"intermediate": settings}}
    assert report.row_name(record) == expected
    assert report.row_name({"intermediate_tasks": []}) == "none"


def test_all_translations_is_named_so(registry):
    offered = list(registry.tasks["intermediate"]["mnli"].spec.translated_train)
    assert len(offered) > 2
    record = {"intermediate_tasks": ["mnli"], "hyperparameters": {"intermediate": {"translated": offered}}}
    assert report.row_name(record) == "mnli (all translations)"
    record["hyperparameters"]["intermediate"]["translated"] = ["en", *offered]
    assert report.row_name(record) == "mnli (en + all translations)"
