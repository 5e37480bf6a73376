"""Grids of cells: planning, running what is missing, status, and the Slurm launcher.

A grid is intermediate tasks (rows, ``none`` for the baseline) × target tasks × seeds × models,
with one set of run options for every cell. Every cell goes through exactly the machinery of
``xharness run`` (``harness.cell.protocol.execute``), so a sweep reuses finished phases, resumes
unfinished ones from their checkpoints and shares one store with other processes safely.
Cells are ordered model → seed → intermediate task → target, so each phase-2 encoder is trained
once and then reused by every target of its row.
"""

from __future__ import annotations

import errno
import json
import os
import re
import signal
import subprocess
import sys
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from harness.contract.errors import DataFormatError, UserError
from harness.common.fsutil import atomic_write_json, cache_root, stable_hash, storage_advice, storage_fault
from harness.cell.planning import RunRequest
from harness.store.runstore import RunStore, problem

GRID_FIELDS = ("inter", "target", "seeds", "models")


class GridFileError(UserError):
    """A grid file that cannot be read or holds a wrong value: like a wrong option on the command
    line, exit code 2; the message names the file (and the line, where there is one)."""

    exit_code = 2


@dataclass
class Grid:
    """The grid and the run options every cell shares (those of ``xharness run``)."""

    inter: list[str]
    target: list[str]
    seeds: list[int] = field(default_factory=lambda: [42])
    models: list[str | None] = field(default_factory=lambda: [None])
    output: str = "xharness-runs"
    data_dir: str | None = None
    preset: str | None = None
    languages: list[str] | None = None
    overrides: dict[str, Any] = field(default_factory=dict)
    checkpoint_minutes: float = 30.0
    keep_checkpoints: bool = False
    # the experiment its cells belong to (harness.store.experiments: "sweep:NAME", "study:NAME")
    experiment: str = "sweep:sweep"
    # experiment trackers every cell reports to (--tracker; "tracker" in a grid file)
    trackers: list[str] = field(default_factory=list)

    @property
    def ident(self) -> str:
        """The grid's identity: what it computes, not how (checkpointing, --speed) nor under which
        experiment's name (a grid renamed keeps its record of failed cells)."""
        fields = {k: v for k, v in asdict(self).items()
                  if k not in ("checkpoint_minutes", "keep_checkpoints", "experiment", "trackers")}
        fields["overrides"] = {k: v for k, v in fields["overrides"].items() if k != "speed"}
        return stable_hash(fields, 12)

    def requests(self) -> list[RunRequest]:
        from harness.cell.transfer import variants

        cells = []
        settings = variants(self.overrides)  # --transfer, --shots, --shot-seeds lists: the settings axis
        for model in self.models:
            for seed in self.seeds:
                for inter in self.inter:
                    for target in self.target:
                        for overrides in settings:
                            cells.append(RunRequest(
                                inter=inter.replace("+", ","), target=target, model=model, seed=seed,
                                output=Path(self.output), data_dir=Path(self.data_dir) if self.data_dir else None,
                                preset=self.preset, languages=self.languages, overrides=dict(overrides),
                                checkpoint_minutes=self.checkpoint_minutes, keep_checkpoints=self.keep_checkpoints,
                                experiment=self.experiment, trackers=tuple(self.trackers)))
        return cells


def split_list(value: str | list | None) -> list[str]:
    if value is None:
        return []
    items = value if isinstance(value, list) else str(value).split(",")
    return [str(item).strip() for item in items if item is not None and str(item).strip()]


