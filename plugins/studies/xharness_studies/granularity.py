"""granularity: intermediate-task granularity vs zero-shot transfer on retrieval.

Grids: every installed intermediate task that declares a granularity (token, span, pair,
choice), plus the baseline ``none``, × the installed retrieval targets (Tatoeba, BUCC, and
XTREME-R's LAReQA and Mewsli-X where installed); and the same with multilingual intermediate
data — the tasks that have machine-translated training data, trained on all their translations
together with English (``--translated all``). Analysis: Δ against the baseline per intermediate
task and target (seed spread, paired bootstrap, Holm: ``xharness report``'s numbers), the mean Δ
of each granularity group, English-only beside multilingual, and a grouped bar chart.
"""

from __future__ import annotations

import math
import statistics

from harness.api import Study
from xharness_studies.common import delta_cells, grid, installed, plural, pvalue_text, signed
from xharness_studies.figures import DELTA_UNITS, ZERO, figure, legend, lone_label, save, signed_ticks

GROUPS = ("token", "span", "pair", "choice")
RETRIEVAL = ("tatoeba", "bucc2018", "lareqa", "mewslix")
#: The smoke preset's small grid (it proves the recipe, not a finding): a span- and a pair-level
#: task, Tatoeba in two languages; its multilingual grid trains them on two translations, not all.
SMOKE_INTER = ("squad", "mnli")
SMOKE_TARGETS = ("tatoeba",)


class Granularity(Study):
    name = "granularity"

    def grids(self, options, registry):
        inter_table = registry.tasks["intermediate"]
        candidates = SMOKE_INTER if options.smoke else sorted(
            name for name, item in inter_table.items() if item.spec.granularity in GROUPS)
        inter = installed(registry, "intermediate", candidates, options)
        targets = installed(registry, "target", SMOKE_TARGETS if options.smoke else RETRIEVAL, options)
        if not inter or not targets:
            return []
        models, seeds = (["tiny"], [1]) if options.smoke else (["xlm-roberta-large"], [1, 2, 3])
        grids = [grid(options, inter=inter + ["none"], target=targets, models=models, seeds=seeds,
                      smoke_languages=["de", "es"])]
        multilingual = [name for name in inter if inter_table[name].spec.translated_train]
        if multilingual:
            grids.append(grid(options, inter=multilingual + ["none"], target=targets, models=models, seeds=seeds,
                              overrides={"translated": "de,es" if options.smoke else "all"},
                              smoke_languages=["de", "es"]))
        return grids

    def analyse(self, context):
        registry = context.registry
        granularity = {name: item.spec.granularity for name, item in registry.tasks["intermediate"].items()}
        variants = {"english": delta_cells(context.runs(0))}
        if len(context.grids) > 1:
            variants["multilingual"] = delta_cells(context.runs(1))
        context.say("Δ is the change in the target's score against the no-intermediate baseline of the same model "
                    "and seed (mean ± sample std over seeds); p is the paired bootstrap over test examples, "
                    "Holm-corrected within each table, as `xharness report` computes it.")
        context.say()
        for variant, cells in variants.items():
            for (model, inter, target), cell in sorted(cells.items()):
                context.number(f"delta/{variant}/{model}/{inter}/{target}", cell["delta"],
                               runs=cell["runs"] + cell["baseline_runs"], std=cell["std"], seeds=cell["seeds"],
                               p=cell["p"], p_holm=cell["p_holm"], granularity=granularity.get(inter))
        models = sorted({model for cells in variants.values() for model, _, _ in cells})
        targets = sorted({target for cells in variants.values() for _, _, target in cells})
        groups: dict[tuple[str, str, str, str], float] = {}
        for model in models:
            context.say(f"## {model}")
            context.say()
            header = ["intermediate", "granularity", "data"] + targets
            rows = []
            for variant, cells in variants.items():
                for inter in sorted({i for m, i, _ in cells if m == model}):
                    row = [inter, granularity.get(inter) or "-", variant]
                    for target in targets:
                        cell = cells.get((model, inter, target))
                        if cell is None:
                            row.append("n/a")
                            continue
                        spread = f" ± {cell['std']:.2f}" if cell["std"] is not None else ""
                        row.append(f"{signed(cell['delta'])}{spread} (n={len(cell['seeds'])}, {pvalue_text(cell['p_holm'])})")
                    rows.append(row)
            context.table(header, rows)
            group_rows = []
            for variant, cells in variants.items():
                for group in GROUPS:
                    row = [group, variant]
                    for target in targets:
                        members = [c for (m, i, t), c in cells.items()
                                   if m == model and t == target and granularity.get(i) == group]
                        if not members:
                            row.append("n/a")
                            continue
                        value = statistics.fmean(c["delta"] for c in members)
                        groups[(model, variant, group, target)] = value
                        context.number(f"group/{variant}/{model}/{group}/{target}", value,
                                       runs=[r for c in members for r in c["runs"] + c["baseline_runs"]],
                                       tasks=sorted(i for (m, i, t) in cells if m == model and t == target
                                                    and granularity.get(i) == group))
                        row.append(f"{signed(value)} ({plural(len(members), 'task')})")
                    group_rows.append(row)
            context.say("Mean Δ of each granularity group (the mean of its tasks' Δ):")
            context.say()
            context.table(["granularity", "data"] + targets, group_rows)
        self._reading(context, variants)
        self._figure(context, groups, models, targets, list(variants))

    @staticmethod
    def _reading(context, variants) -> None:
        context.say("## Reading")
        context.say()
        for variant, cells in variants.items():
            significant = [(k, c) for k, c in cells.items() if c["p_holm"] is not None and c["p_holm"] < 0.05]
            tested = [c for c in cells.values() if c["p_holm"] is not None]
            if not cells:
                continue
            best = max(cells.items(), key=lambda kc: kc[1]["delta"])
            worst = min(cells.items(), key=lambda kc: kc[1]["delta"])
            context.say(f"- {variant} intermediate data: {plural(len(cells), 'Δ cell')}, {len(tested)} tested, "
                        f"{len(significant)} significant after Holm (p < 0.05). Largest Δ {signed(best[1]['delta'])} "
                        f"({best[0][1]} → {best[0][2]}, {best[0][0]}); smallest {signed(worst[1]['delta'])} "
                        f"({worst[0][1]} → {worst[0][2]}).")
        context.say("- Differences that are not significant are not evidence of an effect of granularity; with "
                    "one seed (the smoke preset's) the spread over seeds is unknown.")

    @staticmethod
    def _figure(context, groups, models, targets, variants) -> None:
        for model in models:
            if any(key[0] == model for key in groups):
                save(chart(groups, model, targets, variants),
                     context.figure(f"granularity-{model.replace('/', '_')}.png"))


