"""`xharness report`: matrix, Δ, seeds, paired bootstrap + Holm, formats, figures, refusals (issue 9)."""

import csv
import io
import json
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from harness.compute import outcomes

from harness.analysis import report
from harness.cli import cli
from harness.store.runstore import seal

FAST = ["--preset", "smoke", "--languages", "en,de", "--inter-epochs", "1", "--target-epochs", "1"]
SMOKE_GRID = ["--inter", "hellaswag,mnli,none", "--target", "pawsx,xnli", "--seeds", "1,2", *FAST]
SETTINGS = {"lr": 1e-5, "batch_size": 32, "max_length": 128, "epochs": 2}


def invoke(*args: str):
    return CliRunner().invoke(cli, ["report", *map(str, args)])


def as_json(*args: str) -> dict:
    result = invoke(*args, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def cells(table: dict) -> dict[tuple[str, str], dict]:
    return {(c["row"], c["column"]): c for c in table["cells"]}


# --------------------------------------------------------------------- records written by hand


def accuracy_outcome(task: str, lang: str, correct: list[int]) -> dict:
    return outcomes.make(task, "classification", lang, "accuracy", [str(i) for i in range(len(correct))],
                         correct=correct)


def write_run(store: Path, inter: str, target: str, seed: int, correct: dict[str, list[int]], *,
              model: str = "tiny", target_settings: dict | None = None, with_outcomes: bool = True) -> Path:
    """A sealed run folder as the harness writes it: results.json, outcome files, manifest."""
    per_language = {lang: 100.0 * sum(c) / len(c) for lang, c in correct.items()}
    inters = [] if inter == "none" else inter.split("+")
    record = {
        "schema": "xharness.results/1", "intermediate_tasks": inters, "target_task": target,
        "model": {"name": model, "source": "built", "revision": None, "sha256": f"sha-{model}"},
        "seed": seed, "preset": None, "data_source": "hub", "languages": list(correct),
        "hyperparameters": {"intermediate": dict(SETTINGS) if inters else None,
                            "target": dict(target_settings or SETTINGS)},
        "scores": {"metric": "accuracy", "split": "test", "per_language": per_language,
                   "average": statistics.fmean(per_language.values())},
        "phases": {"intermediate": None, "target": {"key": f"{inter}-{target}-{model}-{seed}"}},
        "data": {"intermediate": [{"task": t} for t in inters], "target": {"task": target, "sha256": "d"}},
        "versions": {"core": "0.2.0"},
    }
    folder = store / "runs" / f"{inter}__{target}__{model}__seed{seed}-{record['phases']['target']['key']}"
    folder.mkdir(parents=True)
    if with_outcomes:
        record["outcomes"] = {"schema": outcomes.SCHEMA, "files": {}}
        for lang, values in correct.items():
            path = outcomes.path_for(folder, lang)
            path.parent.mkdir(exist_ok=True)
            path.write_text(outcomes.dumps(accuracy_outcome(target, lang, values)), encoding="utf-8")
            record["outcomes"]["files"][lang] = path.relative_to(folder).as_posix()
    (folder / "results.json").write_text(json.dumps(record), encoding="utf-8")
    seal(folder)
    return folder


def pattern(n: int, right: int, offset: int = 0) -> list[int]:
    """n examples, `right` of them correct, starting at `offset` (wrapping)."""
    return [1 if (i - offset) % n < right else 0 for i in range(n)]


@pytest.fixture
def store(tmp_path) -> Path:
    """Baseline and two intermediate tasks, 2 targets × 2 languages × 3 seeds, 200 examples each.

    `strong` is right on every example of xnli that `none` gets wrong (a sure improvement);
    `noise` equals `none` on xnli except for a few examples (no real difference).
    """
    root = tmp_path / "store"
    n = 200
    for seed in (1, 2, 3):
        write_run(root, "none", "xnli", seed, {"en": pattern(n, 120 + seed), "de": pattern(n, 100 + seed)})
        write_run(root, "strong", "xnli", seed, {"en": [1] * n, "de": [1] * n})
        write_run(root, "noise", "xnli", seed, {"en": pattern(n, 121 + seed, 1), "de": pattern(n, 100 + seed, 3)})
        write_run(root, "none", "pawsx", seed, {"en": pattern(n, 150 - seed), "de": pattern(n, 140)})
        write_run(root, "strong", "pawsx", seed, {"en": pattern(n, 152 - seed), "de": pattern(n, 141)})
        write_run(root, "noise", "pawsx", seed, {"en": pattern(n, 150 - seed, 5), "de": pattern(n, 139, 2)})
    return root


# ------------------------------------------------------------------------- the real smoke grid


@pytest.fixture(scope="session")  # per worker: a module xdist splits does not rebuild it
def smoke_grid(tmp_path_factory) -> Path:
    output = tmp_path_factory.mktemp("report-grid")
    result = CliRunner().invoke(cli, ["sweep", *SMOKE_GRID, "--output", str(output)])
    assert result.exit_code == 0, result.output
    return output


def test_smoke_grid_means_stds_and_deltas_equal_the_records(smoke_grid):
    records = [json.loads(p.read_text()) for p in smoke_grid.glob("runs/*/results.json")]
    assert len(records) == 12
    # independently: task score = mean over languages of per_language, per (row, target, seed)
    scores = {("+".join(r["intermediate_tasks"]) or "none", r["target_task"], r["seed"]):
              statistics.fmean(r["scores"]["per_language"].values()) for r in records}
    for target in ("pawsx", "xnli"):
        for seed in (1, 2):
            avg = {row: statistics.fmean([scores[(row, "pawsx", seed)], scores[(row, "xnli", seed)]])
                   for row in ("none", "hellaswag", "mnli")}
            for row in avg:
                scores[(row, "average", seed)] = avg[row]

    doc = as_json(smoke_grid, "--bootstrap", "50")
    (table,) = doc["tables"]
    assert table["mode"] == "delta" and table["rows"] == ["none", "hellaswag", "mnli"]
    assert table["columns"] == ["pawsx", "xnli", "average"]  # the xtreme leaderboard's order
    by = cells(table)
    for row in ("none", "hellaswag", "mnli"):
        for column in ("xnli", "pawsx", "average"):
            values = [scores[(row, column, s)] for s in (1, 2)]
            score = by[(row, column)]["score"]
            assert score["seeds"] == [1, 2] and score["n"] == 2
            assert score["mean"] == pytest.approx(statistics.fmean(values))
            assert score["std"] == pytest.approx(statistics.stdev(values))
            if row == "none":
                assert by[(row, column)]["delta"] is None
                continue
            deltas = [scores[(row, column, s)] - scores[("none", column, s)] for s in (1, 2)]
            delta = by[(row, column)]["delta"]
            assert delta["mean"] == pytest.approx(statistics.fmean(deltas))
            assert delta["std"] == pytest.approx(statistics.stdev(deltas))
            assert len(by[(row, column)]["runs"]) == len(by[(row, column)]["baseline_runs"]) > 0
            assert all(Path(f).is_dir() for f in by[(row, column)]["runs"])

    absolute = cells(as_json(smoke_grid, "--absolute", "--bootstrap", "0")["tables"][0])
    assert all(c["delta"] is None for c in absolute.values())
    assert absolute[("hellaswag", "xnli")]["score"] == by[("hellaswag", "xnli")]["score"]


def test_smoke_grid_significance_from_the_recorded_outcomes(smoke_grid):
    assert len(list(smoke_grid.glob("runs/*/outcomes/test-*.json"))) == 12 * 2  # 12 cells × en, de
    table = as_json(smoke_grid, "--bootstrap", "200")["tables"][0]
    tested = [c for c in table["cells"] if c["row"] != "none"]
    assert table["tests"] == len(tested) == 6  # 2 rows × (2 targets + the average)
    for cell in tested:
        assert 0.0 <= cell["p"] <= cell["p_holm"] <= 1.0
        assert cell["untested"] is None
    assert not any("disagree" in n or "outcome files give" in n for n in table["notes"])


# ----------------------------------------------------------------------------------- bootstrap


def _system(correct: dict[str, list[int]], task: str = "xnli") -> dict:
    return {task: {lang: accuracy_outcome(task, lang, values) for lang, values in correct.items()}}


def test_bootstrap_identical_systems_give_p_one():
    a = _system({"en": pattern(100, 60), "de": pattern(80, 30)})
    observed, p = report.paired_bootstrap([(a, a), (a, a)], resamples=500, seed=0)
    assert observed == 0.0 and p == pytest.approx(1.0)


def test_bootstrap_a_system_right_where_the_other_is_wrong_gives_p_near_zero():
    wrong = pattern(100, 70)
    right = [1 - w for w in wrong]  # right exactly where the baseline is wrong, wrong where it is right
    better = [max(w, r) for w, r in zip(wrong, right)]  # right on every example
    observed, p = report.paired_bootstrap([(_system({"en": better}), _system({"en": wrong}))], resamples=1000)
    assert observed == pytest.approx(30.0) and p < 0.01
    observed, p = report.paired_bootstrap([(_system({"en": right}), _system({"en": wrong}))], resamples=1000)
    assert observed == pytest.approx(-40.0) and p < 0.01  # the sign does not matter: two-sided


def test_bootstrap_is_reproducible_with_the_same_seed():
    # a small, noisy difference: the p-value depends on the resamples
    system = _system({"en": pattern(60, 33, 2), "de": pattern(50, 26, 7)})
    baseline = _system({"en": pattern(60, 31), "de": pattern(50, 25)})
    first = report.paired_bootstrap([(system, baseline)], resamples=300, seed=7)
    again = report.paired_bootstrap([(system, baseline)], resamples=300, seed=7)
    other = [report.paired_bootstrap([(system, baseline)], resamples=300, seed=s)[1] for s in (8, 9, 10)]
    assert first == again
    assert 0.05 < first[1] < 1.0
    assert any(p != first[1] for p in other)  # the seed does drive the resamples


def test_bootstrap_resampled_scores_use_each_aggregate_as_outcomes_score():
    import numpy as np

    records = [
        outcomes.make("panx", "tagging", "de", "f1_counts", ["a", "b", "c"], tp=[2, 0, 1], fp=[1, 1, 0], fn=[0, 2, 1]),
        outcomes.make("xquad", "span_qa", "de", "qa", ["a", "b"], f1=[0.5, 1.0], em=[0, 1]),
        accuracy_outcome("xnli", "de", [1, 0, 1, 1]),
    ]
    for record in records:
        names = outcomes.AGGREGATES[record["aggregate"]]
        sums = np.array([[sum(record[name]) for name in names]], dtype=float)  # the resample that is the test set
        assert report._from_sums(record["aggregate"], sums, len(record["ids"]))[0] == pytest.approx(
            outcomes.score(record))


def test_holm_on_a_hand_worked_case():
    # p = [0.01, 0.04, 0.03, 0.005], m = 4. Sorted: 0.005 (#4), 0.01 (#1), 0.03 (#3), 0.04 (#2).
    # times (m − rank + 1) = 4, 3, 2, 1: 0.020, 0.030, 0.060, 0.040
    # running maximum:                    0.020, 0.030, 0.060, 0.060
    # back in input order: #1 0.03, #2 0.06, #3 0.06, #4 0.02
    assert report.holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert report.holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])  # capped at 1
    assert report.holm([]) == []


