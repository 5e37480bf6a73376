"""alignment: what English intermediate training does to cross-lingual alignment, layer by layer.

Grid: the baseline and intermediate tasks × Tatoeba: the cells give the intermediate-trained
encoders (phase 2) and the Tatoeba accuracy at the default layer. Analysis: for the pretrained
encoder and every intermediate-trained one, on the same Tatoeba test pairs the runs used,
recall@1/5/10 at every layer from one forward pass with all hidden states
(``harness.api.layer_profile``), and a measure that is not retrieval — the mean cosine of translation
pairs minus that of all other pairs — per layer; the best layer per encoder; Δ at the default
layer against the pretrained encoder; curves. Pooling, maximum length and batch size are the
runs' own, so recall@1 at the default layer is the run's accuracy (checked, and recorded).
"""

from __future__ import annotations

import statistics

from harness.api import Study
from xharness_studies.common import grid, installed, plural
from xharness_studies.figures import figure, integer_ticks, legend, lines, lone_label, percent_ticks, save

INTER = ("squad", "mnli", "hellaswag")


class Alignment(Study):
    name = "alignment"

    def grids(self, options, registry):
        targets = installed(registry, "target", ("tatoeba",), options)
        inter = installed(registry, "intermediate", ("squad", "mnli") if options.smoke else INTER, options)
        if not targets or not inter:
            return []
        models, seeds = (["tiny"], [1]) if options.smoke else (["xlm-roberta-large"], [1, 2, 3])
        return [grid(options, inter=inter + ["none"], target=targets, models=models, seeds=seeds,
                     smoke_languages=["de", "es"])]

    def analyse(self, context):
        from harness.api import layer_profile, plan_task_data, load_backbone, Reporter, make_accelerator, after_load

        # the settings a run here resolves to, so embeddings are computed as the runs computed theirs
        accelerator, speed = make_accelerator()
        reporter = Reporter(False)
        runs = context.runs()
        cells = {cell.run_dir.name: cell for cells in context.cells for cell in cells if cell.run_dir is not None}
        data = None
        curves: dict[tuple[str, str], list[list[float]]] = {}
        gaps: dict[tuple[str, str], list[list[float]]] = {}
        at_default: dict[tuple[str, str], list[float]] = {}
        others: dict[tuple[str, str, str], list[list[float]]] = {}
        for model in sorted({r.model for r in runs}):
            mine = sorted((r for r in runs if r.model == model), key=lambda r: (r.inter != "none", r.inter, r.seed))
            for run in mine:
                settings = run.record["hyperparameters"]["target"]
                layer = run.record["phases"]["target"]["layer"]
                langs = list(run.record["languages"])
                if data is None or data.needs != [("test", lang) for lang in langs]:
                    data = plan_task_data(context.registry.task("target", "tatoeba"), [("test", l) for l in langs],
                                          source=run.record["data_source"], data_dir=context.options.data_dir)
                pairs = {lang: ([p["source"] for p in data.load("test", lang)], [p["target"] for p in data.load("test", lang)])
                         for lang in langs}
                if run.inter == "none":
                    location = run.record["model"]["location"]
                    revision = run.record["model"].get("revision")
                    encoder_name = "pretrained"
                else:
                    location, revision = str(cells[run.folder.name].inter_folder / "encoder"), None
                    encoder_name = run.inter
                tokenizer, encoder = load_backbone(location, revision, speed)
                encoder_speed = after_load(speed, encoder)
                encoder = accelerator.prepare_model(encoder, evaluation_mode=True)
                profile = layer_profile(accelerator, encoder, tokenizer, pairs, pooling=settings["pooling"],
                                        batch_size=int(settings["per_device_batch_size"]) * 2,
                                        max_length=int(settings["max_length"]), reporter=reporter,
                                        speed=encoder_speed)
                key = f"{model}/{encoder_name}/seed{run.seed}"
                context.number(f"profile/{key}", profile, runs=[run.folder.name], default_layer=layer)
                recall_default = {lang: p["recall"]["1"][layer] for lang, p in profile["per_language"].items()}
                context.number(f"check/{key}", {"recall_at_1_default_layer": recall_default,
                                                "run_accuracy": run.record["scores"]["per_language"]},
                               runs=[run.folder.name], layer=layer)
                for task, measured in self._other_tasks(context, accelerator, encoder, tokenizer, settings, run,
                                                        encoder_speed):
                    context.number(f"retrieval/{key}/{task}", measured, runs=[run.folder.name], default_layer=layer)
                    others.setdefault((model, encoder_name, task), []).append(measured["mean"]["1"])
                curves.setdefault((model, encoder_name), []).append(profile["mean_recall_at_1"])
                gaps.setdefault((model, encoder_name), []).append(
                    [statistics.fmean(p["gap"][i] for p in profile["per_language"].values())
                     for i in range(profile["num_layers"] + 1)])
                at_default.setdefault((model, encoder_name), []).append(statistics.fmean(recall_default.values()))
        self._tables(context, curves, at_default, runs)
        self._other_table(context, others)
        self._figures(context, curves, gaps)

    @staticmethod
    def _other_tasks(context, accelerator, encoder, tokenizer, settings, run, speed=None):
        """Recall@1/5/10 by layer on BUCC (gold pairs among the distractors) and LAReQA (a question's
        answer sentences in every language, pooled), where installed and readable, with the same
        pooling, length and batch size as the Tatoeba run. Yields (task, JSON-ready result)."""
        from harness.api import embed_all_layers, set_recall_by_layer, plan_task_data, Reporter
        from xharness_studies.common import readable

        options = {"pooling": settings["pooling"], "batch_size": int(settings["per_device_batch_size"]) * 2,
                   "max_length": int(settings["max_length"]), "reporter": Reporter(False), "speed": speed}
        table = context.registry.tasks["target"]
        for task in ("bucc2018", "lareqa"):
            if task not in table or not readable(table[task], context.options):
                continue
            spec = table[task].spec
            langs = list(spec.languages)
            data = plan_task_data(table[task], [("test", lang) for lang in langs], source=run.record["data_source"],
                                  data_dir=context.options.data_dir)
            per_language = {}
            if task == "bucc2018":
                for lang in langs:
                    (corpus,) = data.load("test", lang)
                    if not corpus["gold"]:
                        continue
                    position = {ident: i for i, (ident, _) in enumerate(corpus["target"])}
                    sources = {ident: text for ident, text in corpus["source"]}
                    gold = [(s, t) for s, t in corpus["gold"] if s in sources and t in position]
                    queries = embed_all_layers(accelerator, encoder, tokenizer, [sources[s] for s, _ in gold],
                                               description=f"bucc {lang}", **options)
                    candidates = embed_all_layers(accelerator, encoder, tokenizer, [t for _, t in corpus["target"]],
                                                  description=f"bucc {lang}-en", **options)
                    per_language[lang] = set_recall_by_layer(queries, candidates, [{position[t]} for _, t in gold])
            else:
                pool = [e for lang in langs for e in data.load("test", lang) if "candidate" in e and "query" not in e]
                index: dict[str, int] = {}
                texts = []
                for example in pool:
                    if example["id"] not in index:
                        index[example["id"]] = len(texts)
                        texts.append(example["candidate"])
                by_key: dict[str, set[int]] = {}
                for example in pool:
                    for key in example.get("answers", ()):
                        by_key.setdefault(key, set()).add(index[example["id"]])
                candidates = embed_all_layers(accelerator, encoder, tokenizer, texts, description="lareqa pool",
                                              **options)
                for lang in langs:
                    asked = [e for e in data.load("test", lang) if "query" in e]
                    queries = embed_all_layers(accelerator, encoder, tokenizer, [e["query"] for e in asked],
                                               description=f"lareqa {lang}", **options)
                    per_language[lang] = set_recall_by_layer(queries, candidates,
                                                             [by_key.get(e.get("key"), set()) for e in asked])
            if not per_language:
                continue
            layers = sorted(next(iter(per_language.values())))
            ks = sorted(next(iter(per_language.values()))[layers[0]])
            result = {"per_language": {lang: {str(k): [r[layer][k] for layer in layers] for k in ks}
                                       for lang, r in per_language.items()},
                      "mean": {str(k): [statistics.fmean(r[layer][k] for r in per_language.values())
                                        for layer in layers] for k in ks}}
            yield task, result

    @staticmethod
    def _other_table(context, others) -> None:
        if not others:
            return
        context.say("Other retrieval tasks (BUCC: a sentence's gold translation among all English sentences, "
                    "distractors included; LAReQA: a question's answer sentence among all 11 languages' "
                    "sentences), recall@1 by layer, mean over languages:")
        context.say()
        rows = []
        for (model, name, task), values in sorted(others.items()):
            mean_curve = [statistics.fmean(v[i] for v in values) for i in range(len(values[0]))]
            best = mean_curve.index(max(mean_curve))
            context.number(f"best_layer/{model}/{name}/{task}", best, curve=mean_curve)
            rows.append([model, name, task, best, " ".join(f"{v:.1f}" for v in mean_curve)])
        context.table(["model", "encoder", "task", "best layer", "recall@1 by layer (0 = embeddings)"], rows)

    @staticmethod
    def _tables(context, curves, at_default, runs) -> None:
        context.say("Recall@k: share of a language's sentences whose English translation ranks within the top k "
                    "of all its English sentences (cosine of pooled hidden states of one layer, layer 0 = "
                    "embeddings); gap: mean cosine of translation pairs minus that of all other pairs. "
                    "Averaged over the test languages and, for trained encoders, over seeds.")
        context.say()
        for model in sorted({m for m, _ in curves}):
            context.say(f"## {model}")
            context.say()
            base = statistics.fmean(at_default.get((model, "pretrained"), [float("nan")]))
            rows = []
            for (m, name), values in sorted(curves.items(), key=lambda kv: (kv[0][1] != "pretrained", kv[0][1])):
                if m != model:
                    continue
                mean_curve = [statistics.fmean(v[i] for v in values) for i in range(len(values[0]))]
                best = mean_curve.index(max(mean_curve))
                default = statistics.fmean(at_default[(m, name)])
                delta = default - base
                context.number(f"best_layer/{model}/{name}", best, curve=mean_curve)
                context.number(f"default_layer_recall/{model}/{name}", default)
                if name != "pretrained":
                    context.number(f"delta_default_layer/{model}/{name}", delta, pretrained=base)
                rows.append([name, best, f"{max(mean_curve):.2f}", f"{default:.2f}",
                             "-" if name == "pretrained" else f"{delta:+.2f}"])
            context.table(["encoder", "best layer (recall@1)", "recall@1 there", "recall@1 at the default layer",
                           "Δ at the default layer vs pretrained"], rows)
        context.say("## Reading")
        context.say()
        deltas = {k: v["value"] for k, v in context.numbers.items() if k.startswith("delta_default_layer/")}
        higher, lower, equal = (sum(test(d) for d in deltas.values())
                                for test in (lambda d: d > 0, lambda d: d < 0, lambda d: d == 0))
        context.say(f"- {plural(len(deltas), 'intermediate-trained encoder')} compared with the pretrained one at "
                    f"the default layer: {higher} higher, {lower} lower, {equal} equal. No test of significance is "
                    f"made here; `xharness report` tests the same Tatoeba runs with the paired bootstrap.")

    @staticmethod
    def _figures(context, curves, gaps) -> None:
        for model in sorted({m for m, _ in curves}):
            save(chart(curves, gaps, model), context.figure(f"alignment-{model.replace('/', '_')}.png"))


