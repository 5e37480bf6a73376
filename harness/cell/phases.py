"""The phase runners: train phase 2, fine-tune and evaluate phase 3, or embed and search.

Each takes a planned cell and an accelerator and returns the phase's record plus what the
store must write; none of them decides whether a phase runs (that is ``harness.cell.protocol``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.compute import outcomes
from harness.data.sources import TaskData
from harness.contract.errors import UserError
from harness.cell import transfer as transfers
from harness.cell.planning import Plan


def features_dir(plan: Plan) -> Path | None:
    """Featurised data of every cell of a store, shared (see ``harness.data.features``);
    ``XHARNESS_FEATURE_CACHE=0`` turns the cache off."""
    from harness.common.envflags import flag
    from harness.store.runstore import RunStore

    if not flag("XHARNESS_FEATURE_CACHE", default=True):
        return None
    return RunStore(plan.request.output).root / "features"


def featurize(kind, data: TaskData, split: str, lang: str, tokenizer, settings, cache_dir: Path | None = None
              ) -> list[dict]:
    """Features of one split: from the store's feature cache when this data, tokenizer and every
    setting that shapes them were featurised before (another seed, another intermediate task)."""
    from harness.data.features import cached_featurize

    def compute() -> list[dict]:
        examples = data.load(split, lang)
        if not examples:
            raise UserError(f"{data.spec.name}: the {split} split for {lang} is empty ({data.where(split, lang)})")
        return kind.featurize(examples, tokenizer, int(settings["max_length"]), data.spec)

    return cached_featurize(kind, data, split, lang, tokenizer, settings, cache_dir=cache_dir, compute=compute)


def save_tokenizer(tokenizer, folder: Path) -> None:
    """Save ``tokenizer`` without the truncation and padding of its last call: a fast tokenizer's
    ``tokenizer.json`` otherwise records them, so the encoder folder would differ byte for byte
    depending on whether this process featurised anything or read every feature from the cache."""
    backend = getattr(tokenizer, "backend_tokenizer", None) if getattr(tokenizer, "is_fast", False) else None
    if backend is not None:
        backend.no_truncation()
        backend.no_padding()
    tokenizer.save_pretrained(folder)


def train_settings(settings: dict[str, Any]):
    from harness.training.loop import TrainSettings

    return TrainSettings(epochs=float(settings["epochs"]), lr=float(settings["lr"]),
                         batch_size=int(settings["batch_size"]),
                         per_device_batch_size=int(settings["per_device_batch_size"]),
                         max_length=int(settings["max_length"]), weight_decay=float(settings["weight_decay"]),
                         warmup_ratio=float(settings["warmup_ratio"]))


def mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _load_encoder(plan: Plan, location: str, revision: str | None):
    """(tokenizer, encoder) with the run's attention kernel, compiled if asked; ``plan.speed``
    then records the kernel the encoder really got."""
    from harness.training.model import load_backbone
    from harness.compute.speed import after_load, compile_encoder

    tokenizer, encoder = load_backbone(location, revision, plan.speed)
    plan.speed = after_load(plan.speed, encoder)
    compile_encoder(encoder, plan.speed)
    return tokenizer, encoder


def run_intermediate(accelerator, plan: Plan, settings, key, reporter, get_kind, set_seed, checkpoints=None,
                     tracking=None):
    """Train phase 2 on one task or several (one head each); return its record and an encoder saver."""
    from harness.training.model import TaskModel
    from harness.training.loop import TrainTask, train_tasks

    set_seed(plan.request.seed)
    tokenizer, encoder = _load_encoder(plan, plan.model.location, plan.model.revision)
    cache = features_dir(plan)
    model = TaskModel(encoder)
    tasks = []
    fixed: dict[int, float] = {}
    for data in plan.inter:
        data = with_kind_settings(data, settings.get("kind_settings", {}).get(data.spec.name, settings))
        kind = get_kind(data.spec.kind)
        if data.weight is not None:  # drawn for a fixed share of the batches (the --mlm corpus)
            fixed[len(tasks)] = data.weight
        lang = data.spec.train_language
        # the training languages planned (--translated: one or several, each featurised and
        # cached on its own, then joined); model selection stays on the training language's dev
        train_langs = [need_lang for split, need_lang in data.needs if split == "train"] or [lang]
        if data.kinds.open_labels(data.spec):  # a tag set read off the training data (CCG)
            data = _with_training_labels(data, train_langs)
        train = [feature for train_lang in train_langs
                 for feature in featurize(kind, data, "train", train_lang, tokenizer, settings, cache)]
        # the --mlm corpus has no dev split: it takes no part in choosing the checkpoint
        dev = featurize(kind, data, "dev", lang, tokenizer, settings, cache) if ("dev", lang) in data.needs else []
        if len(plan.inter) > 1:
            dev = dev[: settings["validation_examples"]]  # a fixed subset per task keeps validation cheap
        model.add_head(data.spec.name, kind, data.spec)
        tasks.append(TrainTask(data.spec, kind, train, dev))
    prepared = accelerator.prepare_model(model)
    history = train_tasks(accelerator, prepared, tasks, settings=train_settings(settings), seed=plan.request.seed,
                          pad_id=tokenizer.pad_token_id, reporter=reporter,
                          sampling=settings.get("sampling", "proportional"),
                          temperature=float(settings.get("temperature", 2.0)),
                          cap=settings.get("max_examples_per_task"), fixed=fixed, checkpoints=checkpoints,
                          speed=plan.speed, tracking=tracking, live=bool(plan.trackers))
    trained = accelerator.unwrap_model(prepared).encoder

    def save_encoder(folder: Path) -> None:
        trained.save_pretrained(folder)
        save_tokenizer(tokenizer, folder)

    record = {"key": key, "tasks": [t.spec.name for t in tasks],
              "labels": {t.spec.name: len(t.spec.labels) for t in tasks if t.spec.labels},
              "train_examples": {t.spec.name: len(t.train) for t in tasks} if len(tasks) > 1 else len(tasks[0].train),
              "dev_examples": {t.spec.name: len(t.dev) for t in tasks} if len(tasks) > 1 else len(tasks[0].dev),
              "model_commit": getattr(encoder.config, "_commit_hash", None), "history": history}
    return record, save_encoder


def _with_training_labels(data: TaskData, langs: list[str]) -> TaskData:
    """A copy of ``data`` whose spec carries the tag set read off its training data (in every
    training language, together)."""
    import copy
    import dataclasses

    examples = [example for lang in langs for example in data.load("train", lang)]
    labels = data.kinds.labels_from_training(data.spec, examples)
    derived = copy.copy(data)
    derived.task = dataclasses.replace(data.task, spec=dataclasses.replace(data.spec, labels=labels))
    return derived


def with_kind_settings(data: TaskData, settings: dict[str, Any]) -> TaskData:
    """A copy of ``data`` whose spec's ``defaults`` carry the run's values of its kind's own
    settings (``KindSpec.settings``), which is how the kind's code reads them."""
    import copy
    import dataclasses

    names = data.kinds.spec(data.spec.kind).settings
    if not names:
        return data
    defaults = {**data.spec.defaults, **{name: settings[name] for name in names if name in settings}}
    derived = copy.copy(data)
    derived.task = dataclasses.replace(data.task, spec=dataclasses.replace(data.spec, defaults=defaults))
    return derived