# -------------------------------------------------------------------------------- the matrix


def test_a_sure_improvement_is_starred_and_noise_is_not(store):
    table = as_json(store, "--bootstrap", "500")["tables"][0]
    by = cells(table)
    assert table["rows"] == ["none", "noise", "strong"]
    assert table["tests"] == 6  # 2 Δ rows × (2 targets + average), Holm over all six
    strong = by[("strong", "xnli")]
    assert strong["marker"] == "**" and strong["p_holm"] < 0.01
    assert by[("noise", "xnli")]["marker"] == "" and by[("noise", "xnli")]["p_holm"] > 0.05
    raw = [c["p"] for c in table["cells"] if c["p"] is not None]
    assert [c["p_holm"] for c in table["cells"] if c["p"] is not None] == pytest.approx(report.holm(raw))
    markdown = invoke(store, "--format", "markdown", "--bootstrap", "500").stdout
    assert "**" in next(line for line in markdown.splitlines() if line.startswith("| strong"))


def test_delta_pairs_only_seeds_present_in_both_rows_and_marks_fewer_seeds(tmp_path):
    root = tmp_path / "store"
    for seed in (1, 2, 3):
        write_run(root, "mnli", "xnli", seed, {"en": pattern(20, 10 + seed)})
    for seed in (1, 2):
        write_run(root, "none", "xnli", seed, {"en": pattern(20, 8 + 2 * seed)})
    table = as_json(root, "--bootstrap", "0")["tables"][0]
    by = cells(table)
    assert by[("mnli", "xnli")]["score"]["seeds"] == [1, 2, 3]
    delta = by[("mnli", "xnli")]["delta"]
    assert delta["seeds"] == [1, 2] and delta["values"] == pytest.approx([5.0, 0.0])
    assert delta["std"] == pytest.approx(statistics.stdev([5.0, 0.0]))

    write_run(root, "mnli", "pawsx", 1, {"en": pattern(20, 12)})  # one seed where others have two
    write_run(root, "none", "pawsx", 1, {"en": pattern(20, 12)})
    table = as_json(root, "--bootstrap", "0")["tables"][0]
    assert cells(table)[("mnli", "pawsx")]["fewer_seeds"] is True
    assert cells(table)[("mnli", "xnli")]["fewer_seeds"] is False
    assert any(note.startswith("†") for note in table["notes"])
    text = invoke(root, "--format", "markdown", "--bootstrap", "0").stdout
    row = next(line for line in text.splitlines() if line.startswith("| mnli"))
    assert "± - (1)†" in row  # one seed: no std, and marked


