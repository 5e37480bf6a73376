"""scale: does the gain from English intermediate training depend on the model's size?

Grid: the backbones (``--models``, in increasing size: XLM-R Base, XLM-R Large and mBERT as a third
point by default; the smoke preset's ``tiny`` and ``tiny-large``) × intermediate tasks and the
baseline × reading comprehension (XQuAD, MLQA, TyDiQA-GoldP) and sequence labelling (UDPOS,
PAN-X; the smoke preset: UDPOS in English and German only).

Analysis: Δ against the baseline per model and target (seed spread, paired bootstrap,
Holm), and the interaction — the gain with the second model minus the gain with the first
(``--models`` order; default Large − Base) — with a 95 % bootstrap interval over test examples
(both gains computed on the same resampled test sets), and an interaction plot.
"""

from __future__ import annotations

import math

from harness.api import Study
from xharness_studies.common import delta_cells, delta_text, delta_vector, grid, installed, interval, plural, signed
from xharness_studies.figures import figure, finish_delta_axes, lines, save

TARGETS = ("xquad", "mlqa", "tydiqa", "udpos", "panx")
INTER = ("squad", "mnli", "hellaswag")
MODELS = ["xlm-roberta-base", "xlm-roberta-large", "bert-base-multilingual-cased"]


class Scale(Study):
    name = "scale"

    def grids(self, options, registry):
        # the smoke grid proves the recipe on one sequence-labelling target (span QA would triple its cost)
        targets = installed(registry, "target", ("udpos",) if options.smoke else TARGETS, options)
        inter = installed(registry, "intermediate", ("squad",) if options.smoke else INTER, options)
        if not targets or not inter:
            return []
        models, seeds = (["tiny", "tiny-large"], [1]) if options.smoke else (MODELS, [1, 2, 3])
        return [grid(options, inter=inter + ["none"], target=targets, models=models, seeds=seeds,
                     smoke_languages=["en", "de"])]

    def analyse(self, context):
        runs = context.runs()
        cells = delta_cells(runs)
        models = list(context.grids[0].models)
        present = [m for m in models if any(key[0] == m for key in cells)]
        targets = [t for t in context.grids[0].target if any(key[2] == t for key in cells)]
        inters = sorted({key[1] for key in cells})
        context.say("Δ: the target's score after the intermediate task minus without it, same model and seed "
                    "(mean ± sample std over seeds; p: paired bootstrap, Holm-corrected per model). Models in "
                    "the order given, smallest first.")
        context.say()
        for (model, inter, target), cell in sorted(cells.items()):
            context.number(f"delta/{model}/{inter}/{target}", cell["delta"], runs=cell["runs"] + cell["baseline_runs"],
                           std=cell["std"], seeds=cell["seeds"], p=cell["p"], p_holm=cell["p_holm"])
        for inter in inters:
            context.say(f"## {inter}")
            context.say()
            rows = []
            for model in present:
                row = [model]
                for target in targets:
                    row.append(delta_text(cells.get((model, inter, target))))
                rows.append(row)
            context.table(["model"] + targets, rows)
            if len(present) >= 2:
                small, large = present[0], present[1]
                context.say(f"Interaction: Δ with {large} minus Δ with {small} (95 % bootstrap interval over test "
                            f"examples):")
                context.say()
                rows = []
                for target in targets:
                    value, low, high, used = self._interaction(runs, small, large, inter, target)
                    if value is None:
                        rows.append([target, "n/a", "n/a"])
                        continue
                    context.number(f"interaction/{inter}/{target}", value, runs=used, models=[small, large],
                                   ci_low=low, ci_high=high)
                    rows.append([target, signed(value), f"[{low:+.2f}, {high:+.2f}]"])
                context.table(["target", f"Δ({large}) − Δ({small})", "95 % interval"], rows)
        self._reading(context)
        self._figure(context, cells, present, targets, inters)

    @staticmethod
    def _interaction(runs, small, large, inter, target):
        def pick(model, row):
            return [r for r in runs if r.model == model and r.inter == row and r.target == target]

        observed_small, vector_small = delta_vector(pick(small, inter), pick(small, "none"), target)
        observed_large, vector_large = delta_vector(pick(large, inter), pick(large, "none"), target)
        if observed_small is None or observed_large is None:
            return None, None, None, []
        low, high = interval(vector_large - vector_small)
        used = [r.folder.name for model in (small, large) for row in (inter, "none") for r in pick(model, row)]
        return observed_large - observed_small, low, high, used

    @staticmethod
    def _reading(context) -> None:
        context.say("## Reading")
        context.say()
        found = {k: v for k, v in context.numbers.items() if k.startswith("interaction/")}
        excluding = [k for k, v in found.items() if v["ci_low"] > 0 or v["ci_high"] < 0]
        context.say(f"- {plural(len(found), 'interaction')} estimated; {len(excluding)} "
                    f"{'has' if len(excluding) == 1 else 'have'} a 95 % interval that excludes 0"
                    + (f" ({', '.join(k.split('/', 1)[1] for k in excluding)})." if excluding else "."))
        context.say("- The interval covers test-set sampling only, not seed variance; with one seed per cell it "
                    "says nothing about training noise.")

    @staticmethod
    def _figure(context, cells, models, targets, inters) -> None:
        if not models or not cells:
            return
        for inter in inters:
            save(chart(cells, models, targets, inter), context.figure(f"scale-{inter}.png"))


def chart(cells, models: list[str], targets: list[str], inter: str):
    """The interaction plot: Δ of each target across the models (smallest first). Lines that lie on
    one another stay visible and say so; a legend only where there are several targets (one is
    named in the title)."""
    drawn = figure(5.0, 3.4)
    axis = drawn.subplots()
    series = [(target, [cells.get((m, inter, target), {}).get("delta", math.nan) for m in models])
              for target in targets]
    lines(axis, range(len(models)), [(t, v) for t, v in series if any(math.isfinite(x) for x in v)])
    axis.axhline(0, color="black", linewidth=0.6)
    axis.set_xticks(range(len(models)), models, fontsize=8)
    axis.set_xlim(-0.5, len(models) - 0.5)  # one model: its point in the middle, not on an axis edge
    finish_delta_axes(drawn, axis, f"Model size × intermediate training ({inter})")
    return drawn


STUDY = Scale()
