"""Planning a cell: names, languages, data files, hub access, model and settings, checked.

Everything here runs before torch is imported, so a user's mistake fails in well under a
second, and a sweep can plan a whole grid (keys included, see ``harness.cell.protocol``) cheaply.
"""

from __future__ import annotations

import errno
import json
import os
import re
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import harness
from harness.data import hub
from harness.data.sources import TaskData, plan_task_data
from harness.contract.errors import UnknownLanguageError, UnknownNameError, UserError
from harness.common.fsutil import (  # noqa: F401  (cache_root and the path checks are re-exported)
    NAME_MAX, PATH_MAX, cache_root, check_path_names, sha256_files,
)
from harness.contract.kindset import Kinds
from harness.contract.discovery import Registered, Registry, code_identity
from harness.compute.speed import parse as parse_speed
from harness.cell import transfer as transfers
from harness.store.runstore import RunStore

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

#: ``--select-on``: which dev data picks the fine-tuned state. ``en`` is the paper's protocol
#: (the training language's dev set); ``target`` the mean over the target languages' dev sets
#: (Keung et al., 2020); ``both`` trains once and reports the two selections.
SELECT_ON = ("en", "target", "both")

#: Targets whose data has dev sets in the target languages, read per language as their
#: ``dev`` split. Other targets select on English data only: XQuAD's and MLQA's specs read
#: SQuAD's dev set for every language (MLQA's own per-language dev files are not wired into its
#: spec), TyDiQA-GoldP's dev set is its test set, and BUCC and Tatoeba are not trained.

SETTING_KEYS = ("lr", "weight_decay", "warmup_ratio", "batch_size", "per_device_batch_size", "max_length")
#: Every run option a cell takes besides its inter, target, model, seed, output, data, preset and languages:
#: ``xharness run``'s options by their long names (``harness.api.run`` takes them by these names).
RUN_OPTIONS = SETTING_KEYS + ("inter_epochs", "target_epochs", "sampling", "temperature", "max_examples_per_task",
                              "validation_examples", "mlm", "mlm_weight", "translated", "select_on",
                              "retrieval_layer", "pooling", "setting", "data_revision", "speed", "transfer", "shots",
                              "shot_seed", "shot_seeds", "shot_epochs")
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
    # How the cell is computed, not what it computes: none of these enters a key.
    checkpoint_minutes: float = 30.0
    keep_checkpoints: bool = False
    wait: bool = True  # for a phase another process is computing (False: --no-wait)
    # Which experiment the cell belongs to (``harness.store.experiments``: "run", "sweep:NAME",
    # "study:NAME"): recorded beside the run for ``report`` to group by, never part of a key.
    experiment: str = "run"
    # Experiment trackers to send the cell's progress and results to (--tracker): never part of a key.
    trackers: tuple[str, ...] = ()


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
            ident["files"], ident["sha256"] = model_digest(Path(self.location))
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
    # --speed as asked for (checked while planning); resolved against the device when the cell runs
    speed_request: dict[str, str] = field(default_factory=dict)
    speed: Any = None
    # digests of the plugin and kind code each phase runs (plugins.code_identity): part of its key
    code: dict[str, dict[str, str | None]] = field(default_factory=dict)
    # the registered trackers of --tracker (harness.tracking.Trackers calls them on the main process)
    trackers: list[Registered] = field(default_factory=list)
    # --transfer (zero-shot by default), the translated data it reads, and for few-shot the split
    # each language's shots are drawn from
    transfer: transfers.Transfer = field(default_factory=transfers.Transfer)
    translations: TaskData | None = None
    shot_splits: dict[str, str] = field(default_factory=dict)

    @property
    def kinds(self) -> Kinds:
        """The task kinds of the registry the plan was made from (each task's data carries them)."""
        return self.target.kinds


def model_files(folder: Path) -> list[Path]:
    """Every file ``from_pretrained`` may read from a model folder: config, tokenizer files,
    weights and whatever else is there, except hidden files and documentation."""
    files = []
    for path in folder.rglob("*"):
        relative = path.relative_to(folder)
        if not path.is_file() or any(part.startswith(".") for part in relative.parts):
            continue
        if path.suffix.lower() == ".md" or path.name.upper().startswith("LICENSE"):
            continue
        files.append(path)
    return sorted(files)


def model_digest(folder: Path) -> tuple[list[str], str]:
    """(the files hashed, one SHA-256 over their names and contents) for a local or built model."""
    files = model_files(folder)
    if not any(p.match(pattern) for p in files for pattern in WEIGHT_PATTERNS):
        raise UserError(f"model folder {folder} holds no weight files ({', '.join(WEIGHT_PATTERNS)})")
    return [p.relative_to(folder).as_posix() for p in files], sha256_files(files, root=folder)