def chart(groups, model: str, targets: list[str], variants: list[str]):
    """Grouped bars: the mean Δ of each granularity group (hatched: multilingual intermediate
    data) per target. Only groups with a number are drawn and named; a Δ of exactly 0 is drawn as
    a stroke on the zero line, so "no change" is not mistaken for "no number". A legend only where
    it tells bars apart (one group is named in the title); when every Δ is 0 there is nothing to tell
    apart: no bars, no legend, and a note saying so."""
    slots = [(variant, group) for variant in variants for group in GROUPS
             if any(math.isfinite(groups.get((model, variant, group, t), math.nan)) for t in targets)]
    drawn = figure(max(5.0, 1.6 * len(targets) * len(variants)), 3.6)
    axis = drawn.subplots()
    width = 0.8 / max(1, len(slots))
    every = [groups[(model, v, g, t)] for v, g in slots for t in targets if (model, v, g, t) in groups]
    flat = all(abs(value) < ZERO for value in every)
    for index, (variant, group) in enumerate(slots):
        values = [groups.get((model, variant, group, target), math.nan) for target in targets]
        positions = [t + (index - (len(slots) - 1) / 2) * width for t in range(len(targets))]
        style = {"color": f"C{GROUPS.index(group)}", "label": None if flat else f"{group} ({variant})"}
        axis.bar(positions, values, width, hatch="//" if variant == "multilingual" else None, edgecolor="black",
                 linewidth=0.4, **style)
        zeros = [p for p, v in zip(positions, values) if abs(v) < ZERO]
        if zeros and not flat:  # a bar of height 0 is invisible: a stroke in its colour marks the number
            axis.hlines([0.0] * len(zeros), [p - width / 2 for p in zeros], [p + width / 2 for p in zeros],
                        color=style["color"], linewidth=3, zorder=3)
    axis.axhline(0, color="black", linewidth=0.6)
    axis.set_xticks(range(len(targets)), targets)
    signed_ticks(axis.yaxis)
    axis.set_ylabel(f"Δ against no intermediate task ({DELTA_UNITS})")
    title = f"Granularity of the intermediate task · {model}"
    if flat:
        axis.text(0.5, 0.8, f"every Δ is 0: no group changed the score ({plural(len(slots), 'group')}, "
                  f"{plural(len(targets), 'target')})", transform=axis.transAxes, ha="center", fontsize=8)
        axis.set_ylim(-1, 1)  # a flat line in the middle, not at the edge of an arbitrary range
    elif legend(axis, fontsize=7, ncol=2) is None and (lone := lone_label([axis])) is not None:
        title += f" · {lone}"
    axis.set_title(title)
    drawn.tight_layout()
    return drawn


STUDY = Granularity()