def pool_languages(plan: Plan) -> list[str]:
    """The languages whose test candidates form a pooled kind's candidate pool: all of the task's
    own and any others evaluated, in the task's order (empty for other kinds)."""
    spec = plan.target.spec
    if not plan.target.kinds.spec(spec.kind).pooled_test:
        return []
    return [lang for lang in spec.all_languages if lang in spec.languages or lang in plan.languages]


def _pool_examples(data: TaskData, langs: list[str]) -> list[dict]:
    """Every language's candidates, each id once (Mewsli-X lists one candidate set in every
    language; a hub row's paragraph may repeat a sentence): the ``answers`` of repeats are merged.

    Its output is cached as features under a key that does not hash this function: bump
    ``harness.data.features.FEATURE_CACHE_VERSION`` when it changes.
    """
    merged: dict[str, dict] = {}
    for lang in langs:
        for example in data.load("test", lang):
            if "candidate" not in example or "query" in example:
                continue
            ident = str(example["id"])
            if ident not in merged:
                merged[ident] = example
            elif example.get("answers"):
                answers = sorted(set(merged[ident].get("answers", ())) | {str(a) for a in example["answers"]})
                merged[ident] = {**merged[ident], "answers": answers}
    return list(merged.values())


def featurize_pooled(kind, data: TaskData, plan: Plan, tokenizer, settings, cache_dir: Path | None
                     ) -> tuple[dict[str, list[dict]], list[dict]]:
    """A pooled kind's test features: each evaluated language's queries, and one candidate pool
    tokenised once (not once per language), both through the feature cache."""
    from harness.data.features import cached_featurize

    max_length = int(settings["max_length"])

    def queries(lang: str):
        def compute() -> list[dict]:
            examples = [e for e in data.load("test", lang) if "query" in e]
            if not examples:
                raise UserError(f"{data.spec.name}: the test split for {lang} has no queries ({data.where('test', lang)})")
            return kind.featurize(examples, tokenizer, max_length, data.spec)
        return cached_featurize(kind, data, "test", f"{lang}#queries", tokenizer, settings, cache_dir=cache_dir,
                                compute=compute)

    langs = pool_languages(plan)

    def pool() -> list[dict]:
        examples = _pool_examples(data, langs)
        if not examples:
            raise UserError(f"{data.spec.name}: the test data holds no candidates to rank")
        return kind.featurize(examples, tokenizer, max_length, data.spec)

    tests = {lang: queries(lang) for lang in plan.languages}
    candidates = cached_featurize(kind, data, "test", "pool:" + ",".join(langs), tokenizer, settings,
                                  cache_dir=cache_dir, compute=pool)
    return tests, candidates