#: Model types whose position ids start after the padding index (RoBERTa's
#: ``create_position_ids_from_input_ids``): n tokens read positions up to n + pad_token_id.
PADDING_OFFSET_TYPES = frozenset({"roberta", "xlm-roberta", "xlm-roberta-xl", "camembert", "roberta-prelayernorm",
                                  "data2vec-text", "xmod", "mpnet", "longformer", "luke", "ibert"})


def model_config(model: ModelChoice) -> dict[str, Any] | None:
    """The model's config.json: of its folder, or, for a hub model, the copy in the local cache;
    None when there is none (nothing is downloaded) or it is unreadable (loading will say why)."""
    if model.source in ("built", "local"):
        path = Path(model.location) / "config.json"
    else:
        try:
            from huggingface_hub import try_to_load_from_cache

            found = try_to_load_from_cache(model.location, "config.json", revision=model.revision)
        except Exception:  # an odd id or cache: the check is skipped, loading reports the real problem
            return None
        if not isinstance(found, str):
            return None
        path = Path(found)
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return config if isinstance(config, dict) else None


def model_positions(config: dict[str, Any]) -> int | None:
    """How many tokens one sequence may hold, by the config's learned absolute positions; None
    when unknown or not bounded so (rotary or relative-only positions)."""
    positions = config.get("max_position_embeddings")
    if not isinstance(positions, int) or isinstance(positions, bool) or positions <= 0:
        return None
    if (config.get("position_embedding_type") == "rotary" or config.get("position_biased_input") is False
            or any(key in config for key in ("rope_theta", "rope_scaling", "rotary_emb_base"))):
        return None
    if config.get("model_type") in PADDING_OFFSET_TYPES:
        pad = config.get("pad_token_id")
        positions -= (pad if isinstance(pad, int) and pad >= 0 else 1) + 1
    return positions


def _lengths(plan: Plan):
    """(option, value, where it comes from) of every sequence length the run tokenises to.

    A kind's own ``*_max_length`` settings (a dual encoder's query and candidate lengths) are
    capped by ``max_length``: the smaller of the two is the length used, and the one to lower.
    """
    given = parse_setting_overrides(plan.request.overrides.get("setting"))
    phases = [(plan.inter, plan.inter_settings)] if plan.inter else []
    for tasks, settings in [*phases, ([plan.target], plan.target_settings)]:
        max_length = int(settings["max_length"])
        preset = PRESETS.get(plan.request.preset or "", {})
        if plan.request.overrides.get("max_length") is not None:
            shown = ""
        elif "max_length" in preset.get("settings", {}):
            shown = f" (--preset {plan.request.preset})"
        else:
            shown = f" ({tasks[0].spec.name}'s default)" if len(tasks) == 1 else " (the default)"
        for data in tasks:
            names = [n for n in data.kinds.spec(data.spec.kind).settings if n.endswith("_max_length")]
            if len(tasks) == 1:
                own = settings
            else:
                own = (settings.get("kind_settings") or {}).get(data.spec.name, {})
            if not names:
                yield "--max-length", max_length, shown
            for name in names:
                value = int(own.get(name, data.kinds.spec(data.spec.kind).settings[name]))
                if value < max_length:
                    note = "" if name in given else f" ({data.spec.name}'s default)"
                    yield f"--setting {name}", value, note
                else:
                    yield "--max-length", max_length, shown


def check_max_length(plan: Plan) -> None:
    """Stop before training when a sequence length of the run is beyond the model's positions
    (found in its config.json; no config, no check): training would otherwise end in an index
    error at the first batch long enough to reach them."""
    config = model_config(plan.model)
    limit = model_positions(config) if config else None
    if limit is None:
        return
    for option, value, note in _lengths(plan):
        if value > limit:
            sep = "=" if option.startswith("--setting") else " "
            raise UserError(f"{option}{sep}{value}{note} is beyond what model {plan.model.name} takes ({limit} "
                            f"positions); use {option}{sep}{limit} or less")


def cache_write_error(what: str, folder: Path, exc: OSError) -> UserError | None:
    """The one line for ``exc``, raised writing ``what`` into ``folder`` of the cache, when the
    cache cannot be written (read-only, not ours, full); None for any other OSError."""
    if exc.errno not in (errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.EDQUOT, errno.ENAMETOOLONG):
        return None
    setting = os.environ.get("XHARNESS_CACHE")
    now = f"it is {setting}" if setting else f"unset, it means {cache_root()}"
    return UserError(f"cannot write {what} in {folder} ({exc.strerror or exc}); set XHARNESS_CACHE to a writable "
                     f"folder ({now})")


