"""--select-on: model selection on the target languages' dev sets (Keung et al., 2020) beside the paper's."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from harness.compute import outcomes
from harness.cli import cli
from harness.data.sources import plan_task_data
from harness.cell.planning import RunRequest, plan_run
from harness.cell.protocol import cell_paths
import zygote  # tests/zygote.py: `python -m harness` without re-importing torch each time

# At this learning rate the English dev score and the target-language mean peak at different
# epochs of the four (en: 2, target: 3), so the two selections pick different states.
CELL = ["--inter", "none", "--target", "panx", "--preset", "smoke", "--languages", "en,de,ja,zh", "--lr", "2e-3"]


def _run(output: Path, *extra: str) -> tuple[Path, dict]:
    result = CliRunner().invoke(cli, ["run", *CELL, "--output", str(output), *extra])
    assert result.exit_code == 0, result.output
    return _record(output, extra)


def _record(output: Path, extra=()) -> tuple[Path, dict]:
    for path in sorted((output / "runs").glob("*/results.json")):
        record = json.loads(path.read_text(encoding="utf-8"))
        wanted = extra[extra.index("--select-on") + 1] if "--select-on" in extra else None
        if record["hyperparameters"]["target"].get("select_on") == wanted:
            return path.parent, record
    raise AssertionError(f"no run with --select-on {extra}")


@pytest.fixture(scope="session")  # per worker: a module xdist splits does not rebuild it
def runs(tmp_path_factory) -> dict[str, tuple[Path, dict]]:
    """A plain run and runs with --select-on both and target, in one store (phase-3 keys differ)."""
    output = tmp_path_factory.mktemp("select-on")
    return {"plain": _run(output), "both": _run(output, "--select-on", "both"),
            "target": _run(output, "--select-on", "target")}


def test_both_records_each_selection_with_its_epoch_and_test_scores(runs, registry):
    run_dir, record = runs["both"]
    target = record["phases"]["target"]
    history = target["history"]
    epochs = history["epochs"]
    for entry in epochs:  # every epoch scores the dev sets of the target languages, not English
        assert sorted(entry["target_dev_scores"]) == ["de", "ja", "zh"]
        assert entry["target_dev_score"] == sum(entry["target_dev_scores"].values()) / 3
    best_target = max(range(len(epochs)), key=lambda i: (epochs[i]["target_dev_score"], -i)) + 1
    best_en = max(range(len(epochs)), key=lambda i: (epochs[i]["dev_score"], -i)) + 1
    assert history["selected_epochs"] == {"en": best_en, "target": best_target}
    assert best_en != best_target, "the cell is meant to make the two criteria disagree"
    assert history["best_epoch"] == best_en
    samples = plan_task_data(registry.task("target", "panx"), [("dev", lang) for lang in ("de", "ja", "zh")],
                             source="bundled", data_dir=None)
    assert target["target_dev_examples"] == {lang: len(samples.load("dev", lang)) for lang in ("de", "ja", "zh")}
    selection = target["selection"]
    assert {c: s["epoch"] for c, s in selection.items()} == {"en": best_en, "target": best_target}
    for criterion in ("en", "target"):
        assert sorted(selection[criterion]["test_scores"]) == ["de", "en", "ja", "zh"]
    # the headline stays the paper's protocol; both selections' outcomes give their scores exactly
    assert record["scores"]["per_language"] == selection["en"]["test_scores"]
    files = record["outcomes"]
    assert files["selections"] == {"target": {lang: f"outcomes/select-target/test-{lang}.json"
                                              for lang in ("en", "de", "ja", "zh")}}
    for lang, value in selection["target"]["test_scores"].items():
        assert outcomes.score(outcomes.load(run_dir, lang)) == record["scores"]["per_language"][lang]
        other = json.loads(outcomes.selection_path_for(run_dir, "target", lang).read_text(encoding="utf-8"))
        assert outcomes.score(other) == value
    assert selection["target"]["test_scores"] != selection["en"]["test_scores"]


def test_the_en_selection_is_a_plain_runs_result_and_target_selects_the_same_state(runs):
    plain_dir, plain = runs["plain"]
    _, both = runs["both"]
    _, target = runs["target"]
    # the extra dev evaluation changes nothing in training: same losses, same en-selected scores
    losses = [e["train_loss"] for e in plain["phases"]["target"]["history"]["epochs"]]
    assert [e["train_loss"] for e in both["phases"]["target"]["history"]["epochs"]] == losses
    assert both["phases"]["target"]["selection"]["en"]["test_scores"] == plain["scores"]["per_language"]
    # --select-on target makes the target-selected state the headline (and evaluates only that one)
    assert target["scores"]["per_language"] == both["phases"]["target"]["selection"]["target"]["test_scores"]
    assert list(target["phases"]["target"]["selection"]) == ["target"]
    # a plain run carries none of it
    assert "selection" not in plain["phases"]["target"] and "select_on" not in plain["hyperparameters"]["target"]
    assert "selections" not in plain["outcomes"] and not (plain_dir / "outcomes" / "select-target").exists()
    assert "target_dev_scores" not in plain["phases"]["target"]["history"]["epochs"][0]


def test_plain_keys_are_unchanged_and_other_selections_key_apart(registry, tmp_path):
    def plan(select_on):
        overrides = {} if select_on == "absent" else {"select_on": select_on}
        request = RunRequest(inter="none", target="panx", preset="smoke", output=tmp_path, languages=["en", "de"],
                             overrides=overrides)
        return plan_run(request, registry)

    identity = {"name": "tiny"}
    plain = plan("absent")
    assert "select_on" not in plain.target_settings
    assert [("dev", "de")] not in [plain.target.needs]
    key = cell_paths(plain, identity).run_key
    assert cell_paths(plan(None), identity).run_key == key and cell_paths(plan("en"), identity).run_key == key
    assert "select_on" not in plan("en").target_settings
    both, target = plan("both"), plan("target")
    assert ("dev", "de") in both.target.needs  # read and checked before training
    assert len({key, cell_paths(both, identity).run_key, cell_paths(target, identity).run_key}) == 3


@pytest.mark.parametrize(("arguments", "expected"), [
    (["--target", "pawsx", "--select-on", "sideways"], "use en, target, both"),
    (["--target", "xquad", "--select-on", "both"], "targets that have: mlqa, panx, pawsx, udpos, xcopa, xnli"),
    (["--target", "tatoeba", "--select-on", "target"], "targets that have: mlqa, panx, pawsx, udpos, xcopa, xnli"),
    (["--target", "pawsx", "--select-on", "target", "--languages", "en"], "besides en"),
])
def test_bad_select_on_gives_one_line(arguments, expected, tmp_path):
    result = CliRunner().invoke(cli, ["run", "--inter", "none", "--preset", "smoke", "--output", str(tmp_path),
                                      *arguments])
    assert result.exit_code != 0
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1, result.output
    assert result.output.startswith("error: --select-on") and expected in result.output


def test_mlqa_selects_on_its_own_dev_sets_from_local_files_only(tmp_path):
    """MLQA's English dev is SQuAD's (the protocol), its other languages' dev MLQA's own files; its
    hub source has only SQuAD's, so there the option is refused."""
    result = CliRunner().invoke(cli, ["run", "--inter", "none", "--target", "mlqa", "--preset", "smoke",
                                      "--languages", "en,de", "--select-on", "both", "--target-epochs", "1",
                                      "--output", str(tmp_path)])
    assert result.exit_code == 0, result.output
    (record,) = [json.loads(p.read_text()) for p in tmp_path.glob("runs/*/results.json")]
    assert set(record["phases"]["target"]["selection"]) == {"en", "target"}
    assert set(record["phases"]["target"]["history"]["epochs"][0]["target_dev_scores"]) == {"de"}
    hub = CliRunner().invoke(cli, ["run", "--inter", "none", "--target", "mlqa", "--languages", "en,de",
                                   "--select-on", "both", "--output", str(tmp_path)])
    assert hub.exit_code == 1 and "read from local files" in hub.output and len(hub.output.splitlines()) == 1