def test_per_language_drill_down(store):
    table = as_json(store, "--target", "xnli", "--absolute", "--bootstrap", "0")["tables"][0]
    assert table["target"] == "xnli" and table["columns"] == ["en", "de", "average"]
    by = cells(table)
    assert by[("none", "de")]["score"]["values"] == pytest.approx([100 * (100 + s) / 200 for s in (1, 2, 3)])
    assert by[("none", "average")]["score"]["values"] == pytest.approx(
        [(100 * (120 + s) / 200 + 100 * (100 + s) / 200) / 2 for s in (1, 2, 3)])
    bad = invoke(store, "--target", "xnlii")
    assert bad.exit_code == 2 and "did you mean 'xnli'" in bad.output


def test_one_table_per_backbone_and_model_picks_one(store):
    write_run(store, "mnli", "xnli", 1, {"en": pattern(10, 5)}, model="other")
    doc = as_json(store, "--bootstrap", "0")
    assert [t["model"] for t in doc["tables"]] == ["other", "tiny"]
    assert [t["mode"] for t in doc["tables"]] == ["absolute", "delta"]  # Δ only where a backbone has a baseline
    assert invoke(store, "--model", "other", "--delta").exit_code == 1
    doc = as_json(store, "--model", "tiny", "--bootstrap", "0")
    assert [t["model"] for t in doc["tables"]] == ["tiny"]
    assert invoke(store, "--model", "tinny").exit_code == 2