def _start_target(plan: Plan, data: TaskData, settings, location, revision, get_kind, set_seed):
    """What every target phase starts with, in this order (the random state training starts from
    depends on it): the seed, the (phase-2) encoder, the feature cache, the task's and its
    translations' data with the run's kind settings, and the kind."""
    set_seed(plan.request.seed)
    tokenizer, encoder = _load_encoder(plan, location, revision)
    cache = features_dir(plan)
    data = with_kind_settings(data, settings)
    translations = with_kind_settings(plan.translations, settings) if plan.translations is not None else None
    return tokenizer, encoder, cache, data, translations, get_kind(data.spec.kind)


def run_target(accelerator, plan: Plan, data: TaskData, settings, location, revision, reporter, get_kind, set_seed,
               checkpoints=None, tracking=None, language_checkpoints=None):
    """Fine-tune on the target task and evaluate every test language.

    The phase record carries, for ``harness.cell.protocol`` to take out, ``test_scores`` and
    ``test_outcomes`` (per language) of the headline selection and, with ``--select-on both``,
    ``selection_outcomes`` of the other one.
    """
    from harness.training.model import TaskModel
    from harness.training.loop import train_and_select

    transfer = plan.transfer
    if transfer.per_language:
        return run_per_language(accelerator, plan, data, settings, location, revision, reporter, get_kind, set_seed,
                                checkpoints=checkpoints, language_checkpoints=language_checkpoints, tracking=tracking)
    tokenizer, encoder, cache, data, translations, kind = _start_target(plan, data, settings, location, revision,
                                                                        get_kind, set_seed)
    lang = data.spec.train_language
    train = featurize(kind, data, "train", lang, tokenizer, settings, cache)
    if transfer.setting == "translate-train-all":  # English and every translation
        for other in plan.languages:
            if other != lang:
                train = train + featurize(kind, translations, "train", other, tokenizer, settings, cache)
    dev = featurize(kind, data, "dev", lang, tokenizer, settings, cache)
    select_on = settings.get("select_on", "en")
    target_dev = None
    if select_on != "en":
        target_dev = {dev_lang: featurize(kind, data, "dev", dev_lang, tokenizer, settings, cache)
                      for dev_lang in selection_languages(plan)}
    model = TaskModel(encoder)  # the encoder only: the head starts fresh
    model.add_head(data.spec.name, kind, data.spec)
    pool = None
    if pool_languages(plan):
        tests, pool = featurize_pooled(kind, data, plan, tokenizer, settings, cache)
    else:
        tests = {test_lang: featurize(kind, data, "test", test_lang, tokenizer, settings, cache)
                 for test_lang in plan.languages}
        if transfer.setting == "translate-test":  # each test set in English, same ids
            tests.update({test_lang: featurize(kind, translations, "test", test_lang, tokenizer, settings, cache)
                          for test_lang in plan.languages if test_lang != lang})
    prepared = accelerator.prepare_model(model)
    loop_settings = train_settings(settings)
    selected: dict[str, Any] = {}
    history = train_and_select(accelerator, prepared, data.spec, kind, train, dev, settings=loop_settings,
                               seed=plan.request.seed, pad_id=tokenizer.pad_token_id, reporter=reporter,
                               checkpoints=checkpoints, target_dev=target_dev, selected=selected,
                               speed=plan.speed, tracking=tracking, live=bool(plan.trackers))

    def evaluate(criterion: str) -> dict[str, dict]:
        return _evaluate_tests(accelerator, prepared, data, kind, tests, batch_size=loop_settings.per_device_batch_size * 2,
                               pad_id=tokenizer.pad_token_id, reporter=reporter, criterion=criterion, pool=pool,
                               speed=plan.speed)

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


