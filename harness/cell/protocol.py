"""One cell of the grid: pretrained backbone → intermediate task → target task.

Planning lives in ``harness.cell.planning``, the phase runners in ``harness.cell.phases`` and the store
in ``harness.store.runstore``; this module decides, phase by phase, whether to reuse or compute. Phases
are keyed by a hash of everything that determines them; a finished phase is verified and
reused, never recomputed, and outputs appear only when complete.
"""

from __future__ import annotations

import json
import os
import time
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import harness
from harness.cell.diagnostics import diagnose
from harness.compute import outcomes
from harness.contract.errors import UserError
from harness.common.fsutil import atomic_dir, atomic_write_json, atomic_write_text, remove_dead_temporaries, stable_hash
from harness.common.interrupt import Interrupted
from harness.cell.planning import (  # noqa: F401  (re-exported: callers import the cell's API from here)
    CORE_DEFAULTS, PRESETS, ModelChoice, Plan, RunRequest, _slug, cache_root, cache_write_error,
    check_max_length, folder_name, model_digest, plan_run,
)
from harness.cell.record import SCHEMA, git_state, package_versions
from harness.cell.phases import mean, run_intermediate, run_retrieval, run_target
from harness.cell import transfer as transfers
from harness.contract.tracking import TrackedRun
from harness.store import experiments
from harness.tracking import Trackers
from harness.store.runstore import RunStore, problem


def _ensure_built(model: ModelChoice) -> None:
    folder = Path(model.location)
    if (folder / "config.json").is_file():
        return
    remove_dead_temporaries(folder.parent)  # half-built models of processes that were killed
    try:
        with atomic_dir(folder) as tmp:
            model.spec.spec.build(tmp)
    except OSError as exc:  # a read-only or full cache: one line, not a traceback
        error = cache_write_error(f"the built model {model.name}", folder.parent, exc)
        if error is None:
            raise
        raise error from None


def make_accelerator(heads: int = 1, speed_request: dict[str, str] | None = None):
    """The accelerator of a run and its resolved ``harness.compute.speed.Speed`` (precision among them)."""
    import torch
    from accelerate import Accelerator
    from accelerate.utils import DistributedDataParallelKwargs

    from harness.compute import speed

    gpu = torch.cuda.is_available()
    chosen = speed.resolve(speed_request, device_type="cuda" if gpu else "cpu",
                          bf16=gpu and torch.cuda.is_bf16_supported())
    # With several heads each step uses one, so DDP must expect unused parameters.
    handlers = [DistributedDataParallelKwargs(find_unused_parameters=True)] if heads > 1 else []
    # cpu=True is what makes accelerate start gloo when torchrun launches CPU processes.
    accelerator = Accelerator(mixed_precision="bf16" if chosen.precision == "bf16" else "no", cpu=not gpu,
                              kwargs_handlers=handlers)
    return accelerator, chosen


@dataclass
class CellPaths:
    """Where one cell's phases live in the store, by key (phase 2 absent for the baseline)."""

    run_key: str
    run_dir: Path
    inter_key: str | None = None
    inter_folder: Path | None = None
    names: str = ""


def cell_paths(plan: Plan, model_identity: dict[str, Any]) -> CellPaths:
    """The keys and folders of ``plan``'s phases: cheap, so a sweep can plan a whole grid."""
    request = plan.request
    output = RunStore(request.output).root
    core = {"version": harness.__version__}
    start_identity: dict[str, Any] = {"model": model_identity}
    names = "+".join(d.spec.name for d in plan.inter)
    inter_key = inter_folder = None
    if plan.inter:
        key_material = {"phase": "intermediate", "core": core, "model": model_identity,
                        "tasks": [d.identity for d in plan.inter], "settings": plan.inter_settings,
                        "seed": request.seed, "code": plan.code.get("intermediate")}
        inter_key = stable_hash(key_material)
        label = names if len(plan.inter) <= 3 else f"{len(plan.inter)}tasks"
        readable = f"{label}-{_slug(plan.model.name)}-seed{request.seed}"
        inter_folder = output / "intermediate" / folder_name(readable, inter_key)
        start_identity = {"intermediate_key": inter_key}
    data = plan.target
    key_material = {"phase": "target", "core": core, "start": start_identity, "task": data.identity,
                    "languages": plan.languages, "settings": plan.target_settings, "seed": request.seed,
                    "code": plan.code.get("target")}
    if plan.translations is not None:  # --transfer translate-*: the translated files are data of the cell too
        key_material["translations"] = plan.translations.identity
    key = stable_hash(key_material)
    readable = f"{names or 'none'}__{data.spec.name}__{_slug(plan.model.name)}__seed{request.seed}"
    run_dir = output / "runs" / folder_name(readable, key)  # "{readable}-{key}", cut to fit when too long
    return CellPaths(key, run_dir, inter_key, inter_folder, names)