def test_damaged_and_unsound_folders_are_skipped(store):
    victim = next(store.glob("runs/strong__xnli__*seed1-*"))
    (victim / "results.json").write_text((victim / "results.json").read_text().replace('"seed": 1', '"seed": 9'))
    aside = store / "damaged" / "x"
    shutil.copytree(next(store.glob("runs/strong__pawsx__*seed1-*")), aside)
    doc = as_json(store, "--bootstrap", "0")
    assert len(doc["skipped"]) == 1 and "does not match" in doc["skipped"][0]
    by = cells(doc["tables"][0])
    assert by[("strong", "xnli")]["score"]["seeds"] == [2, 3]
    runs = {Path(run) for c in doc["tables"][0]["cells"] for run in c["runs"]}
    assert runs and all(run.parent == (store / "runs").resolve() for run in runs)  # nothing from damaged/


# ------------------------------------------------------------------------------------ refusals


def test_runs_with_different_settings_are_left_out_in_words_never_averaged(store):
    before = as_json(store, "--bootstrap", "0")
    write_run(store, "noise", "xnli", 4, {"en": pattern(200, 100), "de": pattern(200, 100)},
              target_settings={**SETTINGS, "max_length": 256})
    doc = as_json(store, "--bootstrap", "0")
    assert doc["tables"] == before["tables"]  # the odd run changes no number
    (line,) = doc["left_out"]
    assert line.startswith("unrecorded: left out 1 run (noise → xnli, seed 4) from column xnli of model tiny: ")
    assert "target setting max_length=256 (the others: max_length=128)" in line and "sha" not in line
    assert "{" not in line  # key=value, never a Python dict
    result = invoke(store, "--bootstrap", "0")
    assert result.exit_code == 0 and line in " ".join(result.stdout.split())
    # a per-language table (the HTML page's, the Hub export's) is built from the matrix's runs only
    runs, _ = report.collect([store])
    (table,) = report.build(runs, resamples=0).tables
    drilled = report.drill_down(table, runs, "xnli", resamples=0)
    used = {run for cell in drilled.cells.values() for run in cell.runs + cell.baseline_runs}
    assert used and not any("seed4" in Path(run).name for run in used)


def test_report_of_nothing_and_plot_languages_without_target_are_one_line_errors(tmp_path):
    result = invoke(tmp_path)
    assert result.exit_code == 1 and result.output.startswith("error: no finished runs")
    result = invoke(tmp_path / "missing")
    assert result.exit_code == 1 and "is not a folder" in result.output
    result = invoke(tmp_path, "--plot-languages", tmp_path / "x.png")
    assert result.exit_code == 1 and "--target" in result.output


# ------------------------------------------------------------------------------------- formats


