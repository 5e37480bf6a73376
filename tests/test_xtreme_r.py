"""XTREME-R end to end: its ten tasks listed, every new target through --preset smoke, language
sets by leaderboard name, kind settings, and `xharness score --leaderboard xtreme-r`."""

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from harness.cli import cli
from harness.contract.errors import UserError
from harness.cell.protocol import RunRequest, cell_paths, plan_run, prepare_model

XTREME_R_COUNTS = {"xnli": 15, "panx": 48, "udpos": 38, "tatoeba": 41, "xcopa": 11, "lareqa": 11, "mewslix": 11,
                   "xquad": 12, "mlqa": 7, "tydiqa": 9}


def _list_json() -> dict:
    result = CliRunner().invoke(cli, ["list", "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_list_shows_the_ten_xtreme_r_tasks_with_their_language_counts():
    listed = _list_json()
    board = next(b for b in listed["leaderboards"] if b["name"] == "xtreme-r")
    assert {name: t["languages"] for name, t in board["tasks"].items()} == XTREME_R_COUNTS
    targets = {t["name"]: t for t in listed["tasks"] if t["role"] == "target"}
    for name, count in XTREME_R_COUNTS.items():  # each task can be run on all of XTREME-R's languages
        assert len(targets[name]["languages"]) + len(targets[name]["extra_languages"]) >= count, name
    board_spec = _registry().leaderboard("xtreme-r").spec
    assert len({lang for task in board_spec.tasks for lang in task.languages}) == 50  # "fifty languages"
    table = CliRunner().invoke(cli, ["list"]).output
    assert "xtreme-r" in table and "mewslix (map_at_20, 11 languages)" in table
    assert "(+5 on request: lt pl uk wo ro)" in table


def _run(tmp_path: Path, *args: str) -> dict:
    result = CliRunner().invoke(cli, ["run", *args, "--preset", "smoke", "--output", str(tmp_path / "runs")])
    assert result.exit_code == 0, result.output
    (path,) = [Path(line.split()[1]) for line in result.output.splitlines() if line.startswith("results: ")]
    return json.loads(path.read_text(encoding="utf-8")) | {"_dir": str(path.parent)}


@pytest.mark.parametrize("inter,target,extension", [("none", "lareqa", "json"), ("none", "mewslix", "json"),
                                                     ("siqa", "xcopa", "jsonl")])
def test_smoke_completes_for_every_new_target(tmp_path, inter, target, extension):
    record = _run(tmp_path, "--inter", inter, "--target", target)
    assert record["languages"] == list(_registry().task("target", target).spec.languages)
    assert all(0 <= v <= 100 for v in record["scores"]["per_language"].values())
    folder = Path(record["_dir"])
    for lang in record["languages"]:
        predicted = (folder / "predictions" / target / f"test-{lang}.{extension}").read_text(encoding="utf-8")
        outcome = json.loads((folder / "outcomes" / f"test-{lang}.json").read_text(encoding="utf-8"))
        if extension == "json":  # ranked candidate ids per query, the top 20
            ranked = json.loads(predicted)
            assert list(ranked) == outcome["ids"] and all(0 < len(r) <= 20 for r in ranked.values())
            assert outcome["aggregate"] == "mean"
        else:
            assert [json.loads(line)["label"] in (0, 1) for line in predicted.splitlines()] == [True] * 10
    if target == "xcopa":
        assert record["phases"]["intermediate"]["tasks"] == ["siqa"]
        assert record["hyperparameters"]["target"]["max_length"] == 128  # the task's defaults, under the preset
    else:
        target_settings = record["hyperparameters"]["target"]
        assert target_settings["top_k"] == 20 and target_settings["pooling"] == "cls"  # kind settings, recorded


_REGISTRY = {}


def _registry():
    if "r" not in _REGISTRY:
        from harness.contract.discovery import discover

        _REGISTRY["r"] = discover()
    return _REGISTRY["r"]


def test_lareqa_ranks_every_language_s_candidates_even_when_fewer_are_evaluated(tmp_path):
    record = _run(tmp_path, "--inter", "none", "--target", "lareqa", "--languages", "de,en")
    assert record["languages"] == ["de", "en"]
    ranked = json.loads((Path(record["_dir"]) / "predictions" / "lareqa" / "test-de.json").read_text())
    languages = {candidate.split("_")[0] for ids in ranked.values() for candidate in ids}
    assert languages - {"de", "en"}, "the pool must hold the other nine languages' sentences too"


def test_languages_by_leaderboard_name(tmp_path):
    registry = _registry()

    def plan(target: str, **fields):
        return plan_run(RunRequest(inter="none", target=target, preset="smoke", output=tmp_path / "runs", **fields),
                        registry)

    udpos = plan("udpos", languages=["xtreme-r"])
    assert len(udpos.languages) == 38 and udpos.languages[-5:] == ["lt", "pl", "uk", "wo", "ro"]
    assert len(plan("udpos").languages) == 33 and len(plan("udpos", languages=["xtreme"]).languages) == 33
    assert len(plan("tatoeba", languages=["xtreme-r"]).languages) == 41
    assert plan("xquad", languages=["xtreme-r"]).languages[-1] == "ro"
    # the same set as the default run is the same cell: same key, nothing computed twice
    default, same = plan("xnli"), plan("xnli", languages=["xtreme-r"])
    identity = prepare_model(default)
    assert cell_paths(default, identity).run_key == cell_paths(same, identity).run_key
    assert cell_paths(udpos, identity).run_key != cell_paths(plan("udpos"), identity).run_key
    with pytest.raises(UserError, match="leaderboard xtreme-r has no task pawsx"):
        plan("pawsx", languages=["xtreme-r"])
    with pytest.raises(UserError, match="unknown language for udpos 'xx'"):
        plan("udpos", languages=["xx"])


def test_kind_settings_are_overridable_keyed_and_checked(tmp_path):
    registry = _registry()

    def plan(*settings: str, target: str = "lareqa"):
        return plan_run(RunRequest(inter="none", target=target, preset="smoke", output=tmp_path / "runs",
                                   overrides={"setting": list(settings)}), registry)

    base = plan()
    assert base.target_settings["query_max_length"] == 96 and base.target_settings["candidate_max_length"] == 256
    assert plan(target="mewslix").target_settings["candidate_max_length"] == 64  # the task's default wins
    shorter = plan("query_max_length=64", "learn_scale=false")
    assert shorter.target_settings["query_max_length"] == 64 and shorter.target_settings["learn_scale"] is False
    identity = prepare_model(base)
    assert cell_paths(base, identity).run_key != cell_paths(shorter, identity).run_key
    with pytest.raises(UserError, match="expected a whole number"):
        plan("query_max_length=long")
    with pytest.raises(UserError, match="not a setting of these tasks' kinds"):
        plan("query_max_length=64", target="xnli")
    with pytest.raises(UserError, match="give NAME=VALUE"):
        plan("query_max_length")
    with pytest.raises(UserError, match="top_k must be at least 1"):
        plan("top_k=0")
    with pytest.raises(UserError, match="pooling must be cls or mean"):
        plan("pooling=max")


def test_defaults_by_backbone():
    from harness.cell.planning import ModelChoice, _settings

    defaults = dict(_registry().task("target", "mewslix").spec.defaults)
    mbert = ModelChoice("bert-base-multilingual-cased", "hub", "google-bert/bert-base-multilingual-cased")
    large = ModelChoice("xlm-roberta-large", "hub", "FacebookAI/xlm-roberta-large")
    assert _settings(defaults, {}, "target_epochs", {}, mbert)["lr"] == 2e-5  # XTREME-R's train_mewslix.sh
    assert _settings(defaults, {}, "target_epochs", {}, large)["lr"] == 1e-5
    assert _settings(defaults, {}, "target_epochs", {"lr": 3e-5}, mbert)["lr"] == 3e-5  # the user wins
    by_id = ModelChoice("google-bert/bert-base-multilingual-cased", "hub", "google-bert/bert-base-multilingual-cased")
    assert _settings(defaults, {}, "target_epochs", {}, by_id)["per_device_batch_size"] == 64


# -- scoring -----------------------------------------------------------------------------------

def _langs(task: str) -> tuple[str, ...]:
    board = _registry().leaderboard("xtreme-r").spec
    return next(t.languages for t in board.tasks if t.name == task)


def _write(root: Path, side: str, task: str, lang: str, extension: str, content: str) -> None:
    path = root / side / task / f"test-{lang}.{extension}"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content, encoding="utf-8")


def _constructed(root: Path, tasks: set[str]) -> None:
    """A folder with hand-checkable scores: xcopa 75, mewslix 62.5, lareqa 100·(5/9)/2, tatoeba 50,
    xnli 100, udpos/panx F1 100, QA EM = F1 = 100."""
    for task in tasks:
        for lang in _langs(task):
            if task == "xcopa":
                _write(root, "labels", task, lang, "jsonl", "".join(json.dumps({"idx": i, "label": v}) + "\n"
                                                                    for i, v in enumerate([0, 1, 1, 0])))
                _write(root, "predictions", task, lang, "jsonl", "".join(json.dumps({"idx": i, "label": v}) + "\n"
                                                                         for i, v in enumerate([0, 1, 0, 0])))
            elif task == "mewslix":  # gold at rank 1 (RR 1) and at rank 4 (RR 1/4): mean 0.625
                _write(root, "labels", task, lang, "json", json.dumps({"m1": ["Q1"], "m2": ["Q2"]}))
                _write(root, "predictions", task, lang, "json", json.dumps({"m1": ["Q1", "Q9"],
                                                                          "m2": ["Q7", "Q8", "Q9", "Q2"]}))
            elif task == "lareqa":  # q1: relevant a, b, c; a at 1, b at 3 → (1 + 2/3) / 3; q2 unanswered → 0
                _write(root, "labels", task, lang, "json", json.dumps({"q1": ["a", "b", "c"], "q2": ["d"]}))
                _write(root, "predictions", task, lang, "json", json.dumps({"q1": ["a", "x", "b"]}))
            elif task in ("tatoeba", "xnli"):
                _write(root, "labels", task, lang, "tsv", "0\n1\n")
                _write(root, "predictions", task, lang, "tsv", "0\n0\n" if task == "tatoeba" else "0\n1\n")
            elif task in ("udpos", "panx"):
                tags = "B-PER\nO\n\n" if task == "panx" else "NOUN\nVERB\n\n"
                _write(root, "labels", task, lang, "tsv", tags)
                _write(root, "predictions", task, lang, "tsv", tags)
            else:  # QA
                qa = {"data": [{"paragraphs": [{"context": "c", "qas": [{"id": "1", "answers": [{"text": "Paris"}]}]}]}]}
                _write(root, "labels", task, lang, "json", json.dumps(qa))
                _write(root, "predictions", task, lang, "json", json.dumps({"1": "Paris"}))


def _score(root: Path) -> dict:
    result = CliRunner().invoke(cli, ["score", "--leaderboard", "xtreme-r", "--predictions", str(root / "predictions"),
                                      "--labels", str(root / "labels"), "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_score_xtreme_r_on_a_constructed_folder(tmp_path):
    _constructed(tmp_path, {"xcopa", "mewslix", "lareqa", "tatoeba"})
    scores = _score(tmp_path)
    lareqa = 100 * ((1 + 2 / 3) / 3) / 2
    assert scores["xcopa"]["avg_metric"] == pytest.approx(75.0)
    assert scores["mewslix"]["map@20"]["ar"] == pytest.approx(62.5) and scores["mewslix"]["avg_metric"] == pytest.approx(62.5)
    assert scores["lareqa"]["avg_map@20"] == pytest.approx(lareqa)
    # evaluate.py's groups: retrieval = tatoeba + mewslix, multi_choice = xcopa; LAReQA in none; no all_task
    assert scores["retrieval"] == pytest.approx((50 + 62.5) / 2) and scores["multi_choice"] == pytest.approx(75.0)
    assert "all_task" not in scores and "classification" not in scores
    assert list(scores)[:2] == ["retrieval", "multi_choice"] and set(scores) - {"retrieval", "multi_choice"} == \
        {"xcopa", "mewslix", "lareqa", "tatoeba"}
    # without --leaderboard the task folders say which benchmark it is
    guessed = CliRunner().invoke(cli, ["score", "--predictions", str(tmp_path / "predictions"),
                                       "--labels", str(tmp_path / "labels"), "--json"])
    assert json.loads(guessed.output) == scores


def test_score_xtreme_r_overall_is_the_mean_of_the_ten_tasks(tmp_path):
    _constructed(tmp_path, set(XTREME_R_COUNTS))
    scores = _score(tmp_path)
    lareqa = 100 * ((1 + 2 / 3) / 3) / 2
    expected = {"xnli": 100, "xcopa": 75, "udpos": 100, "panx": 100, "tatoeba": 50, "mewslix": 62.5,
                "lareqa": lareqa, "xquad": 100, "mlqa": 100, "tydiqa": 100}
    assert {t: scores[t]["avg_metric"] for t in expected} == pytest.approx(expected)
    assert scores["all_task"] == pytest.approx(sum(expected.values()) / 10)
    assert scores["classification"] == pytest.approx(87.5) and scores["qa"] == pytest.approx(100)
    assert scores["tagging"] == pytest.approx(100)


def test_score_mewslix_on_xtreme_s_mock_files(tmp_path, shared_data):
    """XTREME's mock_test_data holds Mewsli-X labels and predictions: MRR@20 by hand from the files."""
    mock = shared_data / "xtreme_mock_test_data"
    for side in ("labels", "predictions"):
        shutil.copytree(mock / side / "mewslix", tmp_path / side / "mewslix")
    scores = _score(tmp_path)["mewslix"]
    for lang in _langs("mewslix"):
        gold = json.loads((mock / "labels" / "mewslix" / f"test-{lang}.json").read_text())
        ranked = json.loads((mock / "predictions" / "mewslix" / f"test-{lang}.json").read_text())
        reciprocal = [1 / (ranked[q][:20].index(g[0]) + 1) if g[0] in ranked.get(q, [])[:20] else 0.0
                      for q, g in gold.items()]
        assert scores["map@20"][lang] == pytest.approx(100 * sum(reciprocal) / len(reciprocal))
    assert scores["map@20"]["en"] == pytest.approx(100 / 12)  # the mock English gold sits at rank 12
