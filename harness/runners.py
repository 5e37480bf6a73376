"""The phase runners: train phase 2, fine-tune and evaluate phase 3, or embed and search.

Each takes a planned cell and an accelerator and returns the phase's record plus what the
store must write; none of them decides whether a phase runs (that is ``harness.protocol``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness import outcomes
from harness.data import TaskData
from harness.errors import UserError
from harness.planning import Plan


def features_dir(plan: Plan) -> Path | None:
    """Featurised data of every cell of a store, shared (see ``harness.features``);
    ``XHARNESS_FEATURE_CACHE=0`` turns the cache off."""
    import os

    from harness.store import RunStore

    if os.environ.get("XHARNESS_FEATURE_CACHE", "1").strip().lower() in ("0", "false", "no", "off"):
        return None
    return RunStore(plan.request.output).root / "features"


def featurize(kind, data: TaskData, split: str, lang: str, tokenizer, settings, cache_dir: Path | None = None
              ) -> list[dict]:
    """Features of one split: from the store's feature cache when this data, tokenizer and every
    setting that shapes them were featurised before (another seed, another intermediate task)."""
    from harness.features import cached_featurize

    def compute() -> list[dict]:
        examples = data.load(split, lang)
        if not examples:
            raise UserError(f"{data.spec.name}: the {split} split for {lang} is empty ({data.where(split, lang)})")
        return kind.featurize(examples, tokenizer, int(settings["max_length"]), data.spec)

    return cached_featurize(kind, data, split, lang, tokenizer, settings, cache_dir=cache_dir, compute=compute)


def train_settings(settings: dict[str, Any]):
    from harness.train import TrainSettings

    return TrainSettings(epochs=float(settings["epochs"]), lr=float(settings["lr"]),
                         batch_size=int(settings["batch_size"]),
                         per_device_batch_size=int(settings["per_device_batch_size"]),
                         max_length=int(settings["max_length"]), weight_decay=float(settings["weight_decay"]),
                         warmup_ratio=float(settings["warmup_ratio"]))


def mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def run_intermediate(accelerator, plan: Plan, settings, key, reporter, get_kind, set_seed, checkpoints=None):
    """Train phase 2 on one task or several (one head each); return its record and an encoder saver."""
    from harness.model import TaskModel, load_backbone
    from harness.train import TrainTask, train_tasks

    set_seed(plan.request.seed)
    tokenizer, encoder = load_backbone(plan.model.location, plan.model.revision)
    cache = features_dir(plan)
    model = TaskModel(encoder)
    tasks = []
    fixed: dict[int, float] = {}
    for data in plan.inter:
        kind = get_kind(data.spec.kind)
        if data.spec.kind == "masked_lm":
            fixed[len(tasks)] = settings["mlm_weight"]
            train, dev = featurize(kind, data, "train", "multi", tokenizer, settings, cache), []
        else:
            lang = data.spec.train_language
            train_lang = settings.get("translated") or lang
            if data.spec.kind == "tagging" and not data.spec.labels:
                data = _with_training_labels(data, train_lang)
            train = featurize(kind, data, "train", train_lang, tokenizer, settings, cache)
            dev = featurize(kind, data, "dev", lang, tokenizer, settings, cache)
        if len(plan.inter) > 1:
            dev = dev[: settings["validation_examples"]]  # a fixed subset per task keeps validation cheap
        model.add_head(data.spec.name, kind, data.spec)
        tasks.append(TrainTask(data.spec, kind, train, dev))
    prepared = accelerator.prepare_model(model)
    history = train_tasks(accelerator, prepared, tasks, settings=train_settings(settings), seed=plan.request.seed,
                          pad_id=tokenizer.pad_token_id, reporter=reporter,
                          sampling=settings.get("sampling", "proportional"),
                          temperature=float(settings.get("temperature", 2.0)),
                          cap=settings.get("max_examples_per_task"), fixed=fixed, checkpoints=checkpoints)
    trained = accelerator.unwrap_model(prepared).encoder

    def save_encoder(folder: Path) -> None:
        trained.save_pretrained(folder)
        tokenizer.save_pretrained(folder)

    record = {"key": key, "tasks": [t.spec.name for t in tasks],
              "labels": {t.spec.name: len(t.spec.labels) for t in tasks if t.spec.labels},
              "train_examples": {t.spec.name: len(t.train) for t in tasks} if len(tasks) > 1 else len(tasks[0].train),
              "dev_examples": {t.spec.name: len(t.dev) for t in tasks} if len(tasks) > 1 else len(tasks[0].dev),
              "model_commit": getattr(encoder.config, "_commit_hash", None), "history": history}
    return record, save_encoder


def _with_training_labels(data: TaskData, lang: str) -> TaskData:
    """A copy of ``data`` whose spec carries the tag set read off its training data."""
    import copy
    import dataclasses

    from harness.kinds.tagging import labels_from_training

    labels = labels_from_training(data.load("train", lang), int(data.spec.defaults["label_min_count"]))
    derived = copy.copy(data)
    derived.task = dataclasses.replace(data.task, spec=dataclasses.replace(data.spec, labels=labels))
    return derived


def run_target(accelerator, plan: Plan, data: TaskData, settings, location, revision, reporter, get_kind, set_seed,
               checkpoints=None):
    """Fine-tune on the target task and evaluate every test language.

    The phase record carries, for ``harness.protocol`` to take out, ``test_scores`` and
    ``test_outcomes`` (per language) of the headline selection and, with ``--select-on both``,
    ``selection_outcomes`` of the other one.
    """
    from harness.model import TaskModel, load_backbone
    from harness.train import train_and_select

    set_seed(plan.request.seed)
    tokenizer, encoder = load_backbone(location, revision)
    cache = features_dir(plan)
    kind = get_kind(data.spec.kind)
    lang = data.spec.train_language
    train = featurize(kind, data, "train", lang, tokenizer, settings, cache)
    dev = featurize(kind, data, "dev", lang, tokenizer, settings, cache)
    select_on = settings.get("select_on", "en")
    target_dev = None
    if select_on != "en":
        target_dev = {dev_lang: featurize(kind, data, "dev", dev_lang, tokenizer, settings, cache)
                      for dev_lang in selection_languages(plan)}
    model = TaskModel(encoder)  # the encoder only: the head starts fresh
    model.add_head(data.spec.name, kind, data.spec)
    tests = {test_lang: featurize(kind, data, "test", test_lang, tokenizer, settings, cache)
             for test_lang in plan.languages}
    prepared = accelerator.prepare_model(model)
    loop_settings = train_settings(settings)
    selected: dict[str, Any] = {}
    history = train_and_select(accelerator, prepared, data.spec, kind, train, dev, settings=loop_settings,
                               seed=plan.request.seed, pad_id=tokenizer.pad_token_id, reporter=reporter,
                               checkpoints=checkpoints, target_dev=target_dev, selected=selected)

    def evaluate(criterion: str) -> dict[str, dict]:
        return _evaluate_tests(accelerator, prepared, data, kind, tests, batch_size=loop_settings.per_device_batch_size * 2,
                               pad_id=tokenizer.pad_token_id, reporter=reporter, criterion=criterion)

    phase = {"task": data.spec.name, "train_examples": len(train), "dev_examples": len(dev),
             "model_commit": getattr(encoder.config, "_commit_hash", None), "history": history}
    if select_on == "en":
        headline, others = evaluate("en"), {}
    else:
        phase["target_dev_examples"] = {dev_lang: len(features) for dev_lang, features in target_dev.items()}
        evaluated = _evaluate_selections(accelerator.unwrap_model(prepared), history["selected_epochs"], selected,
                                         ("en", "target") if select_on == "both" else ("target",), evaluate)
        phase["selection"] = {criterion: {"epoch": history["selected_epochs"][criterion],
                                          "test_scores": result["scores"]}
                              for criterion, result in evaluated.items()}
        headline_criterion = "en" if select_on == "both" else "target"
        headline = evaluated[headline_criterion]
        others = {c: r["outcomes"] for c, r in evaluated.items() if c != headline_criterion}
    phase.update(test_scores=headline["scores"], reused=False)
    if any(headline["details"].values()):
        phase["test_details"] = headline["details"]
    phase["test_outcomes"] = headline["outcomes"]
    if others:
        phase["selection_outcomes"] = others
    return phase, headline["predictions"]


def selection_languages(plan: Plan) -> list[str]:
    """The target languages whose dev sets ``--select-on target|both`` selects on."""
    return [lang for lang in plan.languages if lang != plan.target.spec.train_language]


def _evaluate_selections(model, epochs: dict[str, int | None], selected: dict[str, Any], criteria: tuple[str, ...],
                         evaluate) -> dict[str, dict]:
    """Test results of the state each criterion picked, in ``criteria``'s order.

    The model arrives at the "en" state; a criterion that picked the same epoch as one already
    evaluated reuses its results (same weights, same predictions), so nothing is computed twice.
    """
    results: dict[str, dict] = {}
    current = "en"
    for criterion in criteria:
        same = next((c for c in results if epochs[c] == epochs[criterion]), None)
        if same is not None:
            results[criterion] = results[same]
            continue
        if epochs[criterion] != epochs[current] and selected.get(criterion) is not None:
            model.load_state_dict(selected[criterion])
            current = criterion
        results[criterion] = evaluate(criterion)
    return results


def _evaluate_tests(accelerator, model, data: TaskData, kind, tests: dict[str, list[dict]], *, batch_size: int,
                    pad_id: int, reporter, criterion: str) -> dict[str, dict]:
    """Scores, details, prediction files and outcomes of every test language, the model as it is.

    Each score is ``outcomes.score`` of that language's outcomes, exactly.
    """
    from harness.train import predict

    result: dict[str, dict] = {"scores": {}, "details": {}, "predictions": {}, "outcomes": {}}
    for test_lang, test in tests.items():
        shown = f"{data.spec.name} test {test_lang}" + (f" ({criterion}-selected)" if criterion != "en" else "")
        preds = predict(accelerator, model, data.spec.name, kind, test, batch_size=batch_size, pad_id=pad_id,
                        reporter=reporter, description=shown)
        (result["scores"][test_lang], result["details"][test_lang], result["predictions"][test_lang],
         result["outcomes"][test_lang]) = kind.evaluate_test(preds, test, data.spec, test_lang,
                                                             _test_ids(data, test_lang))
    return result


def _test_ids(data: TaskData, lang: str) -> list[str]:
    """The test examples' own ids where the data has them (PAWS-X, QA), else their index."""
    return [str(example.get("id", index)) for index, example in enumerate(data.load("test", lang))]