def chart(curves, gaps, model: str):
    """Recall@1 (%) and the cosine gap by layer, one line per encoder (mean over seeds). Layers are
    whole numbers and recall is in percent on its axis; encoders whose curves lie on one another
    stay visible and the legend says which coincide; a legend only where there are several encoders
    (one is named in the title)."""
    drawn = figure(10, 3.6)
    left, right = drawn.subplots(1, 2)
    names = sorted({n for m, n in curves if m == model}, key=lambda n: (n != "pretrained", n))

    def mean(runs):  # one curve per run → their mean, layer by layer
        return [statistics.fmean(run[i] for run in runs) for i in range(len(runs[0]))]

    recall = [(name, mean(curves[(model, name)])) for name in names]
    gap = [(name, mean(gaps[(model, name)])) for name in names]
    same = {"recall": lines(left, range(len(recall[0][1])), recall),
            "gap": lines(right, range(len(gap[0][1])), gap)}
    for axis, values in ((left, recall), (right, gap)):
        axis.set_xlabel("layer (0 = embeddings)")
        integer_ticks(axis.xaxis, range(len(values[0][1])))
    percent_ticks(left.yaxis)
    left.set_ylabel("recall@1")
    left.set_title("Tatoeba retrieval by layer")
    right.set_ylabel("cosine gap")
    right.set_title("translation − other pairs (mean cosine)")
    title = f"Cross-lingual alignment · {model}"
    if legend(left, fontsize=7) is None and (lone := lone_label([left])) is not None:
        title += f" · {lone}"
    if same["gap"] and same["gap"] != same["recall"]:  # the legend is the left panel's: name the right's too
        right.text(0.02, 0.02, "same gap curve: " + "; ".join(f"{a} = {b}" for a, b in same["gap"].items()),
                   transform=right.transAxes, fontsize=7, va="bottom")
    drawn.suptitle(title)
    drawn.tight_layout()
    return drawn


STUDY = Alignment()