def test_markdown_has_the_table_shape(store):
    text = invoke(store, "--format", "markdown", "--bootstrap", "100").stdout
    lines = [line for line in text.splitlines() if line.startswith("|")]
    assert len(lines) == 2 + 3  # header, separator, three rows
    assert all(line.endswith("|") and line.count("|") == 5 for line in lines)  # 4 columns
    assert set(lines[1]) <= set("|-: ")
    assert lines[0].split("|")[1].strip() == "intermediate"
    assert "+" in lines[3] or "−" in lines[3]  # Δ rows are signed


def test_csv_parses_with_one_line_per_number(store):
    rows = list(csv.DictReader(io.StringIO(invoke(store, "--format", "csv", "--bootstrap", "0").stdout)))
    assert {r["kind"] for r in rows} == {"score", "delta"}
    assert len([r for r in rows if r["kind"] == "score"]) == 9 and len([r for r in rows if r["kind"] == "delta"]) == 6
    line = next(r for r in rows if r["row"] == "strong" and r["column"] == "xnli" and r["kind"] == "delta")
    assert line["seeds"] == "1;2;3" and float(line["n"]) == 3


def test_latex_uses_booktabs_and_bolds_the_best_cell(store):
    text = invoke(store, "--format", "latex", "--bootstrap", "100").stdout
    assert text.index(r"\toprule") < text.index(r"\midrule") < text.index(r"\bottomrule")
    body = text[text.index(r"\midrule"):text.index(r"\bottomrule")]
    rows = {line.split(" & ")[0]: line.split(" & ") for line in body.splitlines() if " & " in line}
    assert rows["strong"][1].startswith(r"\textbf{+") and not rows["noise"][1].startswith(r"\textbf")  # xnli
    assert "$-$" in text or "+" in rows["noise"][1]  # Δ signed, minus typeset as math
    assert "−" not in text and "±" not in text  # no raw Unicode that pdflatex would choke on


def test_latex_compiles_when_pdflatex_is_installed(store, tmp_path):
    if shutil.which("pdflatex") is None:
        pytest.skip("pdflatex not installed: the LaTeX is checked structurally only (test above)")
    text = invoke(store, "--format", "latex", "--bootstrap", "100").stdout
    document = "\\documentclass{article}\\usepackage{booktabs}\\usepackage[utf8]{inputenc}\\begin{document}\n" \
               + text + "\\end{document}\n"
    (tmp_path / "t.tex").write_text(document, encoding="utf-8")
    compiled = subprocess.run(["pdflatex", "-interaction=nonstopmode", "t.tex"], cwd=tmp_path, capture_output=True)
    assert compiled.returncode == 0, compiled.stdout[-2000:]


def test_plots_are_written_at_the_expected_pixel_size(store, tmp_path):
    from matplotlib.image import imread

    heat, languages = tmp_path / "delta.png", tmp_path / "langs.png"
    result = invoke(store, "--bootstrap", "100", "--plot", heat, "--plot-languages", languages, "--target", "xnli")
    assert result.exit_code == 0, result.output
    # the matrix: 2 Δ rows × 3 columns; the languages of xnli: 2 Δ rows × (en, de, average); each
    # with its caption under it
    runs, _ = report.collect([store])
    for path, built in ((heat, report.build(runs, resamples=100)),
                        (languages, report.build(runs, target="xnli", resamples=100))):
        (table,) = built.tables
        caption = report.figure_caption(table)
        assert len(caption) >= 2  # what a cell shows, and what * and ** mean
        width, height = report.figure_size(2, 3, len(caption))
        assert (width, height) == pytest.approx((5.9, 2.8 + 0.13 * len(caption)))
        assert imread(path).shape[:2] == (round(height * report.FIG_DPI), round(width * report.FIG_DPI))
        assert report.plot(table, path) == (round(width * report.FIG_DPI), round(height * report.FIG_DPI))
    pdf = tmp_path / "delta.pdf"
    assert invoke(store, "--bootstrap", "0", "--plot", pdf).exit_code == 0
    assert pdf.read_bytes().startswith(b"%PDF")
    assert invoke(store, "--plot", tmp_path / "x.jpeg").exit_code == 1