def run_per_language(accelerator, plan: Plan, data: TaskData, settings, location, revision, reporter, get_kind,
                     set_seed, checkpoints=None, language_checkpoints=None, tracking=None):
    """``--transfer translate-train`` and ``few-shot``: one fine-tuned model per target language, each
    tested on its own language only.

    translate-train: every language's model starts from the same state (the encoder, a fresh head)
    and trains on that language's translated training data (the training language's on its own
    data: the zero-shot model). few-shot: one model is fine-tuned on the training language first;
    each other language's model continues from it on that language's drawn shots, its epoch chosen
    on the language's dev data less the shots. Each training keeps its own checkpoints
    (``language_checkpoints(lang)``), so a stopped cell resumes every language where it was; a
    language already trained resumes from its last checkpoint and is only tested again.
    """
    import dataclasses

    from harness.training.checkpoint import rng_state, set_rng_state
    from harness.training.model import TaskModel
    from harness.training.loop import _cpu_copy, train_and_select

    transfer = plan.transfer
    tokenizer, encoder, cache, data, translations, kind = _start_target(plan, data, settings, location, revision,
                                                                        get_kind, set_seed)
    own = data.spec.train_language
    select_on = settings.get("select_on", "en")
    english_train = featurize(kind, data, "train", own, tokenizer, settings, cache)
    english_dev = featurize(kind, data, "dev", own, tokenizer, settings, cache)
    model = TaskModel(encoder)  # the encoder only: the head starts fresh
    model.add_head(data.spec.name, kind, data.spec)
    prepared = accelerator.prepare_model(model)
    unwrapped = accelerator.unwrap_model(prepared)
    start = _cpu_copy(unwrapped)  # every translate-train model starts here
    loop_settings = train_settings(settings)
    tests = {lang: featurize(kind, data, "test", lang, tokenizer, settings, cache) for lang in plan.languages}
    batch = loop_settings.per_device_batch_size * 2
    # every training starts from the random state a zero-shot run's training starts from, so that the
    # training language's model is the zero-shot one, and no language's model depends on the others'
    randomness = rng_state()

    def train(features, dev, loop, folder, lang):
        # the training language's training is the tracked one (as in a zero-shot cell); ``live`` must be
        # the same on every process (the main one alone holds ``tracking``)
        set_rng_state(randomness)
        return train_and_select(accelerator, prepared, data.spec, kind, features, dev, settings=loop,
                                seed=plan.request.seed, pad_id=tokenizer.pad_token_id, reporter=reporter,
                                checkpoints=folder, speed=plan.speed, tracking=tracking if lang == own else None,
                                live=bool(plan.trackers) and lang == own)

    def test(lang: str) -> dict:
        return _evaluate_tests(accelerator, prepared, data, kind, {lang: tests[lang]}, batch_size=batch,
                               pad_id=tokenizer.pad_token_id, reporter=reporter, criterion="en", speed=plan.speed)

    results: dict[str, dict] = {}
    per_language: dict[str, dict] = {}
    history = None
    if transfer.setting == "few-shot":
        size = min(loop_settings.batch_size, transfer.shots)  # every language's loop over its shots
        shot_loop = dataclasses.replace(loop_settings, epochs=float(transfer.shot_epochs), batch_size=size,
                                        per_device_batch_size=min(loop_settings.per_device_batch_size, size))
        if size % accelerator.num_processes:  # before any training: the shots' batches split over the processes
            raise UserError(f"--shots {transfer.shots}: each language's batch of {size} does not divide among the "
                            f"{accelerator.num_processes} processes; give --shots a multiple of "
                            f"{accelerator.num_processes}")
        reporter.log(f"phase 3: fine-tuning on {data.spec.name} ({own}), then on {transfer.shots} examples of each "
                     f"other language")
        history = train(english_train, english_dev, loop_settings, checkpoints, own)
        english = _cpu_copy(unwrapped)  # the selected English state every language continues from
        if own in plan.languages:
            results[own] = test(own)
        for lang in plan.languages:
            if lang == own:
                continue
            split = plan.shot_splits[lang]
            examples = data.load(split, lang)
            drawn = transfers.draw(examples, transfer.shots, transfer.shot_seed, lang)
            chosen = set(drawn)
            shots = kind.featurize([examples[i] for i in drawn], tokenizer, int(settings["max_length"]), data.spec)
            if data.spec.target_dev:  # the language's dev data, less any drawn from it, picks the epoch
                dev_examples = data.load("dev", lang)
                rest = [e for i, e in enumerate(dev_examples) if split != "dev" or i not in chosen]
                dev = kind.featurize(rest, tokenizer, int(settings["max_length"]), data.spec)
                selected_on = f"{lang} dev less the shots" if split == "dev" else f"{lang} dev"
            else:
                dev, selected_on = english_dev, f"{own} dev"
            unwrapped.load_state_dict(english)
            reporter.log(f"phase 3, {lang}: {transfer.shots} {split} examples (shot seed {transfer.shot_seed}), "
                         f"{transfer.shot_epochs:g} epochs, chosen on {selected_on}")
            lang_history = train(shots, dev, shot_loop, language_checkpoints(lang), lang)
            results[lang] = test(lang)
            per_language[lang] = {"shots": {"split": split, "ids": [transfers.example_id(examples[i], i) for i in drawn],
                                            "indices": drawn},
                                  "train_examples": len(shots), "dev_examples": len(dev), "selected_on": selected_on,
                                  "history": lang_history}
    else:  # translate-train
        reporter.log(f"phase 3: fine-tuning one {data.spec.name} model per language on its translated training "
                     f"data, each tested on its language")
        for lang in plan.languages:
            if lang == own:
                features, folder = english_train, checkpoints
            else:
                features, folder = (featurize(kind, translations, "train", lang, tokenizer, settings, cache),
                                    language_checkpoints(lang))
            dev = english_dev if select_on == "en" or lang == own else \
                featurize(kind, data, "dev", lang, tokenizer, settings, cache)
            selected_on = f"{own if select_on == 'en' else lang} dev"
            unwrapped.load_state_dict(start)
            reporter.log(f"phase 3, {lang}: {len(features)} training features "
                         f"({'its own' if lang == own else 'translated'}), chosen on {selected_on}")
            lang_history = train(features, dev, loop_settings, folder, lang)
            if history is None or lang == own:
                history = lang_history
            results[lang] = test(lang)
            per_language[lang] = {"train_examples": len(features), "dev_examples": len(dev),
                                  "selected_on": selected_on, "history": lang_history}
    merged = {part: {lang: results[lang][part][lang] for lang in plan.languages}
              for part in ("scores", "details", "predictions", "outcomes")}
    phase = {"task": data.spec.name, "train_examples": len(english_train), "dev_examples": len(english_dev),
             "model_commit": getattr(encoder.config, "_commit_hash", None), "history": history,
             "transfer": transfer.setting, "per_language": per_language,
             "test_scores": merged["scores"], "reused": False, "test_outcomes": merged["outcomes"]}
    if any(merged["details"].values()):
        phase["test_details"] = merged["details"]
    return phase, merged["predictions"]