def resolve_model(name: str, registry: Registry) -> ModelChoice:
    registered = registry.model(name)
    if registered is not None:
        spec = registered.spec
        if spec.build is not None:
            folder = cache_root() / "models" / f"{spec.name}-v{spec.build_version}-{registered.plugin}-{registered.plugin_version}"
            return ModelChoice(spec.name, "built", str(folder), None, registered)
        if _is_path(spec.hub_id):  # an alias for a folder of the lab's own (a checkpoint, a local copy)
            return _local_model(spec.hub_id, f"model {spec.name} (plugin {registered.plugin})", spec.name, registered)
        return _hub_model(spec.name, spec.hub_id, spec.revision, registered)
    check_path_names("--model", name)
    path = Path(name).expanduser()
    if path.is_dir():
        return _local_model(name, f"--model {name}", path.name)
    if name.startswith(("/", "~", ".")) or path.exists():  # a path, not a name: it is not a model folder
        raise UserError(f"--model {name}: {'no such folder' if not path.exists() else 'not a folder'}; pass a saved "
                        f"model folder (with config.json), a registered model name (`xharness list`) or a hub id")
    if "/" in name and not name.startswith((".", "/", "~")):
        return _hub_model(name, name, None, None)
    raise UnknownNameError("model", name, registry.models)


def _is_path(location: str) -> bool:
    """A local folder rather than a hub id: absolute, home- or dot-relative, or an existing folder."""
    return location.startswith(("/", "~", ".")) or Path(location).expanduser().is_dir()


def _local_model(location: str, what: str, name: str, spec: Registered | None = None) -> ModelChoice:
    path = Path(location).expanduser()
    if not path.is_dir():
        raise UserError(f"{what} points at {location}, which is not a folder: save the model there "
                        f"(save_pretrained) or correct the path")
    if not (path / "config.json").is_file():
        raise UserError(f"{what} points at {location}, a folder without config.json: point it at a saved model folder")
    return ModelChoice(name, "local", str(path.resolve()), None, spec)


def _hub_model(name: str, hub_id: str, revision: str | None, spec: Registered | None) -> ModelChoice:
    choice = ModelChoice(name, "hub", hub_id, revision or "main", spec)
    if not hub.hub_reachable():
        if not hub.model_maybe_cached(hub_id):
            raise UserError(f"model {hub_id} cannot be loaded: the Hugging Face hub is unreachable and the model is "
                            f"not in the local cache; pass --model with a local model folder, or --preset smoke")
        hub.go_offline()
    return choice


def _by_model(task_defaults: dict[str, Any], model: ModelChoice | None) -> dict[str, Any]:
    """A task's defaults for this backbone: ``defaults["by_model"][name or hub id]`` over the rest
    (XTREME-R's scripts use another learning rate for mBERT than for XLM-R, say)."""
    chosen = {k: v for k, v in task_defaults.items() if k != "by_model"}
    table = task_defaults.get("by_model") or {}
    if model is not None:
        for name in (model.location, model.name):  # the registered name wins over the hub id
            chosen.update(table.get(name, {}))
    return chosen


def _settings(task_defaults: dict[str, Any], preset: dict[str, Any], epochs_key: str,
              overrides: dict[str, Any], model: ModelChoice | None = None) -> dict[str, Any]:
    task_defaults = _by_model(task_defaults, model)
    settings = dict(CORE_DEFAULTS)
    settings.update({k: v for k, v in task_defaults.items() if k in CORE_DEFAULTS})
    settings.update(preset.get("settings", {}))
    if epochs_key in preset:
        settings["epochs"] = preset[epochs_key]
    settings.update({k: v for k, v in overrides.items() if k in SETTING_KEYS and v is not None})
    if overrides.get(epochs_key) is not None:
        settings["epochs"] = overrides[epochs_key]
    # One spelling per value, so that "3" from a preset and "3.0" from the command line key alike.
    for key in ("lr", "weight_decay", "warmup_ratio", "epochs"):
        settings[key] = float(settings[key])
    for key in ("batch_size", "per_device_batch_size", "max_length"):
        settings[key] = int(settings[key])
        if int(settings[key]) < 1:
            raise UserError(f"--{key.replace('_', '-')} must be at least 1")
    if settings["epochs"] <= 0 or settings["lr"] <= 0:
        raise UserError("epochs and learning rate must be positive")
    return settings