def test_compare_shows_the_shipped_reference(smoke_grid, tmp_path):
    text = invoke(smoke_grid, "--format", "markdown", "--compare", "xlmr-large", "--bootstrap", "0").stdout
    row = next(line for line in text.splitlines() if line.startswith("| XLM-R Large (Hu et al., 2020)"))
    assert [cell.strip() for cell in row.strip("|").split("|")][1:] == ["86.40", "79.20", "82.80"]  # pawsx, xnli, avg
    assert "arXiv:2003.11080" in text
    reference = json.loads((Path(report.__file__).parent / "reference" / "xlmr_large_xtreme.json").read_text())
    xquad = next(c for c in reference["tables"][0]["cells"] if c["column"] == "xquad")
    assert (xquad["f1"], xquad["em"], xquad["score"]["mean"]) == (76.6, 60.8, 68.7)
    # a report's own JSON is a valid reference: compare a run with itself
    mine = tmp_path / "mine.json"
    mine.write_text(invoke(smoke_grid, "--format", "json", "--absolute", "--bootstrap", "0").stdout)
    doc = as_json(smoke_grid, "--compare", mine, "--bootstrap", "0")
    shown = {r["label"]: r["values"] for r in doc["tables"][0]["reference"]}
    none = cells(doc["tables"][0])[("none", "xnli")]["score"]["mean"]
    assert shown["mine"]["xnli"] == pytest.approx(none)
    assert invoke(smoke_grid, "--compare", tmp_path / "nope.json").exit_code == 1