def load_toml(path: Path) -> dict[str, Any]:
    """A grid file: ``inter``, ``target``, ``seeds``, ``models`` (lists) and any run option by its
    long name (``output``, ``preset``, ``lr``, ``target-epochs`` …)."""
    try:
        import tomllib  # Python 3.11+
    except ImportError:
        try:
            import tomli as tomllib
        except ImportError:
            raise UserError("grid files need Python 3.11 or the tomli package (pip install tomli); or give "
                            "the grid as --inter/--target options") from None
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except OSError as exc:
        raise GridFileError(f"grid file {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        bad = DataFormatError.not_utf8(path)
        raise GridFileError(f"grid file {bad or path}" + ("" if bad else ": not UTF-8 text")
                            + "; save it as UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise GridFileError(f"grid file {path} is not valid TOML ({exc})") from None
    return {key.replace("-", "_"): value for key, value in data.items()}


def key_line(path: Path, key: str) -> int | None:
    """The line of a grid file where ``key`` (spelt with - or _) is set, if it can be found."""
    spellings = "|".join(re.escape(k) for k in {key, key.replace("_", "-")})
    pattern = re.compile(rf"""^\s*["']?({spellings})["']?\s*=""")
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, ValueError):
        return None
    return next((number for number, line in enumerate(lines, start=1) if pattern.match(line)), None)


#: What each field of a grid takes (any other key is a run option, checked against its option's type).
_NAMES = ("inter", "target", "models", "languages")
_STRINGS = ("output", "data_dir", "preset")
#: run options a grid may list (``--transfer``, ``--shots``, ``--shot-seeds``): each value a cell of its own
_SETTING_AXES = ("transfer", "shots", "shot_seeds")


def check_grid_values(path: Path, values: dict[str, Any], options: dict[str, Any], context=None) -> None:
    """Refuse a grid file's value of the wrong type with one line naming the file, its line and the
    key, before anything is planned (``options``: the run options' click parameters by name)."""

    def refuse(key: str, problem: str):
        line = key_line(path, key)
        raise GridFileError(f"grid file {path}{f':{line}' if line else ''}: {key.replace('_', '-')} {problem}; "
                            f"fix it in the file")

    for key, value in values.items():
        if key in _NAMES:
            if not (value is None or isinstance(value, str)
                    or isinstance(value, list) and all(v is None or isinstance(v, str) for v in value)):
                refuse(key, f'takes names, as a list such as ["a", "b"] or one string "a,b", not {value!r}')
        elif key == "seeds":
            items = value.split(",") if isinstance(value, str) else value
            if not isinstance(items, list) or not all(_whole(v) for v in items):
                refuse(key, f"takes whole numbers, as a list such as [1, 2, 3] or one string \"1,2,3\", not {value!r}")
        elif key in _STRINGS:
            if value is not None and not isinstance(value, str):
                refuse(key, f"takes a string, not {value!r}")
        elif key in _SETTING_AXES:  # the settings axis: one value or a list, a cell each
            items = value if isinstance(value, list) else [value]
            whole = key != "transfer"
            if not all((isinstance(v, int) and not isinstance(v, bool)) if whole else isinstance(v, str) for v in items) \
                    and not isinstance(value, str):
                wanted = 'whole numbers, as a list such as [10, 100]' if whole else 'names, as a list such as ' \
                    '["zero-shot", "few-shot"]'
                refuse(key, f"takes {wanted} or one string \"a,b\", not {value!r}")
        elif key == "checkpoint_minutes":
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                refuse(key, f"takes a number of minutes (0 or more), not {value!r}")
        elif key == "keep_checkpoints":
            if not isinstance(value, bool):
                refuse(key, f"takes true or false, not {value!r}")
        elif key == "overrides":
            if not isinstance(value, dict):
                refuse(key, f"takes a table of run options, not {value!r}")
            check_grid_values(path, value, options, context)
        elif key in options:
            problem = _option_problem(options[key], value, context)
            if problem:
                refuse(key, problem)


def _whole(value: Any) -> bool:
    if isinstance(value, str):
        try:
            int(value.strip())
        except ValueError:
            return False
        return True
    return isinstance(value, int) and not isinstance(value, bool)


def _option_problem(option, value: Any, context) -> str | None:
    """Why ``value`` does not fit the click option ``option`` (None when it does)."""
    import click

    kind = option.type
    if option.multiple:
        if isinstance(value, str) or isinstance(value, list) and all(isinstance(v, str) for v in value):
            return None
        return f'takes strings, as a list such as ["name=value"], not {value!r}'
    if isinstance(kind, click.types.BoolParamType):
        fits, wanted = isinstance(value, bool), "true or false"
    elif isinstance(kind, click.types.IntParamType):
        fits, wanted = isinstance(value, int) and not isinstance(value, bool), "a whole number"
    elif isinstance(kind, click.types.FloatParamType):
        fits, wanted = isinstance(value, (int, float)) and not isinstance(value, bool), "a number"
    else:
        fits, wanted = isinstance(value, str), "a string"
    if not fits:
        return f"takes {wanted}, not {value!r}"
    try:
        kind.convert(value, option, context)  # ranges and choices
    except click.BadParameter as exc:
        return f"does not take {value!r} ({exc.message})"
    return None


def cell_label(request: RunRequest) -> str:
    model = request.model or ("tiny" if request.preset == "smoke" else "xlm-roberta-large")
    label = f"{request.inter.replace(',', '+')} → {request.target} · seed {request.seed} · {Path(model).name}"
    from harness.cell.transfer import describe

    setting = str(request.overrides.get("transfer") or "zero-shot").strip().lower()
    if setting == "zero-shot":
        return label
    seed = request.overrides.get("shot_seed")
    return f"{label} · " + describe({"setting": setting, "shots": request.overrides.get("shots"),
                                     "shot_seed": 1 if seed is None else seed}, draw=True)


# -- planning -------------------------------------------------------------------------------

@dataclass
class PlannedCell:
    request: RunRequest
    label: str
    run_dir: Path | None = None
    inter_folder: Path | None = None
    trains_target: bool = True
    status: str = "missing"  # done | running | failed | missing | invalid
    where: str | None = None  # who is computing it, when running
    error: str | None = None
    # the cell's plan and folders (harness.cell.protocol.cell_paths), for what is done with a finished cell
    plan: Any = field(default=None, repr=False, compare=False)
    paths: Any = field(default=None, repr=False, compare=False)
    log: str | None = None
    failed_at: float | None = None  # when its failure was recorded (time.time())


def state_path(store: RunStore, grid: Grid) -> Path:
    return store.root / "sweeps" / f"{grid.ident}.json"


def read_state(store: RunStore, grid: Grid) -> dict[str, Any]:
    try:
        return json.loads(state_path(store, grid).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"grid": asdict(grid), "failed": {}}


def record_outcome(store: RunStore, grid: Grid, cell: PlannedCell, error: str | None) -> None:
    """Remember (across processes) which cells failed, with their error line and log file."""
    from filelock import FileLock

    path = state_path(store, grid)
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock"):
        state = read_state(store, grid)
        key = cell.run_dir.name if cell.run_dir else cell.label
        if error is None:
            state["failed"].pop(key, None)
        else:
            state["failed"][key] = {"cell": cell.label, "error": error, "log": cell.log, "at": time.time()}
        atomic_write_json(path, state)


def plan_grid(grid: Grid, registry) -> list[PlannedCell]:
    """Every cell with its phase folders and status, without importing torch unless a built
    model (``tiny``) has to be built to be hashed."""
    from harness.cell.planning import plan_run
    from harness.cell.protocol import cell_paths, prepare_model

    store = RunStore(Path(grid.output))
    failed = read_state(store, grid)["failed"]
    identities: dict[str, dict] = {}
    cells = []
    for request in grid.requests():
        cell = PlannedCell(request, cell_label(request))
        try:
            plan = plan_run(request, registry)
        except UserError as error:
            cell.status, cell.error = "invalid", str(error)
            cells.append(cell)
            continue
        location = plan.model.location
        if location not in identities:
            identities[location] = prepare_model(plan)
        paths = cell_paths(plan, identities[location])
        cell.run_dir, cell.inter_folder = paths.run_dir, paths.inter_folder
        cell.plan, cell.paths = plan, paths
        cell.trains_target = plan.kinds.trained(plan.target.spec.kind)
        cell.log = str(store.root / "logs" / f"{paths.run_dir.name}.log")
        if cell.run_dir.is_dir() and problem(cell.run_dir, quick=True) is None:
            cell.status = "done"
        elif store.is_locked(cell.run_dir):
            owner = store.owner(cell.run_dir) or {}
            cell.status, cell.where = "running", f"pid {owner.get('pid')} on {owner.get('host')}"
        elif cell.run_dir.name in failed:
            failure = failed[cell.run_dir.name]
            cell.status, cell.error, cell.failed_at = "failed", failure["error"], failure.get("at", 0.0)
        cells.append(cell)
    return cells


def summarize(cells: list[PlannedCell]) -> dict[str, Any]:
    """Counts for the plan: cells by status, and the trainings the missing cells still need."""
    counts = {status: sum(c.status == status for c in cells) for status in ("done", "running", "failed", "missing",
                                                                           "invalid")}
    intermediate = {c.inter_folder for c in cells if c.inter_folder is not None}
    inter_done = {f for f in intermediate if f.is_dir() and problem(f, quick=True) is None}
    pending = [c for c in cells if c.status in ("missing", "failed", "running")]
    needed_inter = {c.inter_folder for c in pending if c.inter_folder is not None} - inter_done
    return {"cells": len(cells), **counts,
            "intermediate_trainings": len(intermediate), "intermediate_done": len(inter_done),
            "intermediate_to_train": len(needed_inter),
            "target_trainings": sum(c.trains_target for c in cells),
            "target_to_train": sum(c.trains_target for c in pending)}


# -- running -----------------------------------------------------------------------------

class CellReporter:
    """A cell's progress: to the terminal as usual, and every log line into the cell's log file.

    The log file is opened so that a symbolic link is never followed: in a store shared by a lab,
    a link planted at a log path would otherwise make the sweep append to the file it points at.
    """

    def __init__(self, log_file: Path | None, enabled: bool = True):
        from harness.common.progress import Reporter

        self._inner = Reporter(enabled)
        self._file = log_file
        if log_file is not None:
            log_file.parent.mkdir(parents=True, exist_ok=True)

    def log(self, message: str) -> None:
        self._inner.log("  " + message)
        self.write(message)

    def write(self, text: str) -> None:
        if self._file is None:
            return
        try:  # 0o666: the umask decides, as for every file of the store
            fd = os.open(self._file, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o666)
        except OSError as exc:
            if exc.errno == errno.ELOOP and self._file.is_symlink():
                raise UserError(f"the log file {self._file} is a symbolic link, which a sweep never follows: "
                                f"remove it (rm {self._file}) and run the sweep again") from None
            raise self._unwritable(exc) from None
        try:  # a full disk shows when the line is written (or flushed on close), not at open
            with os.fdopen(fd, "a", encoding="utf-8") as handle:
                handle.write(f"{time.strftime('%H:%M:%S')} {text}\n")
        except OSError as exc:
            raise self._unwritable(exc) from None

    def _unwritable(self, exc: OSError) -> UserError:
        reason = storage_fault(exc)
        if reason is None:
            return UserError(f"cannot write the log file {self._file}: {exc.strerror or exc}")
        advice = storage_advice(reason, self._file.parent)
        return UserError(f"cannot write the log file {self._file} ({reason}): {advice}, and run the sweep again")

    def task(self, description: str, total: int):
        return self._inner.task(description, total)


def run_cell(cell: PlannedCell, registry, *, wait: bool) -> tuple[str, str | None]:
    """Run one cell in this process: ("done" | "busy" | "failed", error line). A cell whose log
    file cannot be written (a symbolic link there, say) fails before anything runs."""
    from harness.cell.planning import plan_run
    from harness.cell.protocol import execute
    from harness.store.runstore import BusyError

    reporter = CellReporter(Path(cell.log) if cell.log else None)
    try:
        reporter.write(f"cell {cell.label}")
    except UserError as error:
        return "failed", str(error)
    request = cell.request
    request.wait = wait
    try:
        execute(plan_run(request, registry), reporter_factory=lambda main: reporter)
    except BusyError:
        return "busy", None
    except UserError as error:
        _try_write(reporter, f"error: {error}")
        return "failed", str(error)
    except Exception as error:  # a bug in a plugin or the core fails this cell, not the sweep
        _try_write(reporter, traceback.format_exc())
        return "failed", f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
    return "done", None


def _try_write(reporter: CellReporter, text: str) -> None:
    """Log a cell's failure; when the log itself is what failed, the error line says so already."""
    try:
        reporter.write(text)
    except UserError:
        pass


def record_members(grid: Grid, cells: list[PlannedCell], log, *, track: bool = False) -> None:
    """List every finished cell of the grid under its experiment (a cell run now is listed as it
    finishes; this adds those reused from earlier work); with ``track``, also send their results to
    the grid's trackers (a cell computed now sends its own as it finishes)."""
    from harness.cell.protocol import track_finished
    from harness.store import experiments

    done = [c for c in cells if c.status == "done" and c.run_dir is not None]
    if not done:
        return
    experiment = experiments.Experiment.parse(grid.experiment)
    try:
        experiments.join(Path(grid.output).expanduser(), experiment, *(c.run_dir for c in done))
    except OSError as exc:
        log(f"warning: could not record the grid's finished runs as experiment {experiment.label} "
            f"({exc.strerror or exc}); `xharness report` groups them by their own records")
    if track and grid.trackers:
        from harness.analysis.report import _read_record

        for cell in done:
            record, trouble = _read_record(cell.run_dir / "results.json")
            if trouble is None and cell.plan is not None:
                track_finished(cell.plan, cell.paths, record, log)


def work(grid: Grid, registry, *, log, worker: str = "", poll_seconds: float = 2.0,
         track_done: bool = True) -> dict[str, Any]:
    """Run every missing cell of ``grid`` in this process, skipping cells other processes are on
    and coming back to them; return what happened to each cell.

    A cell that failed before this call started is tried again (the user may have fixed its
    data); one that failed during it, here or in another worker, is not. ``track_done``: the cells
    finished before are sent to the grid's trackers too (a ``--devices`` worker leaves that to the
    sweep that started it).
    """
    from harness.store.runstore import CLEANED

    store = RunStore(Path(grid.output))
    outcome: dict[str, dict[str, Any]] = {}
    began, started_at = time.perf_counter(), time.time()
    cleaned_before = len(CLEANED)
    durations: list[float] = []
    first = True
    while True:
        cells = plan_grid(grid, registry)
        if first:
            record_members(grid, cells, log, track=track_done)
            first = False
        todo = [c for c in cells if c.label not in outcome and (
            c.status == "missing" or (c.status == "failed" and (c.failed_at or 0.0) < started_at))]
        total = len(cells)
        done_now = sum(c.status == "done" for c in cells)
        if not todo:
            running = [c for c in cells if c.status == "running" and c.label not in outcome]
            if not running:
                break
            time.sleep(poll_seconds)  # others are on them: wait, so the summary is complete
            continue
        progressed = False
        for cell in todo:
            if cell.run_dir is not None and cell.run_dir.is_dir() and problem(cell.run_dir, quick=True) is None:
                continue  # finished by another process meanwhile
            left = len([c for c in todo if c.label not in outcome])
            eta = f", about {_duration(sum(durations) / len(durations) * left)} left" if durations else ""
            log(f"{worker}[{done_now + 1}/{total}] {cell.label}{eta}")
            started = time.perf_counter()
            status, error = run_cell(cell, registry, wait=False)
            seconds = time.perf_counter() - started
            if status == "busy":
                log(f"{worker}  busy elsewhere: coming back to it")
                continue
            progressed = True
            outcome[cell.label] = {"status": status, "error": error, "log": cell.log, "seconds": seconds}
            record_outcome(store, grid, cell, error)
            if status == "failed":
                log(f"{worker}  failed: {error} (log: {cell.log})")
            else:
                durations.append(seconds)
                done_now += 1
                log(f"{worker}  done in {_duration(seconds)}")
        if not progressed:
            time.sleep(poll_seconds)
    record_members(grid, cells, log)  # cells done before (or by another experiment) are this grid's too
    return {"outcome": outcome, "seconds": time.perf_counter() - began,
            "cleaned": [(str(p), size) for p, size in CLEANED[cleaned_before:]]}


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def spawn_workers(grid_file: Path, devices: list[str], log) -> int:
    """One worker process per device (``CUDA_VISIBLE_DEVICES``), each taking the next missing cell.

    The workers run in a session of their own, so a stop signal reaches each of them exactly once:
    this process forwards SIGTERM, SIGUSR2 and SIGINT (Ctrl-C in a terminal reaches only this
    process) to every live worker, waits for all of them to stop, and re-raises the
    :class:`~harness.common.interrupt.Interrupted` with what became of them in ``workers``.
    """
    from harness.common import interrupt

    processes: list[tuple[str, subprocess.Popen]] = []
    hangup = _forward_hangup(processes)
    try:
        for device in devices:
            env = dict(os.environ)
            if device != "cpu":
                env["CUDA_VISIBLE_DEVICES"] = device
            command = [sys.executable, "-m", "harness", "sweep", str(grid_file), "--worker-name", f"device {device}"]
            processes.append((device, subprocess.Popen(command, env=env, start_new_session=True)))
            log(f"worker on device {device}: pid {processes[-1][1].pid}")
        return max(process.wait() for _, process in processes)
    except interrupt.Interrupted as stop:
        stop.workers = stop_workers(processes, stop.signum)
        raise
    finally:
        if hangup is not None:
            signal.signal(signal.SIGHUP, hangup)


def stop_workers(processes: list[tuple[str, subprocess.Popen]], signum: int) -> str:
    """Send ``signum`` to every live worker and wait for all to exit (each further stop signal is
    passed on too); say what became of them: only what their exit codes show."""
    from harness.common import interrupt

    for _, process in processes:
        if process.poll() is None:
            process.send_signal(signum)
    while True:
        try:
            for _, process in processes:
                process.wait()
            break
        except interrupt.Interrupted as again:  # a second Ctrl-C: pass it on, keep waiting
            for _, process in processes:
                if process.poll() is None:
                    process.send_signal(again.signum)
    resumable = (interrupt.EXIT_RESUMABLE, interrupt.EXIT_CODES[signal.SIGINT])
    stopped = sum(process.returncode in resumable for _, process in processes)
    return ", ".join([f"{stopped} worker{'s' if stopped != 1 else ''} stopped"] + [
        f"the worker on device {device} ended with {_ending(process.returncode)}"
        for device, process in processes if process.returncode not in resumable])


def _ending(code: int) -> str:
    if code >= 0:
        return f"exit code {code}"
    try:
        return signal.Signals(-code).name
    except ValueError:
        return f"signal {-code}"


def _forward_hangup(processes: list[tuple[str, subprocess.Popen]]):
    """In their own session the workers no longer get the terminal's hang-up: while this process
    would die of SIGHUP, pass it on to them first. Returns the handler replaced (None: untouched)."""
    import threading

    if threading.current_thread() is not threading.main_thread() or \
            signal.getsignal(signal.SIGHUP) is not signal.SIG_DFL:
        return None

    def forward(signum, frame):
        for _, process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGHUP)
        signal.signal(signal.SIGHUP, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGHUP)

    return signal.signal(signal.SIGHUP, forward)


