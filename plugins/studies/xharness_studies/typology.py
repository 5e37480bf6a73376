"""typology: typological distance from English vs zero-shot degradation on XTREME-R retrieval.

Grid: the baseline and intermediate tasks × XTREME-R's retrieval targets where installed
(Tatoeba on its 41 languages, LAReQA, Mewsli-X), with ``--languages xtreme-r``.

Degradation of a language (recorded with every number):

* a target with an English test set (LAReQA, Mewsli-X): the English score minus the language's;
* Tatoeba, which retrieves *into* English and so has no English test: 100 minus the language's
  accuracy — how far it falls short of perfect retrieval.

Distances from English come from URIEL through urielplus (``xharness_studies.uriel``: syntactic,
phonological, inventory, genetic, geographic, featural; a language it lacks for a type is left
out of that type's correlation and named). Analysis: Spearman and Pearson correlation between
distance and degradation over languages, with 95 % bootstrap intervals over languages
(``harness.api.correlate``), for the baseline and for each intermediate task; scatter plots with the
fitted line and language labels.
"""

from __future__ import annotations

import statistics

from harness.api import Study
from xharness_studies.common import grid, installed, plural
from xharness_studies.figures import MARKERS, distinct_labels, figure, place_labels, save

TARGETS = ("tatoeba", "lareqa", "mewslix")
INTER = ("squad", "mnli", "hellaswag")
METHODS = ("spearman", "pearson")


def degradation_rule(target_languages) -> str:
    return "en_minus_language" if "en" in target_languages else "100_minus_score"


def degradations(runs) -> tuple[dict[str, float], str, list[str]]:
    """language → degradation of the mean score over seeds; the rule used; the run folders."""
    per_language: dict[str, list[float]] = {}
    for run in runs:
        for lang, value in run.record["scores"]["per_language"].items():
            if value is not None:
                per_language.setdefault(lang, []).append(value)
    scores = {lang: statistics.fmean(values) for lang, values in per_language.items()}
    rule = degradation_rule(scores)
    if rule == "en_minus_language":
        result = {lang: scores["en"] - value for lang, value in scores.items() if lang != "en"}
    else:
        result = {lang: 100.0 - value for lang, value in scores.items()}
    return result, rule, [run.folder.name for run in runs]


class Typology(Study):
    name = "typology"

    def grids(self, options, registry):
        targets = installed(registry, "target", ("tatoeba",) if options.smoke else TARGETS, options)
        inter = installed(registry, "intermediate", ("squad",) if options.smoke else INTER, options)
        if not targets:
            return []
        models, seeds = (["tiny"], [1]) if options.smoke else (["xlm-roberta-large"], [1, 2, 3])
        return [grid(options, inter=inter + ["none"], target=targets, models=models, seeds=seeds,
                     languages=["xtreme-r"])]

    def analyse(self, context):
        from harness.api import correlate, fit_line
        from xharness_studies import uriel

        runs = context.runs()
        context.number("uriel", uriel.provenance())
        context.say("Degradation: for a target with an English test set, the English score minus the language's; "
                    "for Tatoeba (no English test), 100 minus the language's accuracy. Distances from English: URIEL "
                    "via urielplus. Correlations over languages; intervals: 95 % percentile bootstrap over "
                    "languages (2,000 resamples, seed 0).")
        context.say()
        scatter: dict[tuple[str, str, str], tuple[list[str], list[float], list[float]]] = {}
        for model in sorted({r.model for r in runs}):
            for target in sorted({r.target for r in runs if r.model == model}):
                rows = sorted({r.inter for r in runs if r.model == model and r.target == target},
                              key=lambda row: (row != "none", row))
                context.say(f"## {target} · {model}")
                context.say()
                table = []
                for row in rows:
                    chosen = [r for r in runs if r.model == model and r.target == target and r.inter == row]
                    drop, rule, folders = degradations(chosen)
                    context.number(f"degradation/{model}/{target}/{row}", drop, runs=folders, rule=rule)
                    langs = sorted(drop)
                    distance = uriel.distances(langs)
                    lacking = uriel.missing(langs)
                    if lacking:
                        context.number(f"missing/{model}/{target}/{row}", lacking)
                    for kind in uriel.DISTANCES:
                        usable = [lang for lang in langs if distance[kind].get(lang) is not None]
                        x = [distance[kind][lang] for lang in usable]
                        y = [drop[lang] for lang in usable]
                        scatter[(model, target, row, kind)] = (usable, x, y)
                        cells = [row, kind, len(usable)]
                        for method in METHODS:
                            result = correlate(x, y, method=method)
                            context.number(f"correlation/{model}/{target}/{row}/{kind}/{method}", result["r"],
                                           runs=folders, languages=usable, p=result["p"], ci_low=result["ci_low"],
                                           ci_high=result["ci_high"], n=result["n"], reason=result["reason"])
                            cells.append(self._text(result))
                        if len(usable) >= 2 and len(set(x)) > 1:
                            slope, intercept = fit_line(x, y)
                            context.number(f"line/{model}/{target}/{row}/{kind}", [slope, intercept], runs=folders)
                        table.append(cells)
                context.table(["intermediate", "distance", "languages", "Spearman ρ [95 % CI]", "Pearson r [95 % CI]"],
                              table)
                if lacking:  # the same languages in every row of a target
                    context.say("URIEL lacks: " + "; ".join(f"{lang} ({why})" for lang, why in sorted(lacking.items())))
                    context.say()
        self._reading(context)
        self._figures(context, scatter)

    @staticmethod
    def _text(result) -> str:
        if result["r"] is None:
            return f"n/a ({result['reason']})"
        if result["ci_low"] is None:
            return f"{result['r']:+.2f}"
        return f"{result['r']:+.2f} [{result['ci_low']:+.2f}, {result['ci_high']:+.2f}]"

    @staticmethod
    def _reading(context) -> None:
        context.say("## Reading")
        context.say()
        found = [(k, v) for k, v in context.numbers.items() if k.startswith("correlation/") and k.endswith("/spearman")
                 and v["value"] is not None and v["ci_low"] is not None]
        excluding = [k for k, v in found if v["ci_low"] > 0 or v["ci_high"] < 0]
        context.say(f"- {plural(len(found), 'Spearman correlation')} estimated; {len(excluding)} "
                    f"{'has' if len(excluding) == 1 else 'have'} a 95 % interval that "
                    f"excludes 0" + (f": {', '.join(k.split('/', 1)[1].rsplit('/', 1)[0] for k in excluding)}."
                                      if excluding else "."))
        context.say("- A correlation over languages is not a causal effect of typology: the languages differ in "
                    "pretraining data and script too. Genetic distance from English is nearly binary "
                    "(Indo-European or not), so it has many ties.")

    @staticmethod
    def _figures(context, scatter) -> None:
        for model, target in sorted({(m, t) for m, t, _, _ in scatter}):
            save(chart(scatter, model, target), context.figure(f"typology-{target}-{model.replace('/', '_')}.png"))