def run_retrieval(accelerator, plan: Plan, data: TaskData, settings, location, revision, reporter):
    """Embed both sides of every language pair with the (phase-2) encoder and search (or mine)."""
    from harness.kinds.retrieval import default_layer
    from harness.model import load_backbone

    tokenizer, encoder = load_backbone(location, revision)
    encoder = accelerator.prepare_model(encoder, evaluation_mode=True)
    num_layers = accelerator.unwrap_model(encoder).config.num_hidden_layers
    layer = settings["retrieval_layer"] if settings["retrieval_layer"] is not None else default_layer(num_layers)
    if layer > num_layers:
        raise UserError(f"--retrieval-layer {layer} is beyond the model's {num_layers} layers")
    options = {"layer": layer, "pooling": settings["pooling"], "batch_size": int(settings["per_device_batch_size"]) * 2,
               "max_length": int(settings["max_length"]), "reporter": reporter}
    scores: dict[str, float | None] = {}
    predictions: dict[str, list] = {}
    details: dict[str, dict] = {}
    found: dict[str, dict] = {}
    for lang in plan.languages:
        if data.spec.kind == "bitext_mining":
            predictions[lang], details[lang], outcome = _mine(accelerator, encoder, tokenizer, data, lang, options)
        else:
            predictions[lang], outcome = _search(accelerator, encoder, tokenizer, data, lang, options)
        scores[lang] = None if outcome is None else outcomes.score(outcome)
        if outcome is not None:
            found[lang] = outcome
    phase = {"task": data.spec.name, "layer": layer, "num_layers": num_layers, "pooling": settings["pooling"],
             "per_language": details,
             "model_commit": getattr(accelerator.unwrap_model(encoder).config, "_commit_hash", None),
             "test_scores": scores, "test_outcomes": found, "reused": False}
    return phase, predictions


