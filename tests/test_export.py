"""`xharness export`: Hugging Face Hub model cards of a store (issue 24, point 2).

The cards are read back with huggingface_hub's own parsers (``ModelCard.load``, ``metadata_load``,
``model_index_to_eval_results``) and their numbers compared with ``xharness report --format json``.
Nothing is pushed: ``--push`` is tried offline only (``HF_HUB_OFFLINE=1``, set by conftest).
"""

import json
import statistics
from pathlib import Path

import pytest
from click.testing import CliRunner
from huggingface_hub import ModelCard
from huggingface_hub.repocard import metadata_load
from huggingface_hub.repocard_data import model_index_to_eval_results

from harness.cli import cli
from harness.store.runstore import seal

SWEEP = ["sweep", "--inter", "hellaswag,none", "--target", "pawsx,xnli", "--preset", "smoke", "--languages", "en,de",
         "--inter-epochs", "1", "--target-epochs", "1"]
PIN = "0123456789abcdef0123456789abcdef01234567"


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def report_json(store: Path, *args) -> dict:
    result = invoke("report", store, "--format", "json", "--bootstrap", "0", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def cells(table: dict) -> dict:
    return {(c["row"], c["column"]): c for c in table["cells"]}


@pytest.fixture(scope="module")
def smoke_store(tmp_path_factory) -> Path:
    """The smoke sweep of the issue, run once in this process, and its cards (default --output)."""
    store = tmp_path_factory.mktemp("export") / "store"
    result = invoke(*SWEEP, "--output", store)
    assert result.exit_code == 0, result.output
    exported = invoke("export", store, "--bootstrap", "200")
    assert exported.exit_code == 0, exported.output
    assert exported.stdout.startswith(str(store / "export" / "tiny" / "sweep-sweep" / "README.md"))
    return store


def card_path(store: Path) -> Path:
    return store / "export" / "tiny" / "sweep-sweep" / "README.md"


@pytest.mark.slow  # sets up the module's smoke sweep (about 30 s on two cores)
def test_the_card_parses_and_its_results_are_the_reports_numbers(smoke_store, registry):
    card = ModelCard.load(card_path(smoke_store))
    assert card.data.model_name == "tiny"
    results = card.data.eval_results
    # 2 rows × 2 target tasks × (2 languages + the task's score)
    assert len(results) == 12
    by_key = {}
    for result in results:
        scope, rest = result.metric_name.split(": ", 1)
        row, task = rest.split(" (", 1)[0].split(" → ")
        by_key[(row, task, scope.split(", ", 1)[1])] = result

    matrix = cells(report_json(smoke_store)["tables"][0])
    for task in ("pawsx", "xnli"):
        spec = registry.task("target", task).spec
        kind = registry.kind_set.spec(spec.kind)
        drill = cells(report_json(smoke_store, "--target", task, "--absolute")["tables"][0])
        for row in ("none", "hellaswag"):
            average = by_key[(row, task, "average over en, de")]
            assert average.metric_value == pytest.approx(matrix[(row, task)]["score"]["mean"], abs=1e-4)
            for lang in ("en", "de"):
                result = by_key[(row, task, lang)]
                assert result.metric_value == pytest.approx(drill[(row, lang)]["score"]["mean"], abs=1e-4)
                source = spec.hub.sources_for("test", lang)[0]
                assert (result.dataset_type, result.dataset_config, result.dataset_split, result.dataset_revision) \
                    == (source.path, source.config_for(lang), source.splits["test"], source.revision)
                assert result.task_type == kind.hub_task == "text-classification"
                assert result.metric_type == spec.metric == "accuracy"
                assert result.task_name.startswith(f"{task}: ")
            assert average.dataset_type == spec.hub.path and average.dataset_split == "test"
    # the task's score is a result of its own (its languages' configs), not merged into a language's
    assert by_key[("none", "pawsx", "average over en, de")].dataset_config == "en,de"
    assert {r.dataset_type for r in results} == {"google-research-datasets/paws-x", "google/xtreme"}


def test_the_hubs_model_index_parser_agrees(smoke_store):
    path = card_path(smoke_store)
    metadata = metadata_load(path)
    name, parsed = model_index_to_eval_results(metadata["model-index"])
    assert name == "tiny"
    assert parsed == ModelCard.load(path).data.eval_results
    assert metadata["language"] == ["en", "de"]
    assert "base_model" not in metadata  # the tiny model is built, not a hub id


def test_the_section_holds_the_reports_matrix_and_says_where_the_data_came_from(smoke_store):
    folder = card_path(smoke_store).parent
    section = (folder / "results.md").read_text(encoding="utf-8")
    markdown = invoke("report", smoke_store, "--format", "markdown", "--bootstrap", "200")
    assert markdown.exit_code == 0, markdown.output
    matrix = markdown.stdout.split("\n## References")[0].strip()  # the report's own references end it
    assert matrix in section  # the matrix exactly as `report --format markdown` shows it
    assert "| intermediate" in section and "| hellaswag" in section and "Δ against none" in section
    assert "bundled samples" in section and "Preset `smoke`" in section
    assert section in card_path(smoke_store).read_text(encoding="utf-8")  # the card's body is the section


def test_flagged_numbers_are_marked_in_the_section_and_the_metadata(smoke_store):
    records = [json.loads(p.read_text()) for p in smoke_store.glob("runs/*/results.json")]
    assert all(r["scores"]["flags"]["en"] for r in records)  # the tiny model predicts one class
    section = (card_path(smoke_store).parent / "results.md").read_text(encoding="utf-8")
    table = section.split("| intermediate", 1)[1].split("\n\n", 1)[0]
    assert table.count("⚑") == 6  # every number of the matrix: 2 rows × (2 tasks + average)
    assert "**Flagged numbers.**" in section
    for result in ModelCard.load(card_path(smoke_store)).data.eval_results:
        assert "⚑ flagged: " in result.metric_name and "one class" in result.metric_name
        assert "bundled samples, not the hub's test set" in result.metric_name


def test_push_offline_fails_with_one_line_after_writing_the_card(smoke_store, tmp_path):
    result = invoke("export", smoke_store, "--output", tmp_path / "out", "--bootstrap", "0", "--push", "me/cards")
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith("error: could not push the model card to me/cards: HF_HUB_OFFLINE is set")
    assert (tmp_path / "out" / "tiny" / "sweep-sweep" / "README.md").is_file()


@pytest.mark.parametrize("args, code, says", [
    (["--model", "tinyy"], 2, "error: unknown model 'tinyy'; did you mean 'tiny'?"),
    (["--experiment", "grid"], 2, "error: unknown experiment 'grid'"),
    (["--create-pr"], 1, "error: --create-pr opens a pull request for --push"),
])
def test_wrong_choices_are_one_line(smoke_store, tmp_path, args, code, says):
    result = invoke("export", smoke_store, "--output", tmp_path / "out", *args)
    assert result.exit_code == code
    assert result.stderr.startswith(says) and result.stderr.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_an_empty_store_is_one_line(tmp_path):
    result = invoke("export", tmp_path)
    assert result.exit_code == 1
    assert result.stderr == "error: no finished runs found there (a run folder holds results.json and a sound " \
                            "manifest.json)\n"


# ------------------------------------------------------------ runs that read the hub (records by hand)


def write_hub_run(store: Path, inter: str, seed: int, per_language: dict[str, float], *, model: str) -> None:
    """A sealed run of pawsx whose record says it read the hub at a resolved commit."""
    inters = [] if inter == "none" else [inter]
    record = {
        "schema": "xharness.results/1", "intermediate_tasks": inters, "target_task": "pawsx",
        "model": {"name": model, "source": "hub", "location": f"org/{model}", "revision": None, "sha256": None},
        "seed": seed, "preset": None, "data_source": "hub", "languages": list(per_language),
        "experiment": {"kind": "run", "name": "run", "label": "run"},
        "hyperparameters": {"intermediate": {"lr": 1e-5} if inters else None, "target": {"lr": 1e-5}},
        "scores": {"metric": "accuracy", "split": "test", "per_language": per_language,
                   "average": statistics.fmean(per_language.values())},
        "phases": {"intermediate": None, "target": {"key": f"{inter}-{model}-{seed}"}},
        "data": {"intermediate": [{"task": t} for t in inters],
                 "target": {"task": "pawsx", "source": "hub", "dataset": "google-research-datasets/paws-x",
                            "config": "{lang}", "revision": PIN, "ref": "main"}},
        "versions": {"core": "0.2.0"},
    }
    folder = store / "runs" / f"{inter}__pawsx__{model}__seed{seed}"
    folder.mkdir(parents=True)
    (folder / "results.json").write_text(json.dumps(record), encoding="utf-8")
    seal(folder)


@pytest.fixture
def hub_store(tmp_path) -> Path:
    store = tmp_path / "store"
    for model in ("xlmr", "mbert"):
        for seed, (en, de) in zip((1, 2, 3), ((80.0, 70.0), (82.0, 71.0), (84.0, 75.0))):
            write_hub_run(store, "none", seed, {"en": en, "de": de}, model=model)
            write_hub_run(store, "mnli", seed, {"en": en + 2, "de": de + 1}, model=model)
    return store


def test_hub_runs_name_the_commit_they_read_and_the_mean_over_seeds(hub_store):
    result = invoke("export", hub_store, "--model", "xlmr")
    assert result.exit_code == 0, result.output
    path = hub_store / "export" / "xlmr" / "run" / "README.md"
    card = ModelCard.load(path)
    found = {r.metric_name.split(" (", 1)[0]: r for r in card.data.eval_results}
    de = found["accuracy, de: none → pawsx"]
    assert de.metric_value == pytest.approx(statistics.fmean([70.0, 71.0, 75.0]), abs=1e-4)
    assert "mean of 3 seeds" in de.metric_name and "flagged" not in de.metric_name
    assert (de.dataset_type, de.dataset_config, de.dataset_split, de.dataset_revision) == \
        ("google-research-datasets/paws-x", "de", "test", PIN)
    assert found["accuracy, average over en, de: mnli → pawsx"].metric_value == pytest.approx(
        statistics.fmean([82.0, 71.0, 84.0, 72.0, 86.0, 76.0]), abs=1e-4)
    assert metadata_load(path)["base_model"] == "org/xlmr"
    section = (path.parent / "results.md").read_text(encoding="utf-8")
    assert "read from the Hugging Face Hub" in section and "bundled" not in section
    assert "+1.50 ± 0.00 (3)" in section  # mnli's Δ on pawsx, paired seed by seed
    assert not (hub_store / "export" / "mbert").exists()


def test_push_needs_one_card(hub_store):
    result = invoke("export", hub_store, "--push", "me/cards")
    assert result.exit_code == 1 and result.stderr.count("\n") == 1
    assert "--push uploads one card, and the store has 2" in result.stderr
    assert not (hub_store / "export").exists()