def parse_setting_overrides(values) -> dict[str, str]:
    """``--setting NAME=VALUE`` (repeatable) as a mapping, checked for form."""
    parsed: dict[str, str] = {}
    for text in values or ():
        name, sep, value = str(text).partition("=")
        if not sep or not name.strip():
            raise UserError(f"--setting {text!r}: give NAME=VALUE (e.g. --setting query_max_length=64)")
        parsed[name.strip()] = value.strip()
    return parsed


def _coerce(name: str, raw: Any, default: Any) -> Any:
    if not isinstance(raw, str):
        return raw
    try:
        if isinstance(default, bool):
            if raw.lower() not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError
            return raw.lower() in ("true", "1", "yes")
        if isinstance(default, int):
            return int(raw)
        if isinstance(default, float):
            return float(raw)
    except ValueError:
        wanted = ("true or false" if isinstance(default, bool) else "a whole number" if isinstance(default, int)
                  else "a number")
        raise UserError(f"--setting {name}={raw}: expected {wanted} (default {default!r})") from None
    return raw


def kind_settings(spec, task_defaults: dict[str, Any], given: dict[str, str], kinds: Kinds) -> dict[str, Any]:
    """The values of the task's kind's own settings: kind default < task default < ``--setting``,
    checked by the kind (``kinds``: the registry's kinds)."""
    kind = kinds.spec(spec.kind)
    own = kind.settings
    values = {name: task_defaults.get(name, default) for name, default in own.items()}
    for name, raw in given.items():
        if name in own:
            values[name] = _coerce(name, raw, own[name])
    if kind.check_settings is not None and values:
        try:
            kind.check_settings(values)
        except (ValueError, TypeError) as exc:
            raise UserError(f"{spec.name}: setting {exc} (set with --setting NAME=VALUE)") from None
    return values


def _check_setting_names(given: dict[str, str], specs, kinds: Kinds) -> None:
    known = {name for spec in specs for name in kinds.spec(spec.kind).settings}
    for name in given:
        if name not in known:
            offered = ", ".join(sorted(known)) or "none (their kinds have no settings of their own)"
            raise UserError(f"--setting {name}: not a setting of these tasks' kinds; settings they have: {offered}")


def plan_languages(requested: list[str] | None, target: Registered, registry: Registry) -> list[str]:
    """The target languages of a run: the task's default ones, those listed, or a leaderboard's set
    for this task (``--languages xtreme-r``), always in the task's own order so that equal sets key
    alike."""
    spec = target.spec
    if not requested:
        return list(spec.languages)
    offered = spec.all_languages
    if len(requested) == 1 and requested[0] not in offered and (
            requested[0] in registry.leaderboards or requested[0] in registry.conflicts["leaderboard"]):
        board = registry.leaderboard(requested[0]).spec
        entry = next((t for t in board.tasks if t.name == spec.name), None)
        if entry is None:
            raise UserError(f"--languages {board.name}: leaderboard {board.name} has no task {spec.name} "
                            f"(it has {', '.join(t.name for t in board.tasks)})")
        lacking = [lang for lang in entry.languages if lang not in offered]
        if lacking:
            raise UserError(f"--languages {board.name}: {spec.name} has no data for {', '.join(lacking)}, which "
                            f"{board.name} lists; update the plugin that registers {spec.name}")
        requested = list(entry.languages)
    for lang in requested:
        if lang not in offered:
            raise UnknownLanguageError(spec.name, lang, offered)
    return [lang for lang in offered if lang in requested]


def plan_mlm_corpus(corpus: str, kinds: Kinds, weight: float) -> TaskData:
    """The --mlm corpus as a training task: local text files (one sentence or document a line) or a
    hub dataset ``name[:config]`` with a ``text`` column, drawn for a fixed ``weight`` (share) of
    the batches of multi-task training."""
    from harness.contract.spec import HubSource, LocalSource, TaskSpec

    check_path_names("--mlm", corpus)
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
                              data_dir=folder.resolve(), kinds=kinds)
    elif "/" in corpus and not corpus.startswith((".", "/", "~")):
        name, _, config = corpus.partition(":")
        spec = TaskSpec(name="mlm", kind="masked_lm", description=f"masked LM on {corpus}", languages=("multi",),
                        metric="loss", local=LocalSource(file=lambda s, l: "", read=read_lines),
                        hub=HubSource(path=name, config=config or None, splits={"train": "train"},
                                      convert=lambda row, lang: {"text": row["text"]} if row.get("text") else None))
        data = plan_task_data(Registered(spec, "core", harness.__version__), [("train", "multi")], source="hub",
                              data_dir=None, kinds=kinds)
    else:
        raise UserError(f"--mlm {corpus}: no such file or folder (or give a hub dataset as name[:config])")
    data.weight = weight
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