# -- Slurm (submitit) ----------------------------------------------------------------------

def _submitit():
    try:
        import submitit
    except ImportError:
        raise UserError("--launcher slurm needs submitit: pip install submitit") from None
    return submitit


class CellJob:
    """One cell as a submitit job. On SIGUSR2/SIGTERM (preemption, time limit) the training
    checkpoints at its next update, then submitit requeues the job, which resumes from there."""

    def __call__(self, cell: dict[str, Any]) -> dict[str, Any]:
        from harness.common import interrupt
        from harness.cell.planning import plan_run
        from harness.contract.discovery import discover
        from harness.cell.protocol import execute

        request = RunRequest(**{**cell, "output": Path(cell["output"]),
                                "data_dir": Path(cell["data_dir"]) if cell.get("data_dir") else None})
        with interrupt.stop_cleanly() as replaced:
            try:
                results_path, record = execute(plan_run(request, discover()))
            except interrupt.Interrupted as stop:
                submitit_handler = replaced.get(signal.SIGUSR2)
                if stop.signum in interrupt.CHECKPOINT_SIGNALS and callable(submitit_handler):
                    submitit_handler(signal.SIGUSR2, None)  # checkpoint() + requeue + exit
                raise
        return {"results": str(results_path), "scores": record["scores"], "intermediate_tasks": record["intermediate_tasks"],
                "target_task": record["target_task"], "seed": record["seed"]}

    def checkpoint(self, cell: dict[str, Any]):
        """Requeue with the same cell: the training state itself is in the run store."""
        return _submitit().helpers.DelayedSubmission(self, cell)