def test_report_help_imports_no_heavy_library():
    code = ("import sys\nfrom click.testing import CliRunner\nfrom harness.cli import cli\n"
            "assert CliRunner().invoke(cli, ['report', '--help']).exit_code == 0\n"
            "print(sorted(m for m in ('torch', 'transformers', 'datasets', 'matplotlib', 'scipy', 'numpy') "
            "if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_flagged_runs_are_marked_and_n_is_shown_on_request(tmp_path):
    """Issue 23: a number some run behind it has a flagged score for carries ⚑ and a note naming the
    flags; --show-n shows the test examples behind each number; CSV and JSON always hold both. Records
    written before flags and n existed read as unflagged, without n."""
    root = tmp_path / "store"
    flagged = write_run(root, "none", "xnli", 1, {"en": pattern(40, 20), "de": pattern(40, 20)})
    record = json.loads((flagged / "results.json").read_text())
    record["scores"]["n"] = {"en": 40, "de": 40}
    record["scores"]["flags"] = {"de": ["one class: 100% of the predictions are 'entailment'"]}
    (flagged / "results.json").write_text(json.dumps(record))
    seal(flagged)
    write_run(root, "strong", "xnli", 1, {"en": [1] * 40, "de": [1] * 40})  # an older record: no n, no flags
    runs, _ = report.collect([root])
    built = report.build(runs, resamples=50, show_n=True)
    (table,) = built.tables
    none, strong = table.cells[("none", "xnli")], table.cells[("strong", "xnli")]
    assert none.flags == ["one class"] and none.examples == 80 and strong.examples is None
    assert strong.flags == ["one class"]  # its Δ is against the flagged baseline
    text = report.render(built, "markdown")
    assert "(1)⚑ n=80" in text and "⚑ a run behind the number has a score that is no finding: one class" in text
    assert "n=: the test examples behind one seed's number" in text
    assert "n=" not in report.render(report.build(runs, resamples=50), "markdown").split("\n- ")[0]  # only on request
    rows = list(csv.DictReader(io.StringIO(report.render(built, "csv"))))
    shown = {(r["row"], r["kind"]): r for r in rows if r["column"] == "xnli"}
    assert shown[("none", "score")]["examples"] == "80" and shown[("none", "score")]["flags"] == "one class"
    cells = {(c["row"], c["column"]): c for c in json.loads(report.render(built, "json"))["tables"][0]["cells"]}
    assert cells[("none", "xnli")]["examples"] == 80 and cells[("none", "xnli")]["flags"] == ["one class"]
    drill = report.build(runs, target="xnli", resamples=50)
    assert drill.tables[0].cells[("none", "en")].flags == [] and drill.tables[0].cells[("none", "de")].flags


def hand_table(mode: str = "delta", tests: int = 3) -> report.Table:
    """A 3 × 3 table written by hand (the figure is under test, not the numbers): Δ over three
    seeds, one cell with one seed, one flagged, one significant, one without a number."""
    def stat(*values):
        return report.Stat.of(dict(enumerate(values, 1)))

    rows, columns = ["none", "mnli", "squad+mnli"], ["pawsx", "xnli", "average"]
    cells = {(r, c): report.Cell(r, c, score=stat(80.0, 81.0, 82.5), delta=None if r == "none" else stat(1.0, 2.0, 3.6))
             for r in rows for c in columns}
    cells[("mnli", "pawsx")].marker = "**"
    cells[("mnli", "xnli")].delta = stat(-0.5)  # one seed: no std to show
    cells[("mnli", "xnli")].fewer_seeds = True
    cells[("mnli", "average")].flags = ["one class"]
    cells[("squad+mnli", "xnli")].delta = None
    return report.Table("tiny", None, mode, rows, columns, cells, {}, tests=tests)


def test_heatmap_cells_show_the_mean_std_beneath_and_marks_and_the_caption_explains_them(tmp_path):
    """Issue 23: each cell shows its mean with its marks and, beneath it, ± the std over seeds (none
    for one seed); the flagged mark is drawn by the font (no missing-glyph box); the caption under
    the plot says what ±, * and ** and every other mark shown mean; the saved PNG has the size
    plot returns."""
    import warnings

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.image import imread

    table = hand_table()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib warns of a glyph its font lacks
        figure = report.heatmap(table)
        size = report.plot(table, tmp_path / "heat.png")
    texts = {text.get_text() for text in figure.axes[0].texts}
    assert texts == {"+2.2**\n± 1.3", "−0.5†", "+2.2⚑\n± 1.3", "+2.2\n± 1.3", "n/a"}
    assert ["none"] == [row for row in table.rows if row not in
                        [label.get_text() for label in figure.axes[0].get_yticklabels()]]  # Δ rows only
    caption = figure._supxlabel.get_text()
    assert caption.replace("\n", " ") == " ".join(report.figure_caption(table))
    for said in ("± the sample standard deviation over seeds", "* p<0.05, ** p<0.01",
                 "Holm-corrected over the 3 tests", "† fewer seeds", "⚑ a run behind the number", "n/a: no run"):
        assert said in caption.replace("\n", " "), said
    assert imread(tmp_path / "heat.png").shape[:2] == (size[1], size[0])
    canvas = FigureCanvasAgg(figure)
    canvas.draw()  # laid out as when saved
    renderer = canvas.get_renderer()
    assert figure._supxlabel.get_window_extent(renderer).x1 <= size[0]  # no caption line runs off the figure

    one = hand_table(tests=1)
    one.cells[("mnli", "average")].flags = []
    caption = " ".join(report.figure_caption(one))
    assert "over the 1 test of this table" in caption and "⚑" not in caption  # only the marks shown
    untested = " ".join(report.figure_caption(hand_table(tests=0)))
    assert "No significance marks" in untested and "*" not in untested


def test_heatmap_falls_back_to_a_plain_flag_where_the_font_lacks_the_glyph(monkeypatch):
    monkeypatch.setattr(report, "FLAGGED", "\U0001F6A9")  # a flag emoji: DejaVu Sans has no glyph for it
    table = hand_table()
    texts = {text.get_text() for text in report.heatmap(table).axes[0].texts}
    assert "+2.2!\n± 1.3" in texts
    assert "! a run behind the number has a score that is no finding: one class." in " ".join(
        report.figure_caption(table))


# ---------------------------------------------------------------------------------- the HTML page


class _Cells(__import__("html.parser").parser.HTMLParser):
    """Every number cell of a page: its table's kind and target, its data-* attributes and its text."""

    def __init__(self):
        super().__init__()
        self.cells, self._table, self._cell, self.images = [], {}, None, []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table":
            self._table = attrs
        elif tag == "td" and "data-row" in attrs:
            self._cell = {**attrs, "table": self._table.get("class"), "target": self._table.get("data-target"),
                          "experiment": self._table.get("data-experiment"), "text": ""}
        elif tag == "img":
            self.images.append(attrs.get("src", ""))

    def handle_endtag(self, tag):
        if tag == "td" and self._cell is not None:
            self.cells.append(self._cell)
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell["text"] += data


def page_cells(text: str) -> _Cells:
    parser = _Cells()
    parser.feed(text)
    return parser


def test_html_numbers_are_the_json_reports_with_marks_and_n(store):
    result = invoke(store, "--format", "html", "--bootstrap", "300")
    assert result.exit_code == 0, result.output
    page = page_cells(result.stdout)
    assert "http://" not in result.stdout and "https://" not in result.stdout  # nothing fetched: it opens offline
    assert page.images and all(src.startswith("data:image/png;base64,") for src in page.images)
    doc = as_json(store, "--bootstrap", "300")
    (table,) = doc["tables"]
    matrix = [c for c in page.cells if c["table"] == "matrix"]
    assert len(matrix) == len(table["cells"])
    for cell in table["cells"]:
        (shown,) = [c for c in matrix if (c["data-row"], c["data-column"]) == (cell["row"], cell["column"])]
        stat = cell[cell["shown"]]
        assert float(shown["data-mean"]) == stat["mean"] and shown["data-shown"] == cell["shown"]
        assert shown["text"].split(" ")[0].replace("−", "-").lstrip("+") == f"{stat['mean']:.2f}".lstrip("+")
        assert (shown.get("data-p-holm") is None) == (cell["p_holm"] is None)
        if cell["marker"]:
            assert cell["marker"] in shown["text"]
    assert any("**" in c["text"] for c in matrix)  # `strong` is significant
    for target in ("pawsx", "xnli"):  # every target's languages, with the examples behind each number
        languages = as_json(store, "--target", target, "--bootstrap", "300")["tables"][0]
        drilled = [c for c in page.cells if c["table"] == "languages" and c["target"] == target]
        assert len(drilled) == len(languages["cells"])
        for cell in languages["cells"]:
            (shown,) = [c for c in drilled if (c["data-row"], c["data-column"]) == (cell["row"], cell["column"])]
            assert float(shown["data-mean"]) == cell[cell["shown"]]["mean"]
            assert cell["examples"] is None and "data-examples" not in shown  # records without n (hand-written)


def _chromium() -> str:
    import os

    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is missing: .ci/run installs Debian's chromium package before the suite")
        pytest.skip("chromium is not installed (apt-get install -y chromium): the page is checked without a browser")
    return found


def _open(browser: str, page: Path, *extra: str) -> subprocess.CompletedProcess:
    """Headless Chromium on a local page; stderr carries every console message as an INFO:CONSOLE line."""
    return subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr", "--v=0",
                           "--user-data-dir=" + str(page.parent / "chromium-profile"), *extra, page.as_uri()],
                          capture_output=True, text=True, timeout=120)


