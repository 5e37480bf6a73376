"""The three-phase protocol: pretrained backbone → intermediate task → target task.

Everything is planned and checked (names, languages, data files, hub access, model) before
torch is imported, so user mistakes fail in well under a second. Phases are keyed by a hash of
everything that determines them; a finished phase is reused, never recomputed, and outputs
appear only when complete (written to a temporary name, then renamed).
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import harness
from harness import hub
from harness.data import TaskData, plan_task_data
from harness.errors import UnknownNameError, UserError
from harness.fsutil import atomic_dir, atomic_write_json, atomic_write_text, sha256_files, stable_hash
from harness.kinds import UNTRAINED_KINDS
from harness.plugins import Registered, Registry
from harness.record import SCHEMA, git_state, package_versions

#: The protocol's defaults (jiant's, as used by Phang et al., 2020); tasks override per task.
CORE_DEFAULTS: dict[str, Any] = {
    "lr": 1e-5, "weight_decay": 0.01, "warmup_ratio": 0.1, "batch_size": 32, "per_device_batch_size": 32,
    "max_length": 256, "epochs": 3,
}

#: ``--preset smoke``: the tiny model, the bundled samples, a few dozen steps.
PRESETS: dict[str, dict[str, Any]] = {
    "smoke": {
        "model": "tiny", "source": "bundled",
        "settings": {"lr": 5e-4, "batch_size": 8, "per_device_batch_size": 8, "max_length": 128},
        "inter_epochs": 3, "target_epochs": 4,
    },
}

SETTING_KEYS = ("lr", "weight_decay", "warmup_ratio", "batch_size", "per_device_batch_size", "max_length")
WEIGHT_PATTERNS = ("*.safetensors", "*.bin", "*.pt")


@dataclass
class RunRequest:
    inter: str
    target: str
    model: str | None = None
    seed: int = 42
    output: Path = Path("xharness-runs")
    data_dir: Path | None = None
    preset: str | None = None
    languages: list[str] | None = None
    overrides: dict[str, Any] = field(default_factory=dict)  # SETTING_KEYS, inter_epochs, target_epochs


@dataclass
class ModelChoice:
    name: str
    source: str  # built | local | hub
    location: str
    revision: str | None = None
    spec: Registered | None = None

    def identity(self) -> dict[str, Any]:
        ident: dict[str, Any] = {"name": self.name, "source": self.source, "location": self.location,
                                 "revision": self.revision}
        if self.spec is not None:
            ident.update(plugin=self.spec.plugin, plugin_version=self.spec.plugin_version)
        if self.source in ("built", "local"):
            ident["weights_sha256"] = weights_digest(Path(self.location))
        return ident


@dataclass
class Plan:
    request: RunRequest
    inter: list[TaskData]
    target: TaskData
    languages: list[str]
    model: ModelChoice
    inter_settings: dict[str, Any]
    target_settings: dict[str, Any]
    source: str
    plugin_versions: dict[str, str | None]


def weights_digest(folder: Path) -> str:
    files = [p for pattern in WEIGHT_PATTERNS for p in folder.glob(pattern)]
    if not files:
        raise UserError(f"model folder {folder} holds no weight files ({', '.join(WEIGHT_PATTERNS)})")
    return sha256_files(files, root=folder)


def cache_root() -> Path:
    return Path(os.environ.get("XHARNESS_CACHE", Path.home() / ".cache" / "xharness"))


# -- planning (no torch) ------------------------------------------------------------------

def resolve_model(name: str, registry: Registry) -> ModelChoice:
    registered = registry.model(name)
    if registered is not None:
        spec = registered.spec
        if spec.build is not None:
            folder = cache_root() / "models" / f"{spec.name}-v{spec.build_version}-{registered.plugin}-{registered.plugin_version}"
            return ModelChoice(spec.name, "built", str(folder), None, registered)
        return _hub_model(spec.name, spec.hub_id, spec.revision, registered)
    path = Path(name).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise UserError(f"--model {name} is a folder but holds no config.json; point it at a saved model folder")
        return ModelChoice(path.name, "local", str(path.resolve()))
    if "/" in name and not name.startswith((".", "/", "~")):
        return _hub_model(name, name, None, None)
    raise UnknownNameError("model", name, registry.models)


def _hub_model(name: str, hub_id: str, revision: str | None, spec: Registered | None) -> ModelChoice:
    choice = ModelChoice(name, "hub", hub_id, revision or "main", spec)
    if not hub.hub_reachable():
        if not hub.model_maybe_cached(hub_id):
            raise UserError(f"model {hub_id} cannot be loaded: the Hugging Face hub is unreachable and the model is "
                            f"not in the local cache; pass --model with a local model folder, or --preset smoke")
        hub.go_offline()
    return choice


def _settings(task_defaults: dict[str, Any], preset: dict[str, Any], epochs_key: str,
              overrides: dict[str, Any]) -> dict[str, Any]:
    settings = dict(CORE_DEFAULTS)
    settings.update({k: v for k, v in task_defaults.items() if k in CORE_DEFAULTS})
    settings.update(preset.get("settings", {}))
    if epochs_key in preset:
        settings["epochs"] = preset[epochs_key]
    settings.update({k: v for k, v in overrides.items() if k in SETTING_KEYS and v is not None})
    if overrides.get(epochs_key) is not None:
        settings["epochs"] = overrides[epochs_key]
    for key in ("batch_size", "per_device_batch_size", "max_length"):
        if int(settings[key]) < 1:
            raise UserError(f"--{key.replace('_', '-')} must be at least 1")
    if settings["epochs"] <= 0 or settings["lr"] <= 0:
        raise UserError("epochs and learning rate must be positive")
    return settings


def plan_mlm_corpus(corpus: str) -> TaskData:
    """The --mlm corpus as a training task: local text files (one sentence or document a line) or a
    hub dataset ``name[:config]`` with a ``text`` column."""
    from harness.spec import HubSource, LocalSource, TaskSpec

    path = Path(corpus).expanduser()
    def read_lines(file: Path, split: str, lang: str):
        with open(file, encoding="utf-8") as handle:
            for line in handle:
                if line.strip():
                    yield {"text": line.strip()}

    if path.exists():
        folder, pattern = (path, "*.txt") if path.is_dir() else (path.parent, path.name)
        spec = TaskSpec(name="mlm", kind="masked_lm", description=f"masked LM on {path}", languages=("multi",),
                        metric="loss", local=LocalSource(file=lambda split, lang: pattern, read=read_lines))
        data = plan_task_data(Registered(spec, "core", harness.__version__), [("train", "multi")], source="local",
                              data_dir=folder.resolve())
    elif "/" in corpus and not corpus.startswith((".", "/", "~")):
        name, _, config = corpus.partition(":")
        spec = TaskSpec(name="mlm", kind="masked_lm", description=f"masked LM on {corpus}", languages=("multi",),
                        metric="loss", local=LocalSource(file=lambda s, l: "", read=read_lines),
                        hub=HubSource(path=name, config=config or None, splits={"train": "train"},
                                      convert=lambda row, lang: {"text": row["text"]} if row.get("text") else None))
        data = plan_task_data(Registered(spec, "core", harness.__version__), [("train", "multi")], source="hub",
                              data_dir=None)
    else:
        raise UserError(f"--mlm {corpus}: no such file or folder (or give a hub dataset as name[:config])")
    return data


def _retrieval_settings(task_defaults: dict[str, Any], preset: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """Retrieval trains nothing: only how sentences are encoded and embedded matters."""
    settings = {"max_length": task_defaults.get("max_length", CORE_DEFAULTS["max_length"]),
                "per_device_batch_size": CORE_DEFAULTS["per_device_batch_size"],
                "retrieval_layer": None, "pooling": "mean"}
    settings.update({k: v for k, v in preset.get("settings", {}).items() if k in settings})
    settings.update({k: v for k, v in overrides.items() if k in settings and v is not None})
    if settings["pooling"] not in ("mean", "cls"):
        raise UnknownNameError("pooling", settings["pooling"], ("mean", "cls"))
    if settings["retrieval_layer"] is not None and settings["retrieval_layer"] < 0:
        raise UserError("--retrieval-layer must be 0 (embeddings) or a layer number")
    return settings


def plan_run(request: RunRequest, registry: Registry) -> Plan:
    preset: dict[str, Any] = {}
    if request.preset is not None:
        if request.preset not in PRESETS:
            raise UnknownNameError("preset", request.preset, PRESETS)
        preset = PRESETS[request.preset]
    target = registry.task("target", request.target)
    wanted = request.inter.strip().lower()
    if wanted == "all":
        inter_names = sorted(registry.tasks["intermediate"])
    else:
        inter_names = [] if wanted == "none" else [n.strip() for n in request.inter.split(",") if n.strip()]
    if not inter_names and wanted != "none":
        raise UserError("--inter needs a task name, several joined by commas, all, or none for the baseline")
    if len(set(inter_names)) != len(inter_names):
        raise UserError("--inter names a task twice")
    inter = [registry.task("intermediate", n) for n in inter_names]

    languages = list(target.spec.languages)
    if request.languages:
        for lang in request.languages:
            if lang not in target.spec.languages:
                raise UnknownNameError(f"language for {target.spec.name}", lang, target.spec.languages)
        languages = [lang for lang in target.spec.languages if lang in request.languages]

    source = "bundled" if preset.get("source") == "bundled" else ("local" if request.data_dir else "hub")
    if source == "bundled" and request.data_dir is not None:
        source = "local"  # an explicit --data-dir wins over the preset's samples
    data_dir = Path(request.data_dir).expanduser().resolve() if request.data_dir else None

    translated = request.overrides.get("translated")
    inter_data = []
    for task in inter:
        lang = task.spec.train_language
        train_lang = lang
        if translated:
            if translated not in task.spec.translated_train:
                offered = ", ".join(task.spec.translated_train) or "none"
                raise UserError(f"{task.spec.name} has no translated training data in {translated!r} "
                                f"(languages it has: {offered})")
            if source == "hub":
                raise UserError("translated training data is read from local files: pass --data-dir "
                                "(or --preset smoke)")
            train_lang = translated
        inter_data.append(plan_task_data(task, [("train", train_lang), ("dev", lang)], source=source,
                                         data_dir=data_dir))
    untrained = target.spec.kind in UNTRAINED_KINDS
    train_lang = target.spec.train_language
    needs = [] if untrained else [("train", train_lang), ("dev", train_lang)]
    if target.spec.kind == "bitext_mining":  # the threshold is chosen on each language's dev split
        needs += [("dev", lang) for lang in languages]
    needs += [("test", lang) for lang in languages]
    target_data = plan_task_data(target, needs, source=source, data_dir=data_dir)

    model = resolve_model(request.model or preset.get("model") or "xlm-roberta-large", registry)
    # one task brings its own defaults; several share the protocol's and add how batches are drawn
    inter_settings = _settings(dict(inter[0].spec.defaults) if len(inter) == 1 else {}, preset, "inter_epochs",
                               request.overrides)
    mlm = request.overrides.get("mlm")
    if mlm:
        if not inter:
            raise UserError("--mlm is mixed into intermediate training: give --inter one or more tasks too")
        weight = float(request.overrides.get("mlm_weight") or 0.25)
        if not 0 < weight < 1:
            raise UserError("--mlm-weight is the share of batches for masked LM: a number between 0 and 1")
        inter_data.append(plan_mlm_corpus(mlm))
        inter_settings["mlm_weight"] = weight
    if translated:
        inter_settings["translated"] = translated
    if len(inter_data) > 1:
        inter_settings.update({"sampling": request.overrides.get("sampling") or "proportional",
                               "temperature": float(request.overrides.get("temperature") or 2.0),
                               "max_examples_per_task": request.overrides.get("max_examples_per_task"),
                               "validation_examples": int(request.overrides.get("validation_examples") or 500)})
        if inter_settings["sampling"] not in ("proportional", "temperature", "uniform"):
            raise UnknownNameError("sampling", inter_settings["sampling"], ("proportional", "temperature", "uniform"))
    if untrained:
        target_settings = _retrieval_settings(dict(target.spec.defaults), preset, request.overrides)
    else:
        target_settings = _settings(dict(target.spec.defaults), preset, "target_epochs", request.overrides)
    return Plan(request, inter_data, target_data, languages, model, inter_settings, target_settings, source,
                registry.plugin_versions())


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.+-]+", "-", text).strip("-")[:60] or "model"


# -- execution (torch from here on) -------------------------------------------------------

def _ensure_built(model: ModelChoice) -> None:
    folder = Path(model.location)
    if (folder / "config.json").is_file():
        return
    with atomic_dir(folder) as tmp:
        model.spec.spec.build(tmp)


def _featurize(kind, data: TaskData, split: str, lang: str, tokenizer, settings) -> list[dict]:
    examples = data.load(split, lang)
    if not examples:
        raise UserError(f"{data.spec.name}: the {split} split for {lang} is empty")
    return kind.featurize(examples, tokenizer, int(settings["max_length"]), data.spec)


def _train_settings(settings: dict[str, Any]):
    from harness.train import TrainSettings

    return TrainSettings(epochs=float(settings["epochs"]), lr=float(settings["lr"]),
                         batch_size=int(settings["batch_size"]),
                         per_device_batch_size=int(settings["per_device_batch_size"]),
                         max_length=int(settings["max_length"]), weight_decay=float(settings["weight_decay"]),
                         warmup_ratio=float(settings["warmup_ratio"]))


def _make_accelerator(heads: int = 1):
    import torch
    from accelerate import Accelerator
    from accelerate.utils import DistributedDataParallelKwargs

    gpu = torch.cuda.is_available()
    precision = "bf16" if gpu and torch.cuda.is_bf16_supported() else "no"
    # With several heads each step uses one, so DDP must expect unused parameters.
    handlers = [DistributedDataParallelKwargs(find_unused_parameters=True)] if heads > 1 else []
    # cpu=True is what makes accelerate start gloo when torchrun launches CPU processes.
    return Accelerator(mixed_precision=precision, cpu=not gpu, kwargs_handlers=handlers)


def execute(plan: Plan, reporter_factory=None) -> tuple[Path, dict[str, Any]]:
    """Run (or reuse) every phase of ``plan``; return the results path and record."""
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from accelerate.utils import set_seed

    from harness.kinds import get_kind
    from harness.progress import Reporter

    request = plan.request
    accelerator = _make_accelerator(heads=max(1, len(plan.inter)))
    main = accelerator.is_main_process
    reporter = (reporter_factory or Reporter)(main)
    if plan.model.source == "built":
        _ensure_built(plan.model)
    output = Path(request.output).expanduser().resolve()
    model_identity = plan.model.identity()
    core = {"version": harness.__version__}

    # Phase 2 --------------------------------------------------------------------------
    phase2: dict[str, Any] | None = None
    start_location, start_revision = plan.model.location, plan.model.revision
    start_identity: dict[str, Any] = {"model": model_identity}
    if plan.inter:
        settings = plan.inter_settings
        key_material = {"phase": "intermediate", "core": core, "model": model_identity,
                        "tasks": [d.identity for d in plan.inter], "settings": settings, "seed": request.seed}
        key = stable_hash(key_material)
        names = "+".join(d.spec.name for d in plan.inter)
        label = names if len(plan.inter) <= 3 else f"{len(plan.inter)}tasks"
        folder = output / "intermediate" / f"{label}-{_slug(plan.model.name)}-seed{request.seed}-{key}"
        done = folder / "phase.json"
        if done.is_file():
            phase2 = dict(json.loads(done.read_text(encoding="utf-8")), reused=True)
            reporter.log(f"phase 2 ({names}): reusing finished phase {folder}")
        else:
            _preload(plan)
            reporter.log(f"phase 2: training on {names} ({plan.source} data)")
            began = time.perf_counter()
            phase2, save_encoder = _run_intermediate(accelerator, plan, settings, key, reporter, get_kind, set_seed)
            phase2.update(wall_seconds=time.perf_counter() - began, reused=False)
            if main:
                with atomic_dir(folder) as tmp:
                    save_encoder(tmp / "encoder")
                    atomic_write_json(tmp / "phase.json", phase2)
            accelerator.wait_for_everyone()
        start_location, start_revision = str(folder / "encoder"), None
        start_identity = {"intermediate_key": key}

    # Phase 3 --------------------------------------------------------------------------
    data = plan.target
    settings = plan.target_settings
    key_material = {"phase": "target", "core": core, "start": start_identity, "task": data.identity,
                    "languages": plan.languages, "settings": settings, "seed": request.seed}
    key = stable_hash(key_material)
    inter_label = "+".join(d.spec.name for d in plan.inter) or "none"
    run_dir = output / "runs" / f"{inter_label}__{data.spec.name}__{_slug(plan.model.name)}__seed{request.seed}-{key}"
    results_path = run_dir / "results.json"
    if results_path.is_file():
        record = json.loads(results_path.read_text(encoding="utf-8"))
        reporter.log(f"phase 3 ({data.spec.name}): reusing finished run {run_dir}")
        return results_path, record

    _preload(plan)
    began = time.perf_counter()
    if data.spec.kind in UNTRAINED_KINDS:
        reporter.log(f"phase 3: {data.spec.name}, retrieval with the encoder's embeddings "
                     f"in {len(plan.languages)} languages (no training)")
        phase3, predictions = _run_retrieval(accelerator, plan, data, settings, start_location, start_revision,
                                             reporter)
        retrieval_kind = get_kind(data.spec.kind)
        predictions = {lang: ("tsv", "".join(f"{retrieval_kind.prediction_text(p, data.spec)}\n" for p in preds))
                       for lang, preds in predictions.items()}
    else:
        reporter.log(f"phase 3: fine-tuning on {data.spec.name} ({data.spec.train_language}), "
                     f"zero-shot on {len(plan.languages)} languages")
        phase3, predictions = _run_target(accelerator, plan, data, settings, start_location, start_revision,
                                          reporter, get_kind, set_seed)
    phase3["wall_seconds"] = time.perf_counter() - began
    phase3["key"] = key
    per_language = phase3.pop("test_scores")
    record = {
        "schema": SCHEMA,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "intermediate_tasks": [d.spec.name for d in plan.inter],
        "target_task": data.spec.name,
        "model": model_identity,
        "seed": request.seed,
        "preset": request.preset,
        "data_source": plan.source,
        "languages": plan.languages,
        "hyperparameters": {"intermediate": plan.inter_settings if plan.inter else None, "target": settings},
        "scores": {"metric": data.spec.metric, "split": "test", "per_language": per_language,
                   "average": _mean([v for v in per_language.values() if v is not None])},
        "phases": {"intermediate": phase2, "target": phase3},
        "data": {"intermediate": [d.identity for d in plan.inter], "target": data.identity},
        "versions": {"core": harness.__version__, "plugins": plan.plugin_versions, **package_versions()},
        "git": git_state(),
        "environment": {"processes": accelerator.num_processes, "device": str(accelerator.device),
                        "mixed_precision": accelerator.mixed_precision},
    }
    if main:
        with atomic_dir(run_dir) as tmp:
            for lang, (extension, content) in predictions.items():
                atomic_write_text(tmp / "predictions" / data.spec.name / f"test-{lang}.{extension}", content)
            atomic_write_json(tmp / "results.json", record)
    accelerator.wait_for_everyone()
    return results_path, record


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _preload(plan: Plan) -> None:
    """Read all data of every phase up front: a malformed test file must not surface after training."""
    for data in [*plan.inter, plan.target]:
        data.preload()


def _run_intermediate(accelerator, plan: Plan, settings, key, reporter, get_kind, set_seed):
    """Train phase 2 on one task or several (one head each); return its record and an encoder saver."""
    from harness.model import TaskModel, load_backbone
    from harness.train import TrainTask, train_tasks

    set_seed(plan.request.seed)
    tokenizer, encoder = load_backbone(plan.model.location, plan.model.revision)
    model = TaskModel(encoder)
    tasks = []
    fixed: dict[int, float] = {}
    for data in plan.inter:
        kind = get_kind(data.spec.kind)
        if data.spec.kind == "masked_lm":
            fixed[len(tasks)] = settings["mlm_weight"]
            train, dev = _featurize(kind, data, "train", "multi", tokenizer, settings), []
        else:
            lang = data.spec.train_language
            train_lang = settings.get("translated") or lang
            if data.spec.kind == "tagging" and not data.spec.labels:
                data = _with_training_labels(data, train_lang)
            train = _featurize(kind, data, "train", train_lang, tokenizer, settings)
            dev = _featurize(kind, data, "dev", lang, tokenizer, settings)
        if len(plan.inter) > 1:
            dev = dev[: settings["validation_examples"]]  # a fixed subset per task keeps validation cheap
        model.add_head(data.spec.name, kind, data.spec)
        tasks.append(TrainTask(data.spec, kind, train, dev))
    prepared = accelerator.prepare_model(model)
    history = train_tasks(accelerator, prepared, tasks, settings=_train_settings(settings), seed=plan.request.seed,
                          pad_id=tokenizer.pad_token_id, reporter=reporter,
                          sampling=settings.get("sampling", "proportional"),
                          temperature=float(settings.get("temperature", 2.0)),
                          cap=settings.get("max_examples_per_task"), fixed=fixed)
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


def _run_target(accelerator, plan: Plan, data: TaskData, settings, location, revision, reporter, get_kind, set_seed):
    from harness.model import TaskModel, load_backbone
    from harness.train import predict, train_and_select

    set_seed(plan.request.seed)
    tokenizer, encoder = load_backbone(location, revision)
    kind = get_kind(data.spec.kind)
    lang = data.spec.train_language
    train = _featurize(kind, data, "train", lang, tokenizer, settings)
    dev = _featurize(kind, data, "dev", lang, tokenizer, settings)
    model = TaskModel(encoder)  # the encoder only: the head starts fresh
    model.add_head(data.spec.name, kind, data.spec)
    tests = {test_lang: _featurize(kind, data, "test", test_lang, tokenizer, settings) for test_lang in plan.languages}
    prepared = accelerator.prepare_model(model)
    train_settings = _train_settings(settings)
    history = train_and_select(accelerator, prepared, data.spec, kind, train, dev, settings=train_settings,
                               seed=plan.request.seed, pad_id=tokenizer.pad_token_id, reporter=reporter)
    scores: dict[str, float] = {}
    details: dict[str, dict] = {}
    predictions: dict[str, tuple[str, str]] = {}
    for test_lang, test in tests.items():
        preds = predict(accelerator, prepared, data.spec.name, kind, test,
                        batch_size=train_settings.per_device_batch_size * 2, pad_id=tokenizer.pad_token_id,
                        reporter=reporter, description=f"{data.spec.name} test {test_lang}")
        scores[test_lang], details[test_lang], predictions[test_lang] = kind.evaluate(preds, test, data.spec,
                                                                                     test_lang)
    phase = {"task": data.spec.name, "train_examples": len(train), "dev_examples": len(dev),
             "model_commit": getattr(encoder.config, "_commit_hash", None),
             "history": history, "test_scores": scores, "reused": False}
    if any(details.values()):
        phase["test_details"] = details
    return phase, predictions


def _run_retrieval(accelerator, plan: Plan, data: TaskData, settings, location, revision, reporter):
    """Embed both sides of every language pair with the (phase-2) encoder and search (or mine)."""
    from harness.kinds.retrieval import default_layer, embed, tatoeba_accuracy
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
    for lang in plan.languages:
        if data.spec.kind == "bitext_mining":
            scores[lang], predictions[lang], details[lang] = _mine(accelerator, encoder, tokenizer, data, lang,
                                                                    options)
            continue
        pairs = data.load("test", lang)
        source = embed(accelerator, encoder, tokenizer, [p["source"] for p in pairs], description=f"{lang} side",
                       **options)
        target = embed(accelerator, encoder, tokenizer, [p["target"] for p in pairs], description=f"{lang}-en side",
                       **options)
        scores[lang], predictions[lang] = tatoeba_accuracy(source, target)
    phase = {"task": data.spec.name, "layer": layer, "num_layers": num_layers, "pooling": settings["pooling"],
             "per_language": details,
             "model_commit": getattr(accelerator.unwrap_model(encoder).config, "_commit_hash", None),
             "test_scores": scores, "reused": False}
    return phase, predictions


def _mine(accelerator, encoder, tokenizer, data: TaskData, lang: str, options: dict):
    """BUCC for one language: threshold from the dev split's gold, pairs mined on test."""
    from harness.kinds.retrieval import best_threshold, embed, margin_candidates
    from harness.metrics import pair_f1

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
        return None, mined, detail
    result = pair_f1(["\t".join(g) for g in test["gold"]], ["\t".join(p) for p in mined])
    detail.update(precision=result["precision"], recall=result["recall"])
    return result["f1"], mined, detail