def selection_languages(plan: Plan) -> list[str]:
    """The target languages whose dev sets ``--select-on target|both`` selects on: those planning
    kept (languages without a dev split on the hub are left out there, and named)."""
    kept = plan.target_settings.get("select_languages")
    if kept is not None:
        return list(kept)
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
                    pad_id: int, reporter, criterion: str, pool: list[dict] | None = None,
                    speed=None) -> dict[str, dict]:
    """Scores, details, prediction files and outcomes of every test language, the model as it is.

    Each score is ``outcomes.score`` of that language's outcomes, exactly. A pooled kind (a dual
    encoder) ranks every language's queries against one candidate ``pool`` (``predict_tests``)
    and is scored against it.
    """
    from harness.training.loop import predict

    result: dict[str, dict] = {"scores": {}, "details": {}, "predictions": {}, "outcomes": {}}
    if pool is not None:
        by_lang = kind.predict_tests(accelerator, model, data.spec.name, tests, pool, batch_size=batch_size,
                                     pad_id=pad_id, reporter=reporter, spec=data.spec)
        for test_lang, test in tests.items():
            (result["scores"][test_lang], result["details"][test_lang], result["predictions"][test_lang],
             result["outcomes"][test_lang]) = kind.evaluate_test(by_lang[test_lang], test, data.spec, test_lang,
                                                                 pool=pool)
        return result
    for test_lang, test in tests.items():
        shown = f"{data.spec.name} test {test_lang}" + (f" ({criterion}-selected)" if criterion != "en" else "")
        preds = predict(accelerator, model, data.spec.name, kind, test, batch_size=batch_size, pad_id=pad_id,
                        reporter=reporter, description=shown, spec=data.spec, speed=speed)
        (result["scores"][test_lang], result["details"][test_lang], result["predictions"][test_lang],
         result["outcomes"][test_lang]) = kind.evaluate_test(preds, test, data.spec, test_lang,
                                                             _test_ids(data, test_lang))
    return result