def plan_translated(value: Any, tasks: list[Registered], source: str) -> dict[str, list[str]]:
    """``--translated``: the training languages of each intermediate task (empty: no option given).

    ``value`` is one language, several joined by commas (or a list), or ``all``. A language is
    read as the task's ``train`` split in that language: a machine-translated one from
    ``TaskSpec.translated_train``, or the task's own (English) training data for its
    ``train_language`` (``en``). ``all`` is every language the task has translations for, so with
    several tasks each gets its own set (``en,all`` adds the English data); a language named
    explicitly must exist for every task. Each task's languages come in a fixed order (English,
    then the order of ``translated_train``), so equal sets key alike whatever order they are
    named in.
    """
    if value is None or value == "" or not tasks:
        return {}
    raw = [str(x) for x in value] if isinstance(value, (list, tuple)) else str(value).split(",")
    names = [x.strip() for x in raw]
    if not all(names):
        raise UserError(f"--translated {value!r}: give a language, several joined by commas, or all")
    if len({n.lower() if n.lower() == "all" else n for n in names}) != len(names):
        raise UserError(f"--translated {value!r} names a language twice")
    chosen: dict[str, list[str]] = {}
    for task in tasks:
        spec = task.spec
        own, offered = spec.train_language, tuple(spec.translated_train)
        wanted: set[str] = set()
        for name in names:
            if name.lower() == "all":
                if not offered and own not in names:
                    raise UserError(f"--translated all: {spec.name} has no translated training data; name "
                                    f"{own} too ({own},all) to train it on its own {own} data, or leave it out")
                wanted.update(offered)
            elif name == own or name in offered:
                wanted.add(name)
            else:
                raise UserError(f"{spec.name} has no translated training data in {name!r} (languages it has: "
                                f"{', '.join(offered) or 'none'}; {own}: its own training data)")
        chosen[spec.name] = [own] * (own in wanted) + [lang for lang in offered if lang in wanted and lang != own]
    if source == "hub" and any(lang != t.spec.train_language for t in tasks for lang in chosen[t.spec.name]):
        raise UserError("translated training data is read from local files: pass --data-dir (or --preset smoke)")
    return chosen


def translated_setting(train_languages: dict[str, list[str]], tasks: list[Registered]) -> Any:
    """What ``--translated`` puts in the intermediate settings (and so in the key): None when every
    task trains on its own data only (``--translated en`` keys as no option), one language as a
    plain string (as single-language runs always have), several as a list, and a mapping from task
    to list when the tasks' sets differ (``all`` over tasks with different translations)."""
    if not train_languages:
        return None
    if all(train_languages[t.spec.name] == [t.spec.train_language] for t in tasks):
        return None
    sets = [train_languages[t.spec.name] for t in tasks]
    if all(s == sets[0] for s in sets):
        return sets[0][0] if len(sets[0]) == 1 else list(sets[0])
    return {t.spec.name: list(train_languages[t.spec.name]) for t in tasks}


