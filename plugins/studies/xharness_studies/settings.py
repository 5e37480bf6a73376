"""settings: does the gain from English intermediate training shrink as target-language data grows?

XTREME (Hu et al., 2020) reports translate-train-all beside zero-shot; Lauscher et al. (2020, "From
Zero to Hero") show that a few hundred target-language examples close much of the zero-shot gap;
Zhao et al. (2021) that which shots are drawn moves scores by several points. The question here is
whether intermediate training still pays once the target language has data of its own.

Grid: intermediate tasks and the baseline × the targets that have translations (PAWS-X, XNLI) ×
{zero-shot, translate-train-all, few-shot with K = 10, 100, 1000 and three shot draws} × three
seeds; the smoke preset: HellaSwag, PAWS-X in English and German, K = 8, two draws, one seed.
Phase 2 is trained once per intermediate task and seed, whatever the setting.

Analysis: for each setting, Δ against the baseline of the same setting (paired seed by seed and
draw by draw, Holm-corrected paired bootstrap; ``xharness report``'s numbers), the spread over shot
draws beside the spread over seeds, the gain against K (zero-shot at K = 0), and a reading computed
from those numbers.
"""

from __future__ import annotations

import math

from harness.api import Study
from xharness_studies.common import delta_text, grid, installed, plural, signed
from xharness_studies.figures import figure, finish_delta_axes, lines, save

TARGETS = ("pawsx", "xnli")
INTER = ("hellaswag", "mnli")
SHOTS = (10, 100, 1000)
SMOKE_SHOTS = (8,)
SETTINGS = ("zero-shot", "translate-train-all", "few-shot")


class Settings(Study):
    name = "settings"

    def grids(self, options, registry):
        targets = installed(registry, "target", ("pawsx",) if options.smoke else TARGETS, options)
        targets = [t for t in targets if t in registry.translations]  # translate-train-all needs translations
        inter = installed(registry, "intermediate", ("hellaswag",) if options.smoke else INTER, options)
        if not targets or not inter:
            return []
        shots, draws, seeds = (SMOKE_SHOTS, [1, 2], [1]) if options.smoke else (SHOTS, [1, 2, 3], [1, 2, 3])
        return [grid(options, inter=inter + ["none"], target=targets, models=[None],
                     seeds=seeds, smoke_languages=["en", "de"],
                     overrides={"transfer": list(SETTINGS), "shots": list(shots), "shot_seeds": draws})]

    def analyse(self, context):
        from harness.api import AVERAGE, build_report

        runs = context.runs()
        if not runs:
            context.say("No finished runs yet: nothing to analyse.")
            return
        report = build_report(runs, mode="delta", resamples=1000, seed=0, by_experiment=False)
        if report.left_out:
            from harness.api import UserError

            raise UserError(f"the study's runs cannot all be compared: {report.left_out[0]}")
        tasks = {run.inter: "+".join(run.record["intermediate_tasks"]) or "none" for run in runs}
        cells: dict[tuple[str, str, str], dict] = {}  # (setting, intermediate, target) -> Δ
        for table in report.tables:
            for (row, column), cell in table.cells.items():
                if row == "none" or cell.delta is None:
                    continue
                key = (table.setting, tasks.get(row, row), column)
                cells[key] = {"delta": cell.delta.mean, "std": cell.delta.std, "n": cell.delta.n, "p": cell.p,
                              "p_holm": cell.p_holm, "spread": cell.spread, "runs": cell.runs + cell.baseline_runs,
                              "flags": cell.flags}
                context.number(f"delta/{key[0]}/{key[1]}/{key[2]}", cell.delta.mean, runs=cell.runs + cell.baseline_runs,
                               std=cell.delta.std, n=cell.delta.n, p=cell.p, p_holm=cell.p_holm, spread=cell.spread)
        settings = [table.setting for table in report.tables]
        settings = list(dict.fromkeys(settings))
        inters = sorted({key[1] for key in cells})
        targets = [t for t in context.grids[0].target if any(key[2] == t for key in cells)] + [AVERAGE]
        context.say("Δ: the target's score after the intermediate task minus without it, in the same setting, "
                    "paired seed by seed (and shot draw by shot draw); mean ± sample std; p: paired bootstrap "
                    "over test examples, Holm-corrected per setting. Few-shot rows add the spread over shot "
                    "draws and over seeds.")
        context.say()
        for inter in inters:
            context.say(f"## {inter}")
            context.say()
            rows = []
            for setting in settings:
                row = [setting]
                for target in targets:
                    cell = cells.get((setting, inter, target))
                    text = delta_text(cell)
                    spread = cell["spread"] if cell is not None else None
                    if spread and spread["std_over_draws"] is not None:
                        seeds = "-" if spread["std_over_seeds"] is None else f"±{spread['std_over_seeds']:.2f}"
                        text += f"; draws ±{spread['std_over_draws']:.2f}, seeds {seeds}"
                    if cell is not None and cell["flags"]:
                        text += " ⚑"
                    row.append(text)
                rows.append(row)
            context.table(["setting"] + targets, rows)
        self._reading(context, cells, inters, settings, AVERAGE)
        for inter in inters:
            drawn = chart(cells, inter, settings, targets)
            if drawn is not None:
                save(drawn, context.figure(f"settings-{inter}.png"))

    @staticmethod
    def _reading(context, cells, inters, settings, average) -> None:
        context.say("## Reading")
        context.say()
        for inter in inters:
            curve = gain_by_shots(cells, inter, settings, average)
            if len(curve) < 2:
                context.say(f"- {inter}: fewer than two settings on the shots axis; no trend to read.")
                continue
            (first_k, first), (last_k, last) = curve[0], curve[-1]
            context.number(f"trend/{inter}", last - first, first_shots=first_k, last_shots=last_k)
            change = (f"it shrinks by {first - last:.2f} points" if last < first else
                      f"it grows by {last - first:.2f} points" if last > first else "it does not change")
            context.say(f"- {inter}: the gain averaged over the targets is {signed(first)} points at K={first_k} and "
                        f"{signed(last)} at K={last_k}: {change} as target-language data grows.")
            tested = [key for key in cells if key[1] == inter and key[2] != average and cells[key]["p_holm"] is not None]
            significant = [key for key in tested if cells[key]["p_holm"] < 0.05]
            context.say(f"  {plural(len(significant), 'Δ')} of {len(tested)} tested "
                        f"{'is' if len(significant) == 1 else 'are'} significant (p<0.05, Holm within a setting).")
            full = cells.get(("translate-train-all", inter, average))
            if full is not None:
                context.say(f"  With every translation of the training data (translate-train-all) the gain is "
                            f"{signed(full['delta'])}.")
        flagged = sorted({flag for cell in cells.values() for flag in cell["flags"]})
        if flagged:
            count = sum(bool(cell["flags"]) for cell in cells.values())
            context.say(f"- ⚑ {plural(count, 'number')} of {len(cells)} rest on runs whose scores are no finding "
                        f"({', '.join(flagged)}): their Δ says nothing about transfer.")
        context.say("- The spread over shot draws is a cell's std over draws of the draws' means over seeds; with "
                    "one seed the spread over seeds is not estimated.")