def prepare_model(plan: Plan) -> dict[str, Any]:
    """Build the model if it is a built one; return its identity (files hashed) for the keys."""
    if plan.model.source == "built":
        _ensure_built(plan.model)
    check_max_length(plan)  # before any training: a length beyond the model's positions fails in one line
    return plan.model.identity()


def execute(plan: Plan, reporter_factory=None) -> tuple[Path, dict[str, Any]]:
    """Run (or reuse) every phase of ``plan``; return the results path and record.

    On :class:`~harness.common.interrupt.Interrupted` the exception carries, in ``kept``, the finished
    phases that stay on disk; temporary folders are removed on the way out.
    """
    kept: list[str] = []
    opened: list[Trackers] = []
    try:
        return _execute(plan, reporter_factory, kept, opened)
    except Interrupted as stop:
        stop.kept = kept
        raise
    finally:  # a tracked run is closed however the cell ends (finished twice is a no-op)
        for tracking in opened:
            tracking.finish()


def _main_decides(accelerator, decide):
    """Run ``decide()`` on the main process and hand its answer to every process, so that all of
    them reuse or compute the same phases (only the main one takes locks and reads the store)."""
    if accelerator.num_processes == 1:
        return decide()
    from accelerate.utils import broadcast_object_list

    answer = [decide() if accelerator.is_main_process else None]
    broadcast_object_list(answer)
    return answer[0]