def plan_run(request: RunRequest, registry: Registry) -> Plan:
    check_path_names("--output", request.output)
    check_seed(request.seed)
    RunStore(request.output).check_folder()  # writability is checked when the cell runs: a read-only store serves what it holds
    preset: dict[str, Any] = {}
    if request.preset is not None:
        if request.preset not in PRESETS:
            raise UnknownNameError("preset", request.preset, PRESETS)
        preset = PRESETS[request.preset]
    target = registry.task("target", request.target)
    wanted = request.inter.strip().lower()
    if wanted == "all":
        clashing = sorted(registry.conflicts["intermediate task"])
        if clashing:  # "all" must not quietly mean fewer tasks than the user has installed
            registry.task("intermediate", clashing[0])
        inter_names = sorted(registry.tasks["intermediate"])
    else:
        inter_names = [] if wanted == "none" else [n.strip() for n in request.inter.split(",") if n.strip()]
    if not inter_names and wanted != "none":
        raise UserError("--inter needs a task name, several joined by commas, all, or none for the baseline")
    if len(set(inter_names)) != len(inter_names):
        raise UserError("--inter names a task twice")
    inter = [registry.task("intermediate", n) for n in inter_names]

    languages = plan_languages(request.languages, target, registry)

    source = "bundled" if preset.get("source") == "bundled" else ("local" if request.data_dir else "hub")
    if source == "bundled" and request.data_dir is not None:
        source = "local"  # an explicit --data-dir wins over the preset's samples
    if request.data_dir:
        check_path_names("--data-dir", request.data_dir)
    data_dir = Path(request.data_dir).expanduser().resolve() if request.data_dir else None

    revisions = parse_data_revisions(request.overrides.get("data_revision"))
    (target, *inter), applied = apply_data_revisions([target, *inter], revisions, source)
    train_languages = plan_translated(request.overrides.get("translated"), inter, source)
    kinds = registry.kind_set  # the registry's kinds travel in the plan (in each TaskData)
    inter_data = []
    for task in inter:
        lang = task.spec.train_language
        # every training language's file is found (and later read) before any training starts
        needs = [("train", train_lang) for train_lang in train_languages.get(task.spec.name, [lang])]
        inter_data.append(plan_task_data(task, [*needs, ("dev", lang)], source=source, data_dir=data_dir,
                                         revision_overrides=applied[task.spec.name], kinds=kinds))
    untrained = not kinds.trained(target.spec.kind)
    train_lang = target.spec.train_language
    select_on = _select_on(request.overrides.get("select_on"), target, train_lang, languages, registry, source)
    needs = [] if untrained else [("train", train_lang), ("dev", train_lang)]
    if kinds.spec(target.spec.kind).dev_per_language:  # BUCC: the threshold is chosen on each language's dev
        needs += [("dev", lang) for lang in languages]
    selection: list[str] = []
    if select_on != "en":  # read and checked before training, like every other split
        selection = selection_languages(target, [lang for lang in languages if lang != train_lang], source)
        needs += [("dev", lang) for lang in selection if ("dev", lang) not in needs]
    transfer = transfers.parse(request.overrides)
    transfers.check(transfer, target, kinds, select_on)
    shot_splits: dict[str, str] = {}
    if transfer.setting == "few-shot":  # each language's shots, and the dev data that selects its epoch
        translations_of = registry.translation(target.spec.name)  # machine-translated training data is no shot
        machine = tuple(translations_of.spec.train_languages) if translations_of is not None else ()
        for lang in languages:
            if lang == train_lang:
                continue
            shot_splits[lang] = transfers.shot_split(target.spec, lang, source, data_dir, machine)
            for split in {shot_splits[lang], "dev"} if target.spec.target_dev else {shot_splits[lang]}:
                if (split, lang) not in needs:
                    needs.append((split, lang))
    needs += [("test", lang) for lang in languages]
    if kinds.spec(target.spec.kind).pooled_test:  # the candidate pool holds every language's test data
        needs += [("test", lang) for lang in target.spec.languages if lang not in languages]
    target_data = plan_task_data(target, needs, source=source, data_dir=data_dir,
                                 revision_overrides=applied[target.spec.name], kinds=kinds)
    translations = transfers.plan_translations(transfer, target, registry, languages, source=source,
                                               data_dir=data_dir, kinds=kinds)
    if source == "hub":  # how a hub source differs from what the benchmark published, said once
        for task in (*inter, target):
            if task.spec.hub is not None and task.spec.hub_note:
                _note(f"note: {task.spec.name} from the hub: {task.spec.hub_note}")

    model = resolve_model(request.model or preset.get("model") or "xlm-roberta-large", registry)
    if request.model and preset.get("model") and request.model != preset["model"] and preset.get("settings"):
        # the preset's learning rate and batch sizes suit its own tiny model, not the one named:
        # that model trains with the task's own settings (keeping the preset's data and epochs)
        dropped = ", ".join(f"{k}={v}" for k, v in preset["settings"].items())
        preset = {k: v for k, v in preset.items() if k != "settings"}
        _note(f"note: --preset {request.preset} with --model {request.model}: the preset's settings for its "
              f"{PRESETS[request.preset]['model']} model ({dropped}) do not apply; the tasks' own settings do "
              f"(see hyperparameters in results.json)")
    # one task brings its own defaults; several share the protocol's and add how batches are drawn
    given = parse_setting_overrides(request.overrides.get("setting"))
    _check_setting_names(given, [t.spec for t in inter] + [target.spec], kinds)
    inter_defaults = _by_model(dict(inter[0].spec.defaults), model) if len(inter) == 1 else {}
    inter_settings = _settings(inter_defaults, preset, "inter_epochs", request.overrides)
    # each task's kind settings (its own defaults, then --setting): flat for one task, per task for several
    own = {task.spec.name: kind_settings(task.spec, _by_model(dict(task.spec.defaults), model), given, kinds)
           for task in inter}
    if len(inter) == 1:
        inter_settings.update(own[inter[0].spec.name])
    elif any(own.values()):
        inter_settings["kind_settings"] = {name: values for name, values in own.items() if values}
    mlm = request.overrides.get("mlm")
    if mlm:
        if not inter:
            raise UserError("--mlm is mixed into intermediate training: give --inter one or more tasks too")
        weight = float(request.overrides.get("mlm_weight") or 0.25)
        if not 0 < weight < 1:
            raise UserError("--mlm-weight is the share of batches for masked LM: a number between 0 and 1")
        inter_data.append(plan_mlm_corpus(mlm, kinds, weight))
        inter_settings["mlm_weight"] = weight
    translated = translated_setting(train_languages, inter)
    if translated is not None:
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
        target_settings = _settings(dict(target.spec.defaults), preset, "target_epochs", request.overrides, model)
        target_settings.update(kind_settings(target.spec, _by_model(dict(target.spec.defaults), model), given,
                                             kinds))
    if select_on != "en":  # only then: the keys of runs with the paper's selection stay as they were
        target_settings["select_on"] = select_on
        if selection != [lang for lang in languages if lang != train_lang]:  # some lack dev data: keyed
            target_settings["select_languages"] = selection
    if not transfer.zero_shot:  # only then: every zero-shot key stays as it was
        target_settings["transfer"] = transfer.as_setting()
    registered_model = model.spec if model is not None else None
    # the translations' plugin computes with the target phase too (its readers), when one is read
    read = [target] + ([translations.task] if translations is not None else [])
    code = {"intermediate": code_identity(registry, inter, registered_model) if inter else {},
            "target": code_identity(registry, read, registered_model)}
    return Plan(request, inter_data, target_data, languages, model, inter_settings, target_settings, source,
                registry.plugin_versions(), speed_request=parse_speed(request.overrides.get("speed")), code=code,
                trackers=plan_trackers(request.trackers, registry), transfer=transfer, translations=translations,
                shot_splits=shot_splits)