def _test_ids(data: TaskData, lang: str) -> list[str]:
    """The test examples' own ids where the data has them (PAWS-X, QA), else their index."""
    return [str(example.get("id", index)) for index, example in enumerate(data.load("test", lang))]


def run_retrieval(accelerator, plan: Plan, data: TaskData, settings, location, revision, reporter, get_kind):
    """Evaluate an untrained kind: each language through its kind's ``evaluate_language`` (Tatoeba
    embeds both sides and searches, BUCC mines), with the (phase-2) encoder as it is."""
    from harness.kinds.retrieval import default_layer

    tokenizer, encoder = _load_encoder(plan, location, revision)
    encoder = accelerator.prepare_model(encoder, evaluation_mode=True)
    num_layers = accelerator.unwrap_model(encoder).config.num_hidden_layers
    layer = settings["retrieval_layer"] if settings["retrieval_layer"] is not None else default_layer(num_layers)
    if layer > num_layers:
        raise UserError(f"--retrieval-layer {layer} is beyond the model's {num_layers} layers")
    options = {"layer": layer, "pooling": settings["pooling"], "batch_size": int(settings["per_device_batch_size"]) * 2,
               "max_length": int(settings["max_length"]), "reporter": reporter, "speed": plan.speed}
    scores: dict[str, float | None] = {}
    predictions: dict[str, list] = {}
    details: dict[str, dict] = {}
    found: dict[str, dict] = {}
    kind = get_kind(data.spec.kind)
    for lang in plan.languages:
        predictions[lang], detail, outcome = kind.evaluate_language(accelerator, encoder, tokenizer, data, lang,
                                                                    options)
        if detail:
            details[lang] = detail
        scores[lang] = None if outcome is None else outcomes.score(outcome)
        if outcome is not None:
            found[lang] = outcome
    phase = {"task": data.spec.name, "layer": layer, "num_layers": num_layers, "pooling": settings["pooling"],
             "per_language": details,
             "model_commit": getattr(accelerator.unwrap_model(encoder).config, "_commit_hash", None),
             "test_scores": scores, "test_outcomes": found, "reused": False}
    return phase, predictions