def _search(accelerator, encoder, tokenizer, data: TaskData, lang: str, options: dict) -> tuple[list[int], dict]:
    """Tatoeba for one language: each sentence's nearest English one; outcomes with the gold's rank."""
    from harness.kinds.retrieval import embed, tatoeba_search

    pairs = data.load("test", lang)
    source = embed(accelerator, encoder, tokenizer, [p["source"] for p in pairs], description=f"{lang} side",
                   **options)
    target = embed(accelerator, encoder, tokenizer, [p["target"] for p in pairs], description=f"{lang}-en side",
                   **options)
    predicted, ranks = tatoeba_search(source, target)
    outcome = outcomes.make(data.spec.name, data.spec.kind, lang, "accuracy", _test_ids(data, lang),
                            correct=[int(p == i) for i, p in enumerate(predicted)], extra={"rank": ranks})
    return predicted, outcome


def _mine(accelerator, encoder, tokenizer, data: TaskData, lang: str, options: dict):
    """BUCC for one language: threshold from the dev split's gold, pairs mined on test.

    Returns the mined pairs, the details and the outcomes (per source sentence tp/fp/fn of its
    mined pairs; None when the test split has no gold).
    """
    from harness.kinds.retrieval import best_threshold, embed, margin_candidates
    from harness.metrics import pair_counts, pair_f1

    def candidates(split: str):
        (corpus,) = data.load(split, lang)
        source = embed(accelerator, encoder, tokenizer, [t for _, t in corpus["source"]],
                       description=f"{lang} {split}", **options)
        target = embed(accelerator, encoder, tokenizer, [t for _, t in corpus["target"]],
                       description=f"en {split}", **options)
        mined = margin_candidates(source, target, k=4)
        return corpus, [(corpus["source"][i][0], corpus["target"][j][0], score) for i, j, score in mined]

    dev, dev_candidates = candidates("dev")
    if not dev["gold"]:
        raise UserError(f"{data.spec.name} {lang}: the dev (sample) split has no gold pairs, so no threshold "
                        f"can be chosen; add its .gold file")
    threshold = best_threshold(dev_candidates, set(dev["gold"]))
    test, test_candidates = candidates("test")
    mined = [(src, tgt) for src, tgt, score in test_candidates if score > threshold]
    detail: dict = {"threshold": threshold, "dev_f1": pair_f1(["\t".join(g) for g in dev["gold"]],
                    ["\t".join(p[:2]) for p in dev_candidates if p[2] > threshold])["f1"],
                    "mined": len(mined)}
    if test["gold"] is None:
        return mined, detail, None
    gold, found = ["\t".join(g) for g in test["gold"]], ["\t".join(p) for p in mined]
    result = pair_f1(gold, found)
    detail.update(precision=result["precision"], recall=result["recall"])
    counts = pair_counts([ident for ident, _ in test["source"]], gold, found)
    outcome = outcomes.make(data.spec.name, data.spec.kind, lang, "f1_counts", [c[0] for c in counts],
                            tp=[c[1] for c in counts], fp=[c[2] for c in counts], fn=[c[3] for c in counts],
                            extra={"mined": [list(pair) for pair in mined]})
    return mined, detail, outcome