def _execute(plan: Plan, reporter_factory, kept: list[str], opened: list) -> tuple[Path, dict[str, Any]]:
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from accelerate.utils import set_seed

    from harness.training.checkpoint import Checkpointer
    from harness.common.progress import Reporter

    get_kind = plan.kinds.get  # the kinds of the registry this plan was made from
    request = plan.request
    experiment = experiments.Experiment.parse(request.experiment)
    for data in [*plan.inter, plan.target]:  # a plugin's kind that fails to import stops the run before training
        get_kind(data.spec.kind)
    accelerator, plan.speed = make_accelerator(heads=max(1, len(plan.inter)), speed_request=plan.speed_request)
    main = accelerator.is_main_process
    reporter = (reporter_factory or Reporter)(main)
    if plan.speed.device == "cuda" or plan.speed.notes or plan.speed_request:
        reporter.log("speed: " + plan.speed.summary())
    store = RunStore(request.output)
    model_identity = _main_decides(accelerator, lambda: prepare_model(plan))
    paths = cell_paths(plan, model_identity)
    names, data, settings = paths.names, plan.target, plan.target_settings
    results_path = paths.run_dir / "results.json"

    def locked(folder: Path, describe: str):
        return store.lock(folder, describe, reporter.log, wait=request.wait) if main else nullcontext()

    def checkpointer(folder: Path) -> Checkpointer:
        return Checkpointer(store, store.checkpoint_dir(folder), every_minutes=request.checkpoint_minutes, main=main,
                            log=reporter.log)

    def reusable(folder: Path, describe: str) -> bool:
        found = store.reusable(folder, describe, reporter.log)
        # also when the phase is finished: a run killed while clearing its checkpoints leaves them
        # renamed to a temporary name, which nothing else would remove
        for path, size in store.clean_stale(folder):
            reporter.log(f"removed {path.name} ({size / 2**20:.1f} MiB), left by a process that stopped")
        if found and not request.keep_checkpoints:  # a run killed between sealing a phase and clearing them
            checkpointer(folder).clear()
            for language in store.language_checkpoint_dirs(folder):  # and its languages' (--transfer)
                Checkpointer(store, language, every_minutes=0, main=main, log=reporter.log).clear()
        return found

    if main:
        store.check_layout()  # a file where a folder belongs, or a link where the store writes: one line
        for folder in (paths.run_dir, paths.inter_folder):
            if folder is not None:
                store.refuse_link(folder, "a phase folder")
        for path, size in store.clean_dead():
            reporter.log(f"removed {path.relative_to(store.root)} ({size / 2**20:.1f} MiB), left by a process that "
                         f"stopped")
    unwritable = _main_decides(accelerator, store.unwritable)
    if unwritable is not None:  # a store shared for reading: serve what it holds, refuse only missing work
        trouble = problem(paths.run_dir) if paths.run_dir.exists() else "it is not there"
        if trouble is None:
            reporter.log(f"phase 3 ({data.spec.name}): reusing finished run {paths.run_dir} (the store is read-only, "
                         f"so it is not recorded as part of experiment {experiment.label})")
            return results_path, json.loads(results_path.read_text(encoding="utf-8"))
        raise UserError(f"--output {store.root} cannot be written ({unwritable}), and the run of {data.spec.name} "
                        f"after {names or 'no intermediate task'} is not finished there ({trouble}); run it with a "
                        f"writable --output")

    with locked(paths.run_dir, f"the run of {data.spec.name} after {names or 'no intermediate task'}"):
        # A finished phase 3 needs nothing else, not even its phase-2 encoder.
        if _main_decides(accelerator, lambda: reusable(paths.run_dir, f"the finished run of {data.spec.name}")):
            record = json.loads(results_path.read_text(encoding="utf-8"))
            reporter.log(f"phase 3 ({data.spec.name}): reusing finished run {paths.run_dir}")
            if plan.speed_request:
                _note_other_speed(record, plan.speed, reporter)
            if main:
                _join(store, experiment, paths.run_dir, reporter)
                track_finished(plan, paths, record, reporter.log)
            return results_path, record

        # trackers live on the main process only; a failing one costs a warning line, never the run
        tracking = Trackers(plan.trackers, reporter.log) if main and plan.trackers else None
        if tracking:
            opened.append(tracking)

        # Phase 2 ----------------------------------------------------------------------
        phase2: dict[str, Any] | None = None
        start_location, start_revision = plan.model.location, plan.model.revision
        if plan.inter:
            inter_folder = paths.inter_folder
            with locked(inter_folder, f"phase 2 ({names})"):
                if _main_decides(accelerator, lambda: reusable(inter_folder, f"the phase-2 encoder of {names}")):
                    phase2 = dict(json.loads((inter_folder / "phase.json").read_text(encoding="utf-8")), reused=True)
                    reporter.log(f"phase 2 ({names}): reusing finished phase {inter_folder}")
                    plan.target.preload()
                    _preload_transfer(plan)
                else:
                    _preload(plan)  # every split of both phases, checked before the first step of training
                    reporter.log(f"phase 2: training on {names} ({plan.source} data)")
                    began = time.perf_counter()
                    checkpoints = checkpointer(inter_folder)
                    if tracking:
                        tracking.start(tracked(plan, paths, experiment, store, "intermediate", None))
                    try:
                        phase2, save_encoder = run_intermediate(accelerator, plan, plan.inter_settings,
                                                                paths.inter_key, reporter, get_kind, set_seed,
                                                                checkpoints=checkpoints, tracking=tracking)
                        if tracking:
                            tracking.summary({"dev/best_score": phase2["history"].get("best_dev_score")})
                    finally:
                        if tracking:
                            tracking.finish()  # also when stopped: what was sent so far is kept
                    phase2.update(wall_seconds=time.perf_counter() - began, reused=False)
                    if main:
                        def fill(tmp: Path) -> None:
                            save_encoder(tmp / "encoder")
                            atomic_write_json(tmp / "phase.json", phase2)

                        store.write(inter_folder, fill)
                        if not request.keep_checkpoints:
                            checkpoints.clear()
                    accelerator.wait_for_everyone()
            kept.append(f"phase 2 ({names}) in {inter_folder}")
            start_location, start_revision = str(inter_folder / "encoder"), None
        else:
            plan.target.preload()
            _preload_transfer(plan)

        # Phase 3 ----------------------------------------------------------------------
        began = time.perf_counter()
        checkpoints = checkpointer(paths.run_dir)
        if not plan.kinds.trained(data.spec.kind):
            reporter.log(f"phase 3: {data.spec.name}, retrieval with the encoder's embeddings "
                         f"in {len(plan.languages)} languages (no training)")
            phase3, predictions = run_retrieval(accelerator, plan, data, settings, start_location, start_revision,
                                                reporter, get_kind)
            retrieval_kind = get_kind(data.spec.kind)
            predictions = {lang: ("tsv", "".join(f"{retrieval_kind.prediction_text(p, data.spec)}\n" for p in preds))
                           for lang, preds in predictions.items()}
        else:
            if plan.transfer.zero_shot:
                reporter.log(f"phase 3: fine-tuning on {data.spec.name} ({data.spec.train_language}), "
                             f"zero-shot on {len(plan.languages)} languages")
            elif not plan.transfer.per_language:
                reporter.log(f"phase 3: {plan.transfer.label} on {data.spec.name}, {len(plan.languages)} languages")
            if tracking:
                tracking.start(tracked(plan, paths, experiment, store, "target", phase2))
            phase3, predictions = run_target(accelerator, plan, data, settings, start_location, start_revision,
                                             reporter, get_kind, set_seed, checkpoints=checkpoints, tracking=tracking,
                                             language_checkpoints=lambda lang: Checkpointer(
                                                 store, store.language_checkpoint_dir(paths.run_dir, lang),
                                                 every_minutes=request.checkpoint_minutes, main=main,
                                                 log=reporter.log))
        phase3["wall_seconds"] = time.perf_counter() - began
        phase3["key"] = paths.run_key
        per_language = phase3.pop("test_scores")
        test_outcomes = phase3.pop("test_outcomes")
        selection_outcomes = phase3.pop("selection_outcomes", {})
        record = {
            "schema": SCHEMA,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "intermediate_tasks": [d.spec.name for d in plan.inter],
            "target_task": data.spec.name,
            "model": model_identity,
            "seed": request.seed,
            "preset": request.preset,
            "data_source": plan.source,
            "experiment": experiment.as_dict(),  # the one that computed it; experiments/ lists every user
            "languages": plan.languages,
            # --transfer: how the target languages were reached (also in the target settings, and so keyed)
            **({} if plan.transfer.zero_shot else {"transfer": plan.transfer.as_setting()}),
            "hyperparameters": {"intermediate": plan.inter_settings if plan.inter else None, "target": settings},
            "scores": {"metric": data.spec.metric, "split": "test", "per_language": per_language,
                       "average": mean([v for v in per_language.values() if v is not None]),
                       # n per language and what looks degenerate (one class, empty answers, chance)
                       **diagnose(data.spec, predictions, test_outcomes, phase3.get("history"))},
            "outcomes": _outcome_files(paths.run_dir, test_outcomes, selection_outcomes),
            "phases": {"intermediate": phase2, "target": phase3},
            "data": {"intermediate": [d.identity for d in plan.inter], "target": data.identity,
                     **({"translations": plan.translations.identity} if plan.translations is not None else {})},
            # per split and language, so that a report can say in words which data differ
            "data_files": {"intermediate": [d.part_digests() for d in plan.inter], "target": data.part_digests(),
                           **({"translations": plan.translations.part_digests()}
                              if plan.translations is not None else {})},
            "versions": {"core": harness.__version__, "plugins": plan.plugin_versions, **package_versions()},
            "code": plan.code,  # digests of the plugin and kind code behind each phase (part of the keys)
            "git": git_state(),
            "environment": {"processes": accelerator.num_processes, "device": str(accelerator.device),
                            "mixed_precision": accelerator.mixed_precision, "speed": plan.speed.as_dict()},
        }
        if main:
            def fill(tmp: Path) -> None:
                for lang, (extension, content) in predictions.items():
                    atomic_write_text(tmp / "predictions" / data.spec.name / f"test-{lang}.{extension}", content)
                # inside the sealed folder: the manifest covers the outcomes as it covers results.json
                for lang, outcome in test_outcomes.items():
                    atomic_write_text(outcomes.path_for(tmp, lang), outcomes.dumps(outcome))
                for criterion, by_lang in selection_outcomes.items():
                    for lang, outcome in by_lang.items():
                        atomic_write_text(outcomes.selection_path_for(tmp, criterion, lang), outcomes.dumps(outcome))
                atomic_write_json(tmp / "results.json", record)

            store.write(paths.run_dir, fill)
            _join(store, experiment, paths.run_dir, reporter)
            if tracking:
                if not plan.kinds.trained(data.spec.kind):  # retrieval: nothing was tracked while it ran
                    tracking.start(tracked(plan, paths, experiment, store, "target", phase2))
                tracking.summary(final_figures(record))
                mark_sent(store, tracking.finish(), f"xh-{paths.run_key}")
            if not request.keep_checkpoints:
                checkpoints.clear()
                for folder in store.language_checkpoint_dirs(paths.run_dir):  # one model per language
                    Checkpointer(store, folder, every_minutes=0, main=main, log=reporter.log).clear()
        accelerator.wait_for_everyone()
    return results_path, record