def plan_trackers(names, registry: Registry) -> list[Registered]:
    """``--tracker a,b``: the registered trackers, each named once (an unknown one is one line)."""
    chosen: list[Registered] = []
    for name in names or ():
        item = registry.tracker(str(name).strip())
        if item not in chosen:
            chosen.append(item)
    return chosen


def _select_on(value: str | None, target: Registered, train_lang: str, languages: list[str],
               registry: Registry, source: str) -> str:
    """``--select-on``, checked: a known choice, on a target with dev data in its target languages."""
    choice = (value or "en").strip().lower()
    if choice not in SELECT_ON:
        raise UserError(f"--select-on {value!r} is not a choice: use {', '.join(SELECT_ON)}")
    if choice == "en":
        return choice
    if not target.spec.target_dev:
        having = sorted(name for name, item in registry.tasks["target"].items() if item.spec.target_dev)
        raise UserError(f"--select-on {choice}: {target.spec.name} has no dev data in its target languages; "
                        f"targets that have: {', '.join(having)}")
    if target.spec.target_dev == "local" and source == "hub":
        raise UserError(f"--select-on {choice}: {target.spec.name}'s dev sets in its target languages are read "
                        f"from local files; pass --data-dir (or --preset smoke)")
    if not [lang for lang in languages if lang != train_lang]:
        raise UserError(f"--select-on {choice} selects on the target languages' dev sets: give --languages "
                        f"at least one language besides {train_lang}")
    return choice


def selection_languages(target: Registered, candidates: list[str], source: str) -> list[str]:
    """The target languages ``--select-on target|both`` selects on: ``candidates`` less those whose
    hub data has no dev split (UD's Kazakh, Tagalog, Thai and Yoruba), which are named on stderr in one
    line; none left is a UserError. Local files and bundled samples are checked when they are found."""
    hub_source = target.spec.hub
    if source != "hub" or hub_source is None:
        return list(candidates)
    kept = [lang for lang in candidates if hub_source.has_split("dev", lang)]
    skipped = [lang for lang in candidates if lang not in kept]
    if not kept:
        raise UserError(f"--select-on: {target.spec.name} on the hub has no dev split for {', '.join(skipped)}; "
                        f"give --languages with some that have one, or --data-dir with dev files")
    if skipped:
        _note(f"note: --select-on: {target.spec.name} on the hub has no dev split for {', '.join(skipped)}; "
              f"selecting on {', '.join(kept)} only")
    return kept


_NOTED: set[str] = set()


def _note(line: str) -> None:
    """One line on stderr, once a process (a sweep plans many cells alike)."""
    if line not in _NOTED:
        _NOTED.add(line)
        print(line, file=sys.stderr)


