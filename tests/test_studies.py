"""`xharness study`: each recipe end to end on the smoke preset (one shared store, so cells the
studies share are computed once), its files, a second run that trains nothing, and every analysis
number checked against a value computed here from the run records."""

import json
import statistics
from pathlib import Path

import pytest
from click.testing import CliRunner

from harness.cli import cli

STUDIES = ("granularity", "scale", "alignment", "typology", "settings")
_DONE: dict[tuple[Path, str], object] = {}  # keyed by store too, never by name alone


@pytest.fixture(scope="session")  # per worker: a module xdist splits does not rebuild it
def store(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("studies")


def _run(store: Path, name: str):
    if (store, name) not in _DONE:
        _DONE[store, name] = CliRunner().invoke(cli, ["study", "run", name, "--preset", "smoke", "--output",
                                                      str(store)])
    return _DONE[store, name]


def _study(store: Path, name: str) -> dict:
    result = _run(store, name)
    assert result.exit_code == 0, result.output
    return json.loads((store / "studies" / name / "study.json").read_text(encoding="utf-8"))


def _records(store: Path, study: dict) -> dict[str, dict]:
    return {name: json.loads(Path(entry["results"]).read_text(encoding="utf-8")) for name, entry in study["runs"].items()}


def _score(record: dict) -> float:
    values = list(record["scores"]["per_language"].values())
    return sum(values) / len(values)


def test_study_list_shows_the_five_recipes():
    listed = json.loads(CliRunner().invoke(cli, ["study", "list", "--json"]).output)
    assert [s["name"] for s in listed] == sorted(STUDIES)
    assert all(s["plugin"] == "studies" and s["question"].endswith("?") for s in listed)


@pytest.mark.parametrize("name", STUDIES)
def test_each_study_writes_its_files_and_a_second_run_trains_nothing(store, name):
    study = _study(store, name)
    folder = store / "studies" / name
    assert study["study"] == name and study["runs"] and not study["missing"]
    assert (folder / "study.md").read_text(encoding="utf-8").startswith(f"# Study `{name}`")
    assert study["figures"] and all((folder / figure).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
                                    for figure in study["figures"])
    for entry in study["numbers"].values():  # every number names the runs it came from, and they exist
        assert all(run in study["runs"] for run in entry.get("runs", []))
    again = CliRunner().invoke(cli, ["study", "run", name, "--preset", "smoke", "--output", str(store)])
    assert again.exit_code == 0, again.output
    assert "phase 2: training" not in again.output and "fine-tuning on" not in again.output
    assert "0 done now" in again.output or "0 cells" in again.output
    analysed = CliRunner().invoke(cli, ["study", "analyse", name, str(store)])
    assert analysed.exit_code == 0, analysed.output
    assert json.loads((folder / "study.json").read_text())["numbers"] == study["numbers"]


def test_granularity_numbers_equal_the_records(store):
    study = _study(store, "granularity")
    records = _records(store, study)
    checked = 0
    for key, entry in study["numbers"].items():
        kind, variant, model, inter, target = key.split("/")
        runs = [records[r] for r in entry["runs"]]
        if kind == "delta":
            system = [r for r in runs if r["intermediate_tasks"] == [inter]]
            baseline = [r for r in runs if not r["intermediate_tasks"]]
            by_seed = {r["seed"]: _score(r) for r in baseline}
            expected = statistics.fmean(_score(r) - by_seed[r["seed"]] for r in system)
            assert entry["value"] == pytest.approx(expected, abs=1e-9), key
            assert entry["granularity"] == {"squad": "span", "mnli": "pair"}[inter]
            translated = [r["hyperparameters"]["intermediate"].get("translated") for r in system]
            if variant == "english":
                assert translated == [None] * len(system), key
            else:  # the smoke grid's two translations (all of them outside the smoke preset)
                assert translated == [["de", "es"]] * len(system), (key, translated)
            checked += 1
        else:
            tasks = entry["tasks"]
            members = [study["numbers"][f"delta/{variant}/{model}/{task}/{target}"]["value"] for task in tasks]
            assert entry["value"] == pytest.approx(statistics.fmean(members), abs=1e-9), key
            checked += 1
    assert checked >= 6


def test_scale_numbers_equal_the_records(store):
    study = _study(store, "scale")
    records = _records(store, study)
    deltas = {}
    for key, entry in study["numbers"].items():
        if not key.startswith("delta/"):
            continue
        _, model, inter, target = key.split("/")
        runs = [records[r] for r in entry["runs"]]
        system = [r for r in runs if r["intermediate_tasks"] == [inter] and r["model"]["name"] == model]
        baseline = {r["seed"]: _score(r) for r in runs if not r["intermediate_tasks"]}
        deltas[(model, inter, target)] = statistics.fmean(_score(r) - baseline[r["seed"]] for r in system)
        assert entry["value"] == pytest.approx(deltas[(model, inter, target)], abs=1e-9), key
    assert {m for m, _, _ in deltas} == {"tiny", "tiny-large"}
    for key, entry in study["numbers"].items():
        if key.startswith("interaction/"):
            _, inter, target = key.split("/")
            expected = deltas[("tiny-large", inter, target)] - deltas[("tiny", inter, target)]
            assert entry["value"] == pytest.approx(expected, abs=1e-9), key
            assert entry["ci_low"] < entry["ci_high"]


def test_alignment_numbers_equal_the_records(store):
    study = _study(store, "alignment")
    records = _records(store, study)
    profiles = {k: v for k, v in study["numbers"].items() if k.startswith("profile/")}
    assert {k.split("/")[2] for k in profiles} == {"pretrained", "squad", "mnli"}
    by_encoder = {}
    for key, entry in profiles.items():
        (run,) = entry["runs"]
        record = records[run]
        layer = entry["default_layer"]
        assert layer == record["phases"]["target"]["layer"]
        profile = entry["value"]
        assert profile["num_layers"] == 2  # the tiny encoder: embeddings + 2 layers, all from one pass
        # recall@1 at the run's layer is exactly the accuracy the Tatoeba run reported
        for lang, per in profile["per_language"].items():
            assert per["recall"]["1"][layer] == pytest.approx(record["scores"]["per_language"][lang], abs=1e-9)
            assert len(per["recall"]["5"]) == len(per["gap"]) == 3
            assert all(a <= b + 1e-9 for a, b in zip(per["recall"]["1"], per["recall"]["5"]))
        curve = profile["mean_recall_at_1"]
        assert curve == pytest.approx([statistics.fmean(p["recall"]["1"][i] for p in profile["per_language"].values())
                                       for i in range(3)])
        by_encoder[key.split("/")[2]] = statistics.fmean(record["scores"]["per_language"].values())
    for name in ("squad", "mnli"):
        entry = study["numbers"][f"delta_default_layer/tiny/{name}"]
        assert entry["value"] == pytest.approx(by_encoder[name] - by_encoder["pretrained"], abs=1e-9)
    for name in ("pretrained", "squad", "mnli"):
        entry = study["numbers"][f"best_layer/tiny/{name}"]
        assert entry["value"] == entry["curve"].index(max(entry["curve"]))
    # BUCC by layer, pretrained encoder, at the default layer: recomputed with the one-layer embedding
    # of a retrieval run and a brute-force ranking
    import torch

    from harness.data.sources import plan_task_data
    from harness.kinds.retrieval import embed
    from harness.training.model import load_backbone
    from harness.contract.discovery import discover
    from harness.common.progress import Reporter
    from accelerate import Accelerator

    entry = study["numbers"]["retrieval/tiny/pretrained/seed1/bucc2018"]
    record = records[entry["runs"][0]]
    layer, settings = entry["default_layer"], record["hyperparameters"]["target"]
    tokenizer, encoder = load_backbone(record["model"]["location"])
    data = plan_task_data(discover().task("target", "bucc2018"), [("test", "de")], source="bundled", data_dir=None)
    (corpus,) = data.load("test", "de")
    options = {"layer": layer, "pooling": settings["pooling"], "batch_size": settings["per_device_batch_size"] * 2,
               "max_length": settings["max_length"], "reporter": Reporter(False), "description": "check"}
    accelerator = Accelerator(cpu=True)
    sources = dict(corpus["source"])
    position = {ident: i for i, (ident, _) in enumerate(corpus["target"])}
    gold = [(s, t) for s, t in corpus["gold"] if s in sources and t in position]
    queries = embed(accelerator, encoder, tokenizer, [sources[s] for s, _ in gold], **options)
    targets = embed(accelerator, encoder, tokenizer, [text for _, text in corpus["target"]], **options)
    hits = 0
    for row, (_, t) in enumerate(gold):
        scores = (queries[row] @ targets.T).tolist()
        hits += sum(1 for j, v in enumerate(scores) if j != position[t] and v >= scores[position[t]]) == 0
    assert entry["value"]["per_language"]["de"]["1"][layer] == pytest.approx(100 * hits / len(gold), abs=1e-9)
    assert "lareqa" in {k.rsplit("/", 1)[1] for k in study["numbers"] if k.startswith("retrieval/")}


def test_typology_numbers_equal_the_records(store):
    from scipy import stats

    from xharness_studies import uriel

    study = _study(store, "typology")
    records = _records(store, study)
    checked = 0
    for key, entry in study["numbers"].items():
        if key.startswith("degradation/"):
            (run,) = entry["runs"]
            scores = records[run]["scores"]["per_language"]
            assert len(scores) == 41 and entry["rule"] == "100_minus_score"  # XTREME-R's Tatoeba: no English test
            assert entry["value"] == pytest.approx({lang: 100 - v for lang, v in scores.items()})
        if key.startswith("correlation/") and entry["value"] is not None:
            _, model, target, row, kind, method = key.split("/")
            drop = study["numbers"][f"degradation/{model}/{target}/{row}"]["value"]
            langs = entry["languages"]
            x = [uriel.distance(lang, kind) for lang in langs]
            y = [drop[lang] for lang in langs]
            assert None not in x and len(langs) == entry["n"]
            expected = (stats.spearmanr if method == "spearman" else stats.pearsonr)(x, y)[0]
            assert entry["value"] == pytest.approx(expected, abs=1e-9), key
            assert entry["ci_low"] <= entry["ci_high"]
            checked += 1
    assert checked >= 20
    # languages URIEL lacks for a distance type are named, not silently dropped
    lacking = next(v["value"] for k, v in study["numbers"].items() if k.startswith("missing/"))
    assert "phonological" in lacking["it"]


def test_plural():
    from xharness_studies.common import plural

    assert [plural(n, "seed") for n in (0, 1, 2)] == ["0 seeds", "1 seed", "2 seeds"]
    assert plural(1, "Δ cell") == "1 Δ cell" and plural(3, "analysis", "analyses") == "3 analyses"


@pytest.mark.parametrize("found, expected", [(1, "- 1 interaction estimated; 1 has"),
                                             (2, "- 2 interactions estimated; 2 have")])
def test_study_text_uses_plurals(found, expected):
    """Issue 23: '1 interaction … has', not '1 interactions … have'."""
    from harness.grids.study import Context
    from xharness_studies import scale

    context = Context("scale", "?", None, [], [], None, Path("."))
    for i in range(found):
        context.number(f"interaction/squad/t{i}", 1.0, ci_low=0.1, ci_high=0.5)
    scale.Scale._reading(context)
    assert context.lines[2].startswith(expected)


def test_settings_gains_are_the_runs_differences_within_each_setting(store):
    """The settings study's Δ per setting is the intermediate row's score minus the baseline's in that
    setting (few-shot: the mean over draws), and its trend is the last K's Δ minus zero-shot's."""
    study = _study(store, "settings")
    records = _records(store, study)

    def setting(record: dict) -> str:
        transfer = record.get("transfer") or {"setting": "zero-shot"}
        return f"few-shot (K={transfer['shots']})" if transfer["setting"] == "few-shot" else transfer["setting"]

    scores: dict[tuple[str, str], list[float]] = {}
    for record in records.values():
        inter = "+".join(record["intermediate_tasks"]) or "none"
        scores.setdefault((setting(record), inter), []).append(_score(record))
    found = {key.split("/", 1)[1]: entry["value"] for key, entry in study["numbers"].items() if key.startswith("delta/")}
    assert set(found) >= {"zero-shot/hellaswag/pawsx", "translate-train-all/hellaswag/pawsx",
                          "few-shot (K=8)/hellaswag/pawsx"}
    for name in ("zero-shot", "translate-train-all", "few-shot (K=8)"):
        expected = statistics.fmean(scores[(name, "hellaswag")]) - statistics.fmean(scores[(name, "none")])
        assert found[f"{name}/hellaswag/pawsx"] == pytest.approx(expected, abs=1e-9)
    assert len(scores[("few-shot (K=8)", "hellaswag")]) == 2  # two draws
    trend = study["numbers"]["trend/hellaswag"]
    assert (trend["first_shots"], trend["last_shots"]) == (0, 8)
    assert trend["value"] == pytest.approx(found["few-shot (K=8)/hellaswag/average"]
                                           - found["zero-shot/hellaswag/average"], abs=1e-9)
    text = (store / "studies" / "settings" / "study.md").read_text(encoding="utf-8")
    assert "as target-language data grows" in text and "settings-hellaswag.png" in study["figures"]