@pytest.mark.slow
def test_the_html_page_renders_in_chromium_with_the_json_reports_numbers(smoke_grid, tmp_path):
    browser = _chromium()
    # the check itself: a page with a script error is caught
    broken = tmp_path / "broken.html"
    broken.write_text("<html><body><script>missing_function();</script></body></html>", encoding="utf-8")
    assert "CONSOLE" in _open(browser, broken, "--dump-dom").stderr

    result = invoke(smoke_grid, "--format", "html", "--bootstrap", "200")
    assert result.exit_code == 0, result.output
    page = tmp_path / "report.html"
    page.write_text(result.stdout, encoding="utf-8")
    opened = _open(browser, page, "--dump-dom")
    assert opened.returncode == 0, opened.stderr[-2000:]
    console = [line for line in opened.stderr.splitlines() if ":CONSOLE" in line]
    assert console == []
    rendered = opened.stdout
    assert 'data-loaded="yes"' in rendered and 'class="broken"' not in rendered  # every figure decoded
    cells = page_cells(rendered)
    doc = as_json(smoke_grid, "--bootstrap", "200")
    (table,) = doc["tables"]
    matrix = {(c["data-row"], c["data-column"]): c for c in cells.cells if c["table"] == "matrix"}
    assert set(matrix) == {(c["row"], c["column"]) for c in table["cells"]}
    for cell in table["cells"]:
        stat = cell[cell["shown"]]
        assert float(matrix[(cell["row"], cell["column"])]["data-mean"]) == stat["mean"]
        assert "⚑" in matrix[(cell["row"], cell["column"])]["text"]  # the tiny model learns nothing: flagged
    assert "learning curves" in rendered.lower() and "settings and versions" in rendered
    for target in ("pawsx", "xnli"):  # each language's number with the test examples behind it
        languages = as_json(smoke_grid, "--target", target, "--bootstrap", "200")["tables"][0]
        drilled = {(c["data-row"], c["data-column"]): c for c in cells.cells
                   if c["table"] == "languages" and c["target"] == target}
        assert set(drilled) == {(c["row"], c["column"]) for c in languages["cells"]}
        for cell in languages["cells"]:
            shown = drilled[(cell["row"], cell["column"])]
            assert float(shown["data-mean"]) == cell[cell["shown"]]["mean"]
            assert int(shown["data-examples"]) == cell["examples"] > 0 and f"n={cell['examples']}" in shown["text"]
    shot = tmp_path / "report.png"
    taken = _open(browser, page, f"--screenshot={shot}", "--window-size=1280,2400")
    assert taken.returncode == 0 and shot.is_file()
    from matplotlib.image import imread

    pixels = imread(shot)
    assert pixels.shape[:2] == (2400, 1280) and pixels.std() > 0.05  # something is drawn, not a blank page