def tracked(plan: Plan, paths: CellPaths, experiment, store: RunStore, phase: str, phase2: dict | None,
            reused: bool = False) -> TrackedRun:
    """The tracked run of one phase of the cell: its id is the phase's key, so a resumed (or reused)
    phase continues the same run in every tracker; the config says what it computes and, for the
    target phase, which encoder it started from."""
    request = plan.request
    names = "+".join(d.spec.name for d in plan.inter)
    config: dict[str, Any] = {
        "experiment": experiment.label, "phase": phase, "intermediate_tasks": [d.spec.name for d in plan.inter],
        "target_task": plan.target.spec.name, "model": plan.model.name, "seed": request.seed,
        "preset": request.preset, "data_source": plan.source, "languages": list(plan.languages),
        "xharness": harness.__version__,
        "keys": {"intermediate": paths.inter_key, "run": paths.run_key},
    }
    if phase == "intermediate":
        config["settings"] = plan.inter_settings
        return TrackedRun(f"xh-{paths.inter_key}", f"{names} (intermediate) · {plan.model.name} · seed {request.seed}",
                          experiment.label, phase, store.root, config)
    config["settings"] = plan.target_settings
    config["start"] = ({"encoder": "pretrained", "model": plan.model.name} if not plan.inter else
                       {"encoder": f"phase 2 of {names}", "key": paths.inter_key,
                        "phase2": "reused (trained before)" if (phase2 or {}).get("reused") else "trained now"})
    return TrackedRun(f"xh-{paths.run_key}", f"{names or 'none'} → {plan.target.spec.name} · {plan.model.name} · "
                      f"seed {request.seed}", experiment.label, phase, store.root, config, reused=reused)