#: ``--data-revision NAME=REVISION``: a full commit, or a branch or tag (resolved and recorded).
_REVISION = re.compile(r"[0-9a-f]{40}|(?![0-9a-f]+$)[A-Za-z0-9][A-Za-z0-9._/-]{0,199}")


def parse_data_revisions(values) -> dict[str, str]:
    """``--data-revision TASK=COMMIT`` or ``DATASET=COMMIT`` (repeatable) as a mapping, checked for form."""
    parsed: dict[str, str] = {}
    for text in values or ():
        name, sep, revision = str(text).partition("=")
        name, revision = name.strip(), revision.strip()
        if not sep or not name or not revision or not _REVISION.fullmatch(revision):
            raise UserError(f"--data-revision {text!r}: give TASK=COMMIT or DATASET=COMMIT with a full 40-hex commit "
                            f"(or a branch name), e.g. --data-revision xnli=<commit> or google/xtreme=<commit>")
        if parsed.get(name, revision) != revision:
            raise UserError(f"--data-revision names {name} twice, with {parsed[name]} and {revision}")
        parsed[name] = revision
    return parsed


def apply_data_revisions(tasks: list[Registered], given: dict[str, str], source: str
                         ) -> tuple[list[Registered], dict[str, dict[str, str]]]:
    """``tasks`` with ``--data-revision`` applied to their hub sources, and the values each task took.

    ``TASK=REV`` sets the revision of every source of that task that reads the task's own dataset
    (its ``hub.path``); ``DATASET=REV`` that of every source reading that dataset, in any task of the
    run (a task's own value wins). A name that matches nothing the run reads is a UserError.
    """
    applied: dict[str, dict[str, str]] = {task.spec.name: {} for task in tasks}
    if not given:
        return list(tasks), applied
    if source != "hub":
        where = "the bundled samples" if source == "bundled" else "files under --data-dir"
        raise UserError(f"--data-revision picks a hub dataset's commit, but this run reads {where}; leave it out")
    names = {task.spec.name for task in tasks}
    read = sorted({s.path for task in tasks if task.spec.hub is not None for s in task.spec.hub.walk()})
    for name in given:
        if "/" in name and name not in read:
            raise UserError(f"--data-revision {name}=...: no task of this run reads hub dataset {name} "
                            f"(it reads {', '.join(read) or 'none'})")
        if "/" not in name and name not in names:
            raise UserError(f"--data-revision {name}=...: {name} is not a task of this run "
                            f"({', '.join(sorted(names))}); give TASK=COMMIT or DATASET=COMMIT")
    result = []
    for task in tasks:
        hub_source = task.spec.hub
        if hub_source is None:
            result.append(task)  # a task named here that has no hub source fails in plan_task_data
            continue
        used = applied[task.spec.name]
        own = given.get(task.spec.name)

        def revision_of(source_, own=own, main=hub_source.path, used=used, name=task.spec.name):
            if own is not None and source_.path == main:
                used[name] = own
                return own
            if source_.path in given:
                used[source_.path] = given[source_.path]
                return given[source_.path]
            return source_.revision

        changed = hub_source.with_revisions(revision_of)
        result.append(replace(task, spec=replace(task.spec, hub=changed)) if used else task)
    return result, applied


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.+-]+", "-", text).strip("-")[:60] or "model"


#: The longest phase folder name kept as it is: the store names files after a folder with up to 49
#: bytes more (its lock owner's temporary name ``.<parent>--<name>.owner.<writer tag>.<random>.tmp``,
#: the writer tag at most ``fsutil.TAG_MAX`` bytes), so a longer name cannot be written.
MAX_FOLDER_NAME = NAME_MAX - 49


def folder_name(readable: str, key: str) -> str:
    """A phase folder's name, ``{readable}-{key}``. When that is longer than ``MAX_FOLDER_NAME``
    bytes (many or long task names), the readable part is cut to fit; the key, a hash of all that
    determines the phase, keeps the name unique. Every name that fits is left as it is."""
    name = f"{readable}-{key}"
    if len(name.encode("utf-8")) <= MAX_FOLDER_NAME:
        return name
    budget = MAX_FOLDER_NAME - len(f"--{key}".encode("utf-8"))
    cut = readable.encode("utf-8")[:budget].decode("utf-8", errors="ignore").rstrip("-_+.")
    return f"{cut}--{key}"


#: What seeds Python, NumPy and torch all take (NumPy's ``seed`` wants 0 … 2**32 - 1).
MAX_SEED = 2**32 - 1


def check_seed(seed: int) -> None:
    if not 0 <= int(seed) <= MAX_SEED:
        raise UserError(f"--seed {seed}: use a whole number from 0 to {MAX_SEED}")