def cell_dict(request: RunRequest) -> dict[str, Any]:
    data = asdict(request)
    data["output"] = str(Path(request.output).expanduser().resolve())
    data["data_dir"] = str(request.data_dir) if request.data_dir else None
    return data


def submit(cells: list[PlannedCell], executor) -> list:
    """Submit the given cells as one job array; returns the jobs."""
    job = CellJob()
    payload = [cell_dict(c.request) for c in cells]
    return executor.map_array(job, payload)


def slurm_folder(output: str | Path) -> Path:
    """Where submitit keeps a store's job files: in the user's own cache, created 0700, never in
    the store. submitit's jobs unpickle the function they run from that folder, so in a shared
    store a co-user could swap it for a program of theirs, run as the submitter on the cluster."""
    from harness.store.runstore import private_folder

    root = RunStore(Path(output)).root
    folder = cache_root() / "slurm" / f"{root.name}-{stable_hash(str(root), length=12)}"
    private_folder(folder)
    return folder


def slurm_executor(folder: Path, *, partition: str | None, time_minutes: int, gpus: int, account: str | None,
                   parallelism: int | None):
    submitit = _submitit()
    executor = submitit.AutoExecutor(folder=str(folder), cluster="slurm")
    extra = {"account": account} if account else {}
    executor.update_parameters(timeout_min=time_minutes, gpus_per_node=gpus, tasks_per_node=1,
                               slurm_partition=partition, slurm_signal_delay_s=120,
                               slurm_array_parallelism=parallelism or 256, slurm_additional_parameters=extra,
                               name="xharness")
    return executor