def track_finished(plan: Plan, paths: CellPaths, record: dict[str, Any], log) -> None:
    """A cell finished before: its results go to those of the plan's trackers that do not have them
    yet (``sent_to``), into the cell's tracked run."""
    if not plan.trackers:
        return
    store = RunStore(plan.request.output)
    run = tracked(plan, paths, experiments.Experiment.parse(plan.request.experiment), store, "target",
                  (record.get("phases") or {}).get("intermediate"), reused=True)
    pending = [item for item in plan.trackers if not sent_marker(store, item.spec.name, run.id).exists()]
    if not pending:
        return
    tracking = Trackers(pending, log)
    tracking.start(run)
    tracking.summary(final_figures(record))
    mark_sent(store, tracking.finish(), run.id)


def sent_marker(store: RunStore, tracker: str, run_id: str) -> Path:
    """An empty file saying that ``tracker`` has a cell's final results (a rerun of a sweep does not
    send its thousand finished cells again)."""
    return store.root / "trackers" / "sent" / tracker / run_id


def mark_sent(store: RunStore, trackers: list[str], run_id: str) -> None:
    for name in trackers:
        try:
            marker = sent_marker(store, name, run_id)
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.touch()
        except OSError:  # a read-only store: it is sent again next time, which does no harm
            pass