def shots_of(setting: str) -> int | None:
    """K of a setting on the shots axis: 0 for zero-shot, K for few-shot (K=…), None for the others."""
    if setting == "zero-shot":
        return 0
    if setting.startswith("few-shot (K="):
        return int(setting[len("few-shot (K="):-1])
    return None


def gain_by_shots(cells, inter: str, settings, column: str) -> list[tuple[int, float]]:
    points = []
    for setting in settings:
        k = shots_of(setting)
        cell = cells.get((setting, inter, column))
        if k is not None and cell is not None:
            points.append((k, cell["delta"]))
    return sorted(points)


def chart(cells, inter: str, settings, targets):
    """Gain against K (zero-shot at K = 0, on a symmetric log axis), a line per target; translate-train-all,
    which has all of the translated training data, as a dotted level of the same colour."""
    series = []
    ks = sorted({k for s in settings if (k := shots_of(s)) is not None})
    if len(ks) < 2:
        return None
    if len(targets) == 2:  # one target and its average: the same line twice
        targets = targets[:1]
    for target in targets:
        by_k = dict(gain_by_shots(cells, inter, settings, target))
        series.append((target, [by_k.get(k, math.nan) for k in ks]))
    series = [(t, v) for t, v in series if any(math.isfinite(x) for x in v)]
    if not series:
        return None
    drawn = figure(5.2, 3.4)
    axis = drawn.subplots()
    lines(axis, ks, series)
    colours = {line.get_label(): line.get_color() for line in axis.get_lines()}
    for target, _ in series:
        full = cells.get(("translate-train-all", inter, target))
        if full is not None:
            axis.axhline(full["delta"], color=colours.get(target, "grey"), linestyle=":", linewidth=1,
                         label=f"{target}, translate-train-all")
    axis.axhline(0, color="black", linewidth=0.6)
    axis.set_xscale("symlog", linthresh=max(1, ks[1]))
    axis.set_xticks(ks, [str(k) for k in ks], fontsize=8)
    axis.margins(x=0.06)
    axis.set_xlabel("target-language examples per language (K; 0: zero-shot)", fontsize=9)
    finish_delta_axes(drawn, axis, f"Gain from {inter} as target-language data grows")
    return drawn


STUDY = Settings()