def chart(scatter, model: str, target: str):
    """One panel per distance type: each row's languages (distance, degradation) and fitted line;
    the baseline's points labelled with their language, no two labels overlapping. A legend only
    where several rows are drawn (one row is named in the title)."""
    from matplotlib.text import Text

    from harness.api import fit_line
    from xharness_studies import uriel

    rows = sorted({r for m, t, r, _ in scatter if (m, t) == (model, target)}, key=lambda r: (r != "none", r))
    drawn = figure(12, 7.4)
    panels = drawn.subplots(2, 3)
    for axis, kind in zip(panels.flat, uriel.DISTANCES):
        for index, row in enumerate(rows):
            langs, x, y = scatter[(model, target, row, kind)]
            # the baseline filled, later rows hollow and larger, each in its own shape, on top: a
            # language whose degradation an intermediate task left unchanged shows both points
            colour = f"C{index}"
            axis.scatter(x, y, s=22 if index == 0 else 40, marker=MARKERS[index % len(MARKERS)], label=row,
                         facecolors=colour if index == 0 else "none", edgecolors=colour, linewidths=0.9,
                         zorder=3 + index)
            if len(x) >= 2 and len(set(x)) > 1:
                slope, intercept = fit_line(x, y)
                ends = [min(x), max(x)]
                axis.plot(ends, [slope * e + intercept for e in ends], color=f"C{index}", linewidth=1)
        axis.margins(0.12)  # room for the labels of the outermost points
        axis.set_title(kind, fontsize=9)
        axis.set_xlabel("angular distance from English (URIEL; 0 = same)", fontsize=8)
        axis.set_ylabel("degradation (points)", fontsize=8)
    handles, labels = distinct_labels(panels.flat)
    lone = f" · {labels[0]}" if len(labels) == 1 else ""
    drawn.suptitle(f"Typological distance vs zero-shot degradation · {target} · {model}{lone}", x=0.01, ha="left")
    if len(labels) > 1:  # above the panels, where it covers no point and no label
        drawn.legend(handles, labels, loc="upper right", ncol=len(labels), fontsize=8, frameon=False)
    drawn.tight_layout(rect=(0, 0, 1, 0.96))
    # labels last: they are placed in pixels of the final layout, away from those of every panel
    renderer = drawn.canvas.get_renderer()
    taken = [legend.get_window_extent(renderer) for legend in drawn.legends]
    if "none" in rows:
        for axis, kind in zip(panels.flat, uriel.DISTANCES):
            langs, x, y = scatter[(model, target, "none", kind)]
            for label in place_labels(axis, list(zip(x, y)), langs, avoid=taken, gap=7.5, marker=4.5):
                taken.append(Text.get_window_extent(label, renderer))
    return drawn


STUDY = Typology()