def final_figures(record: dict[str, Any]) -> dict[str, Any]:
    """What a tracker gets at the end of a cell: each test language's score, their average, the dev score
    of the chosen epoch, and the run's flags."""
    scores = record["scores"]
    figures: dict[str, Any] = {f"test/{lang}": value for lang, value in scores["per_language"].items()
                               if value is not None}
    if scores.get("average") is not None:
        figures["test/average"] = scores["average"]
    history = ((record.get("phases") or {}).get("target") or {}).get("history") or {}
    if history.get("best_dev_score") is not None:
        figures["dev/best_score"] = history["best_dev_score"]
    flags = [f"{lang}: {flag}" for lang, found in (scores.get("flags") or {}).items() for flag in found]
    flags += list(scores.get("run_flags") or [])
    if flags:
        figures["flags"] = "; ".join(flags)
    return figures


def _join(store: RunStore, experiment, run_dir: Path, reporter) -> None:
    """List the run under its experiment; a store whose experiments/ folder cannot be written costs a
    line, never the finished run."""
    try:
        experiments.join(store.root, experiment, run_dir)
    except OSError as exc:
        reporter.log(f"warning: could not record {run_dir.name} as part of experiment {experiment.label} "
                     f"({exc.strerror or exc}); `xharness report` will group it by its own record")


def _note_other_speed(record: dict[str, Any], speed, reporter) -> None:
    """--speed does not enter keys: say so when a reused run was computed with other settings."""
    then = (record.get("environment") or {}).get("speed")
    if not then:
        return
    now = speed.as_dict()
    differ = [f"{name} {then.get(name)}" for name in ("attention", "precision", "compile", "unpadded")
              if then.get(name) != now.get(name)]
    if differ:
        reporter.log("note: the reused run was computed with " + ", ".join(differ) + " (--speed settings are not "
                     "part of a cell's key; use another --output to compute it again)")


def _outcome_files(run_dir: Path, test_outcomes: dict[str, dict],
                   selection_outcomes: dict[str, dict[str, dict]]) -> dict[str, Any]:
    """Where the per-example outcomes of each language lie, relative to the run folder."""
    def relative(path: Path) -> str:
        return path.relative_to(run_dir).as_posix()

    files: dict[str, Any] = {"schema": outcomes.SCHEMA,
                             "files": {lang: relative(outcomes.path_for(run_dir, lang)) for lang in test_outcomes}}
    if selection_outcomes:
        files["selections"] = {criterion: {lang: relative(outcomes.selection_path_for(run_dir, criterion, lang))
                                           for lang in by_lang}
                               for criterion, by_lang in selection_outcomes.items()}
    return files


def _preload(plan: Plan) -> None:
    """Read all data of every phase up front: a malformed test file must not surface after training."""
    for data in [*plan.inter, plan.target]:
        data.preload()
    _preload_transfer(plan)


def _preload_transfer(plan: Plan) -> None:
    """The data of --transfer, read and checked before any training: translations, and enough
    examples to draw each language's shots from."""
    if plan.translations is not None:
        plan.translations.preload()
        if plan.transfer.setting == "translate-test":
            transfers.check_translated_test(plan.target, plan.translations,
                                            [lang for lang in plan.languages if lang != plan.target.spec.train_language])
    if plan.shot_splits:
        transfers.check_shots(plan.transfer, plan.target, plan.shot_splits)