@pytest.mark.slow
def test_a_resumed_run_keeps_the_target_selected_state(tmp_path):
    """SIGTERM in the second epoch, after the target criterion chose epoch 1: the resumed run must
    take that state from the checkpoint and end as the uninterrupted run ends."""
    cell = ["--inter", "none", "--target", "udpos", "--preset", "smoke", "--languages", "en,de,fr", "--lr", "3e-3",
            "--select-on", "both"]

    def start(output: Path) -> subprocess.Popen:
        return zygote.popen([sys.executable, "-m", "harness", "run", *cell, "--output", str(output)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, PYTHONUNBUFFERED="1"))

    reference = CliRunner().invoke(cli, ["run", *cell, "--output", str(tmp_path / "reference")])  # one start fewer
    assert reference.exit_code == 0, reference.output
    interrupted = start(tmp_path / "resumed")
    for line in interrupted.stderr:  # the target criterion has scored epoch 1
        if "epoch 1: target-language dev mean" in line:
            interrupted.send_signal(signal.SIGTERM)
            break
    interrupted.stderr.read()
    assert interrupted.wait(timeout=300) == 75
    again = start(tmp_path / "resumed")
    text = again.stderr.read()
    assert again.wait(timeout=300) == 0 and "resuming from the checkpoint" in text, text

    def result(output: Path) -> dict:
        (path,) = output.glob("runs/*/results.json")
        record = json.loads(path.read_text())
        target = record["phases"]["target"]
        return {"scores": record["scores"], "selection": target["selection"],
                "dev": [(e["dev_score"], e["target_dev_scores"]) for e in target["history"]["epochs"]],
                "outcomes": {p.relative_to(path.parent).as_posix(): p.read_bytes()
                             for p in sorted(path.parent.glob("outcomes/**/*.json"))}}

    expected = result(tmp_path / "reference")
    assert expected["selection"]["target"]["epoch"] == 1 != expected["selection"]["en"]["epoch"]
    assert result(tmp_path / "resumed") == expected
