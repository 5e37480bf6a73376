"""The training loop: AdamW, linear warm-up and decay, gradient accumulation, best-on-dev.

It goes through accelerate, so one code path runs on the CPU, on one GPU (bf16 there) and on
several processes under ``torchrun``/``accelerate launch``. Batches are sharded by us (see
``harness.compute.batching.even_shard``) so every process takes the same number of steps; the loss
each process computes is its own batch mean and DDP averages the gradients, so the logged
loss (every process's loss sum and micro-step count, summed over processes, then divided) is the
mean over all micro-steps of all processes, not a sum.
"""

from __future__ import annotations

import copy
import math
import random
import signal
import time
from dataclasses import asdict, dataclass
from typing import Any

import torch

from harness.compute.batching import even_shard, length_grouped_batches, sorted_batches
from harness.contract.errors import UserError
from harness.common.progress import Reporter
from harness.compute.speed import ENCODER_INPUT_KEYS, position_start, transfer

#: At most about this many points of the per-step training curve are recorded (``history["steps"]``):
#: each point is the mean loss and gradient norm (before clipping) over a window of ``every`` updates,
#: with the learning rate of its last.
CURVE_POINTS = 200


@dataclass(frozen=True)
class TrainSettings:
    epochs: float
    lr: float
    batch_size: int  # effective: per device × accumulation × processes
    per_device_batch_size: int
    max_length: int
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    max_grad_norm: float = 1.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def split_batch(effective: int, per_device_max: int, world: int) -> tuple[int, int]:
    """(per-device batch, accumulation steps) so that their product × world = effective."""
    if effective % world:
        raise UserError(f"effective batch size {effective} is not divisible by the {world} processes; "
                        f"change --batch-size")
    per_process = effective // world
    per_device = min(per_device_max, per_process)
    while per_process % per_device:
        per_device -= 1
    return per_device, per_process // per_device


def _optimizer(model: torch.nn.Module, settings: TrainSettings) -> torch.optim.Optimizer:
    decay, no_decay = [], []
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        (no_decay if param.ndim < 2 or "LayerNorm" in name or "layer_norm" in name else decay).append(param)
    groups = [{"params": decay, "weight_decay": settings.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    try:  # the fused kernel (CPU and GPU) is the fastest AdamW torch has
        return torch.optim.AdamW(groups, lr=settings.lr, fused=True)
    except (RuntimeError, TypeError):
        return torch.optim.AdamW(groups, lr=settings.lr)


def _linear_schedule(optimizer, warmup: int, total: int):
    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / max(1, warmup)
        return max(0.0, (total - step) / max(1, total - warmup))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def epoch_batches(lengths: list[int], per_device: int, *, seed: int, epoch: int, rank: int = 0,
                  world: int = 1) -> list[list[int]]:
    """The training batches this process takes in one epoch."""
    return even_shard(length_grouped_batches(lengths, per_device, seed=seed * 1000 + epoch), rank, world)


def _to_device(batch: dict[str, torch.Tensor], device, speed=None, start: int = 0, kind=None) -> dict[str, torch.Tensor]:
    return transfer(batch, device, speed, position_start_id=start,
                    keys=getattr(kind, "encoder_input_keys", ENCODER_INPUT_KEYS))


def _position_start(accelerator, model) -> int:
    return position_start(getattr(accelerator.unwrap_model(model), "encoder", None))


class Step:
    """One training micro-step of the harness, in two halves.

    ``prepare`` is the host's part: collate the batch, pin it and start its copy to the device
    (see ``harness.compute.speed.transfer``). ``run`` is the device's part: forward under autocast, the
    kind's loss, backward (without gradient all-reduce until the last micro-step of an update),
    and on that last one clipping, the optimizer and the schedule. Nothing in ``run`` reads a
    value back from the device (``harness.compute.speed.host_syncs`` proves it in the tests), so the host
    prepares the next batch while the GPU is still busy with this one. Returns the micro-step's
    loss as a device tensor, already multiplied back by the accumulation.
    """

    def __init__(self, accelerator, model, optimizer, scheduler, *, accumulation: int, max_grad_norm: float,
                 pad_id: int, speed=None):
        self.accelerator, self.model, self.optimizer, self.scheduler = accelerator, model, optimizer, scheduler
        self.accumulation, self.max_grad_norm, self.pad_id, self.speed = accumulation, max_grad_norm, pad_id, speed
        self.start = _position_start(accelerator, model)
        self.grad_norm = None  # of the last update (a device tensor), for the curve and trackers

    def prepare(self, kind, features: list[dict]) -> dict:
        return _to_device(kind.collate(features, self.pad_id), self.accelerator.device, self.speed, self.start, kind)

    def run(self, task_name: str, kind, batch: dict, last_micro: bool) -> torch.Tensor:
        accelerator = self.accelerator
        with accelerator.autocast():
            logits = self.model(task_name, batch)
        loss = kind.loss(logits, batch["labels"]) / self.accumulation
        if last_micro:
            accelerator.backward(loss)
        else:
            with accelerator.no_sync(self.model):
                accelerator.backward(loss)
        if last_micro:
            # the total norm before clipping, kept on the device (reading it would stall the GPU)
            self.grad_norm = accelerator.clip_grad_norm_(self.model.parameters(), self.max_grad_norm)
            self.optimizer.step()
            self.scheduler.step()
            self.optimizer.zero_grad(set_to_none=True)
        return loss.detach().float() * self.accumulation


def predict(accelerator, model, task: str, kind, features: list[dict], *, batch_size: int, pad_id: int,
            reporter: Reporter, description: str, spec=None, speed=None) -> list[int]:
    """Predictions for every feature, in order, computed across all processes.

    Batches are cut from the length-sorted features and run under ``torch.inference_mode``.
    On a GPU each batch's logits are copied to pinned host memory without waiting and predicted
    from there (with the host's copy of the batch) only after the next batch is queued, so the
    GPU never idles while the host reads.

    A kind that predicts otherwise than batch by batch (a dual encoder ranks a pool) provides
    ``predict_features`` with the same arguments (``spec``: the task's, with its settings), and
    that is used instead.
    """
    own = getattr(kind, "predict_features", None)
    if own is not None:
        with torch.no_grad():
            return own(accelerator, model, task, features, batch_size=batch_size, pad_id=pad_id, reporter=reporter,
                       description=description, spec=spec)
    model.eval()
    lengths = [f["length"] for f in features]
    batches = sorted_batches(lengths, batch_size)
    mine = batches[accelerator.process_index::accelerator.num_processes]
    results: list[tuple[int, int]] = []
    start = _position_start(accelerator, model)
    on_gpu = accelerator.device.type == "cuda"

    def read(entry) -> None:
        indices, logits, batch, copied = entry
        if copied is not None:
            copied.synchronize()  # this batch's logits are on the host; the GPU goes on with the next
        results.extend(zip(indices, kind.predict(logits, batch)))
        advance()

    with reporter.task(description, total=len(mine)) as advance, torch.inference_mode():
        pending = None
        for indices in mine:
            collated = kind.collate([features[i] for i in indices], pad_id)
            batch = _to_device(collated, accelerator.device, speed, start, kind)
            with accelerator.autocast():
                logits = model(task, batch)
            if on_gpu and isinstance(logits, torch.Tensor):  # copy out without waiting; predict from the copy later
                host = torch.empty(logits.shape, dtype=logits.dtype, pin_memory=True)
                host.copy_(logits, non_blocking=True)
                copied = torch.cuda.Event()
                copied.record()
                entry = (indices, host, collated, copied)
            else:
                entry = (indices, logits, batch, None)
            if pending is not None:
                read(pending)
            pending = entry
        if pending is not None:
            read(pending)
    if accelerator.num_processes > 1:
        from accelerate.utils import gather_object

        results = gather_object(results)
    ordered = dict(results)
    return [ordered[i] for i in range(len(features))]


@dataclass
class TrainTask:
    """One task of a (multi-task) training run: its spec, kind and featurised data."""

    spec: Any
    kind: Any
    train: list[dict]
    dev: list[dict]


class TaskSampler:
    """Which task each batch comes from, drawn with a seeded generator.

    ``proportional`` weighs tasks by their size (capped at ``cap`` examples when given),
    ``temperature`` by size ** (1 / temperature), ``uniform`` equally. Every process draws the
    same sequence, so all of them train the same head at each step. ``fixed`` gives some tasks
    a set share of the draws (the MLM corpus); the others share the rest as the strategy says.
    """

    STRATEGIES = ("proportional", "temperature", "uniform")

    def __init__(self, sizes: list[int], strategy: str = "proportional", *, temperature: float = 2.0,
                 cap: int | None = None, seed: int = 0, fixed: dict[int, float] | None = None):
        if strategy not in self.STRATEGIES:
            raise UserError(f"unknown sampling {strategy!r}; use one of {', '.join(self.STRATEGIES)}")
        capped = [min(size, cap) if cap else size for size in sizes]
        if strategy == "proportional":
            weights = [float(size) for size in capped]
        elif strategy == "temperature":
            weights = [size ** (1.0 / temperature) for size in capped]
        else:
            weights = [1.0] * len(sizes)
        fixed = fixed or {}
        rest = 1.0 - sum(fixed.values())
        total = sum(w for i, w in enumerate(weights) if i not in fixed)
        self.probabilities = [fixed[i] if i in fixed else rest * w / total for i, w in enumerate(weights)]
        self._rng = random.Random(seed)
        self._tasks = list(range(len(sizes)))

    def draw(self) -> int:
        return self._rng.choices(self._tasks, weights=self.probabilities)[0]


class BatchStream:
    """This process's training batches of one task, epoch after epoch, reshuffled each time.

    Its position (epoch, batch) is part of a training checkpoint, so a resumed run draws
    exactly the batches the uninterrupted one would have drawn.
    """

    def __init__(self, lengths: list[int], per_device: int, *, seed: int, rank: int, world: int):
        self._args = (lengths, per_device)
        self._seed, self._rank, self._world = seed, rank, world
        self.epoch, self.position = 0, 0
        self._batches: list[list[int]] | None = None

    def _load(self) -> list[list[int]]:
        if self._batches is None:
            self._batches = epoch_batches(*self._args, seed=self._seed, epoch=self.epoch, rank=self._rank,
                                          world=self._world)
        return self._batches

    def __next__(self) -> list[int]:
        if self.position >= len(self._load()):
            self.epoch, self.position, self._batches = self.epoch + 1, 0, None
        batch = self._load()[self.position]
        self.position += 1
        return batch

    def state(self) -> tuple[int, int]:
        return self.epoch, self.position

    def restore(self, state: tuple[int, int]) -> None:
        self.epoch, self.position = state
        self._batches = None


def train_and_select(accelerator, model, spec, kind, train_features: list[dict], dev_features: list[dict], *,
                     settings: TrainSettings, seed: int, pad_id: int, reporter: Reporter,
                     checkpoints=None, target_dev: dict[str, list[dict]] | None = None,
                     selected: dict[str, Any] | None = None, speed=None, tracking=None,
                     live: bool = False) -> dict[str, Any]:
    """Train ``model`` on one task and leave it at its best epoch on dev; return the history.

    ``target_dev`` (language → dev features) adds a second criterion, the mean score over the
    target languages' dev sets (Keung et al., 2020); see ``train_tasks``.
    """
    return train_tasks(accelerator, model, [TrainTask(spec, kind, train_features, dev_features)],
                       settings=settings, seed=seed, pad_id=pad_id, reporter=reporter, checkpoints=checkpoints,
                       target_dev=target_dev, selected=selected, speed=speed, tracking=tracking, live=live)


def _cpu_copy(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return copy.deepcopy({k: v.detach().cpu() for k, v in model.state_dict().items()})


def _score_target_dev(accelerator, model, task: TrainTask, target_dev: dict[str, list[dict]], *, batch_size: int,
                      pad_id: int, reporter: Reporter, entry: dict[str, Any], speed=None) -> float:
    """Score each target language's dev set, record the scores in the epoch's ``entry`` and
    return their mean (each language weighs the same, whatever its dev set's size)."""
    scores = {}
    for lang, features in target_dev.items():
        predictions = predict(accelerator, model, task.spec.name, task.kind, features, batch_size=batch_size,
                              pad_id=pad_id, reporter=reporter, description=f"{task.spec.name} dev {lang}",
                              spec=task.spec, speed=speed)
        scores[lang] = task.kind.score(predictions, features, task.spec, lang)
    entry["target_dev_scores"] = scores
    entry["target_dev_score"] = sum(scores.values()) / len(scores)
    return entry["target_dev_score"]


_CONTROL_GROUP: list = []


def _control_group():
    """A gloo process group for the loop's own agreements: its all-reduce runs on the host, so
    agreeing after every update never waits for the GPU's queue to drain (as an all-reduce of a
    GPU tensor read back with ``.item()`` would)."""
    import torch.distributed as dist

    if "gloo" in str(dist.get_backend()):  # "gloo", or e.g. "cuda:nccl,cpu:gloo": CPU tensors already work
        return None
    if not _CONTROL_GROUP:
        _CONTROL_GROUP.append(dist.new_group(backend="gloo"))
    return _CONTROL_GROUP[0]


def _agree(accelerator, stop: bool, due: bool) -> tuple[bool, bool]:
    """Every process must checkpoint (and stop) at the same update: the main one's clock and any
    process's signal decide for all."""
    if accelerator.num_processes == 1:
        return stop, due
    import torch.distributed as dist

    flags = torch.tensor([float(stop), float(due and accelerator.is_main_process)])
    dist.all_reduce(flags, op=dist.ReduceOp.SUM, group=_control_group())
    return bool(flags[0]), bool(flags[1])


def train_tasks(accelerator, model, tasks: list[TrainTask], *, settings: TrainSettings, seed: int, pad_id: int,
                reporter: Reporter, sampling: str = "proportional", temperature: float = 2.0,
                cap: int | None = None, fixed: dict[int, float] | None = None, checkpoints=None,
                target_dev: dict[str, list[dict]] | None = None,
                selected: dict[str, Any] | None = None, speed=None, tracking=None,
                live: bool = False) -> dict[str, Any]:
    """Train ``model`` (one head per task, named after it) and keep its best state on dev.

    An "epoch" is as many updates as one pass over all tasks' training data takes; after each,
    every task is scored on its dev set and the state with the best mean score is kept. With one
    task this is plain epoch-wise training; with several, each batch's task is drawn by a
    :class:`TaskSampler`.

    With ``checkpoints`` (a :class:`harness.training.checkpoint.Checkpointer`) the full training state is
    saved at the end of every epoch and whenever it is due, training resumes from the newest
    checkpoint found, and SIGTERM/SIGUSR2 (see :mod:`harness.common.interrupt`) make it checkpoint at the
    next update and raise :class:`~harness.common.interrupt.Interrupted`.

    With ``target_dev`` (one task only: language → dev features of the target languages) those
    dev sets are scored after every epoch too, and a second best state is kept, the one with the
    best mean over them ("target" selection; the usual one is "en"). The history records the
    per-epoch scores and ``selected_epochs``; ``selected``, when given, receives both states
    (``{"en": …, "target": …}``, CPU state dicts), while the model is left at the "en" one.

    The training curve (``history["steps"]``) is averaged over all processes at each epoch end and
    checkpoint. With ``live`` (the same on every process: a run with trackers) every update's loss,
    gradient norm and real tokens are averaged over the processes as it ends, and ``tracking`` (the
    main process's ``harness.tracking.Trackers``) receives them with the learning rate, and each
    epoch's dev scores.
    """
    from harness.common import interrupt
    from harness.training.checkpoint import rng_state, set_rng_state

    world, rank = accelerator.num_processes, accelerator.process_index
    per_device, accumulation = split_batch(settings.batch_size, settings.per_device_batch_size, world)
    lengths = [[f["length"] for f in task.train] for task in tasks]
    # The batch count does not depend on the shuffling seed, so one call per task gives it exactly.
    micro_per_epoch = sum(len(epoch_batches(l, per_device, seed=seed, epoch=0, rank=rank, world=world))
                          for l in lengths)
    if micro_per_epoch < accumulation:
        names = "+".join(t.spec.name for t in tasks)
        raise UserError(f"{names}: the training data make {micro_per_epoch} batches of {per_device} per process, "
                        f"fewer than the {accumulation} needed for one update of effective batch "
                        f"{settings.batch_size}; lower --batch-size")
    updates_per_epoch = micro_per_epoch // accumulation
    total_updates = max(1, math.ceil(updates_per_epoch * settings.epochs))
    unwrapped = accelerator.unwrap_model(model)
    optimizer = _optimizer(model, settings)
    scheduler = _linear_schedule(optimizer, int(settings.warmup_ratio * total_updates), total_updates)
    sampler = TaskSampler([len(t.train) for t in tasks], sampling, temperature=temperature, cap=cap, seed=seed,
                          fixed=fixed)
    streams = [BatchStream(l, per_device, seed=seed + 100_003 * i, rank=rank, world=world)
               for i, l in enumerate(lengths)]
    history: dict[str, Any] = {
        "per_device_batch_size": per_device, "gradient_accumulation": accumulation, "processes": world,
        "updates": total_updates, "epochs": [],
        "steps": {"every": max(1, math.ceil(total_updates / CURVE_POINTS)), "update": [], "train_loss": [],
                  "learning_rate": [], "grad_norm": []},
    }
    if len(tasks) > 1:
        history["sampling"] = {"strategy": sampling, "temperature": temperature if sampling == "temperature" else None,
                               "cap": cap, "probabilities": dict(zip((t.spec.name for t in tasks),
                                                                    sampler.probabilities))}
    label = "+".join(t.spec.name for t in tasks) if len(tasks) <= 3 else f"{len(tasks)} tasks"
    loop: dict[str, Any] = {"update": 0, "epoch": 0, "micro": 0, "in_epoch": False, "done": 0, "target": 0,
                            "micro_steps": 0, "loss_sum": 0.0, "first_loss": None, "best_score": -math.inf,
                            "elapsed": 0.0}
    if target_dev is not None:
        if len(tasks) != 1:
            raise ValueError("target-language dev sets select among the states of one task's training")
        loop["best_target_score"] = -math.inf
    best_state = best_target_state = None
    resumed = checkpoints.load() if checkpoints is not None else None
    window_resumed = None
    if resumed is not None:
        if len(resumed["ranks"]) != world:
            raise UserError(f"the training checkpoint in {checkpoints.folder} was written by {len(resumed['ranks'])} "
                            f"process(es), this run has {world}; run with {len(resumed['ranks'])} again, or remove "
                            f"that folder to start the phase over")
        if resumed["model"] is not None:  # None after the last epoch: the best state is what follows
            unwrapped.load_state_dict(resumed["model"])
        if resumed["optimizer"] is not None:
            optimizer.load_state_dict(resumed["optimizer"])
            scheduler.load_state_dict(resumed["scheduler"])
        loop, best_state, history = resumed["loop"], resumed["best_state"], resumed["history"]
        best_target_state = resumed.get("best_target_state")
        if resumed.get("best_is_model"):  # written once: the best state was the current one
            best_state = resumed["model"]
        if resumed.get("best_target_is_model"):
            best_target_state = resumed["model"]
        mine = resumed["ranks"][rank]
        sampler._rng.setstate(mine["sampler"])
        for stream, position in zip(streams, mine["streams"]):
            stream.restore(position)
        set_rng_state(mine["rng"])
        # the loop's counters are the main process's; each process's own partial epoch loss is in
        # its share (older checkpoints have only the main process's, in the loop)
        loop["loss_sum"] = mine.get("loss_sum", loop["loss_sum"])
        loop["first_loss"] = mine.get("first_loss", loop["first_loss"])
        window_resumed = mine.get("window")  # this process's part of the curve's open window
        history.setdefault("resumed_at_update", []).append(loop["update"])
        reporter.log(f"{label}: resuming from the checkpoint at update {loop['update']} of {total_updates}")

    def save(name: str) -> None:
        flush_curve()  # the curve's finished windows go into the history the checkpoint holds
        mine = {"sampler": sampler._rng.getstate(), "streams": [s.state() for s in streams], "rng": rng_state(),
                "loss_sum": float(loss_sum.item()) if loop["in_epoch"] else 0.0,
                "first_loss": None if first_loss is None else float(first_loss.item()),
                "window": {"sum": float(window["sum"].item()), "micro": window["micro"],
                           "grad": float(window["grad"].item()),
                           "grads": float(window["grads"].item()), "tokens": window["tokens"],
                           "seconds": time.perf_counter() - window["began"]}}
        ranks = [mine]
        if world > 1:
            from accelerate.utils import gather_object

            ranks = gather_object([mine])
        snapshot = dict(loop, loss_sum=mine["loss_sum"], first_loss=mine["first_loss"],
                        elapsed=loop["elapsed"] + time.perf_counter() - start)
        # after the last epoch no update follows: a resume needs only the state the phase ends with
        # (the best one where there is one), not the optimizer's moments nor the current weights, so
        # that checkpoint is a quarter of the others' size
        final = loop["update"] >= total_updates and not loop["in_epoch"]
        # at the end of an epoch that was the best so far, the best state is the current one: written
        # once (a model's size less per checkpoint), and read back as both
        at_end = not loop["in_epoch"] and not final
        best_is_model = at_end and best_state is not None and history.get("best_epoch") == loop["epoch"]
        target_is_model = (at_end and best_target_state is not None
                           and history.get("selected_epochs", {}).get("target") == loop["epoch"])
        state = {"model": None if final and best_state is not None else unwrapped.state_dict(),
                 "optimizer": None if final else optimizer.state_dict(),
                 "scheduler": None if final else scheduler.state_dict(), "loop": snapshot,
                 "best_state": None if best_is_model else best_state, "best_is_model": best_is_model,
                 "history": history, "ranks": ranks}
        if target_dev is not None:  # the second criterion's best state must survive a resume too
            state["best_target_state"] = None if target_is_model else best_target_state
            state["best_target_is_model"] = target_is_model
        checkpoints.save(state, name)

    def checkpoint_if_asked(name: str, at_epoch_end: bool = False) -> None:
        if checkpoints is None:
            if interrupt.requested() is not None:
                raise interrupt.Interrupted(interrupt.requested())
            return
        stop, due = _agree(accelerator, interrupt.requested() is not None, checkpoints.due())
        if stop or due or at_epoch_end:
            save(name)
        if stop:
            raise interrupt.Interrupted(interrupt.requested() or signal.SIGTERM, checkpointed=True)

    start = time.perf_counter()
    # Losses stay on the device until the epoch ends: a per-step .item() or all-reduce
    # would stall a GPU pipeline just for logging.
    loss_sum = torch.full((), float(loop["loss_sum"]), device=accelerator.device)
    # the training curve: the open window's loss sum and micro-steps (on the device), and finished
    # windows waiting to be averaged over the processes at the next epoch end or checkpoint
    curve = history.setdefault("steps", {"every": max(1, math.ceil(total_updates / CURVE_POINTS)), "update": [],
                                         "train_loss": [], "learning_rate": []})
    opened = window_resumed or {}

    def new_window(values=None) -> dict[str, Any]:
        values = values or {}
        return {"sum": torch.full((), float(values.get("sum", 0.0)), device=accelerator.device),
                "micro": int(values.get("micro", 0)),
                "grad": torch.full((), float(values.get("grad", 0.0)), device=accelerator.device),
                # updates with a finite gradient norm (none under DeepSpeed; fp16 overflow steps are skipped)
                "grads": torch.full((), float(values.get("grads", 0.0)), device=accelerator.device),
                "tokens": int(values.get("tokens", 0)),
                "began": time.perf_counter() - float(values.get("seconds", 0.0))}

    window = new_window(opened)
    # finished windows: (update, mean loss, mean gradient norm, learning rate, tokens, seconds)
    pending: list[tuple[int, torch.Tensor, torch.Tensor, float, int, float]] = []

    def flush_curve() -> None:
        if not pending:
            return
        # one all-reduce for every finished window: mean loss, mean gradient norm, real tokens
        rows = torch.stack([torch.stack([loss, grad, torch.tensor(float(tokens), device=accelerator.device)])
                            for _, loss, grad, _, tokens, _ in pending])
        means = accelerator.reduce(rows, reduction="mean").tolist()
        for (update, _, _, rate, _, seconds), (loss, grad, tokens) in zip(pending, means):
            curve["update"].append(update)
            curve["train_loss"].append(loss)
            curve["learning_rate"].append(rate)
            curve.setdefault("grad_norm", []).append(grad if math.isfinite(grad) else None)
        pending.clear()

    # with trackers, every update is reported as it ends (one all-reduce of three numbers: the sync a
    # live view costs); the recorded curve above is the same with or without them
    this = {"sum": torch.zeros((), device=accelerator.device), "micro": 0, "tokens": 0,
            "began": time.perf_counter()}

    def report_update(update: int, rate: float) -> None:
        norm = step.grad_norm.detach().float() if step.grad_norm is not None else torch.tensor(
            float("nan"), device=accelerator.device)
        row = torch.stack([this["sum"] / max(this["micro"], 1), norm,
                           torch.tensor(float(this["tokens"]), device=accelerator.device)])
        loss, grad, tokens = accelerator.reduce(row, reduction="mean").tolist()
        if tracking is not None:  # tokens of every process over this one's time for the update
            values = {"train/loss": loss, "train/learning_rate": rate,
                      "train/tokens_per_second": tokens * world / max(time.perf_counter() - this["began"], 1e-9)}
            if math.isfinite(grad):
                values["train/grad_norm"] = grad
            tracking.log(values, update)
        this.update(sum=torch.zeros((), device=accelerator.device), micro=0, tokens=0, began=time.perf_counter())

    first_loss = None if loop["first_loss"] is None else torch.tensor(loop["first_loss"], device=accelerator.device)
    step = Step(accelerator, model, optimizer, scheduler, accumulation=accumulation,
                max_grad_norm=settings.max_grad_norm, pad_id=pad_id, speed=speed)
    with interrupt.deferred():
        while loop["update"] < total_updates:
            if not loop["in_epoch"]:
                loss_sum = torch.zeros((), device=accelerator.device)
                first_loss = None
                loop.update(in_epoch=True, done=0, micro_steps=0,
                            target=min(updates_per_epoch, total_updates - loop["update"]))
            model.train()
            with reporter.task(f"{label} epoch {loop['epoch'] + 1}", total=loop["target"] - loop["done"]) as advance:
                while loop["done"] < loop["target"]:
                    drawn = sampler.draw() if len(tasks) > 1 else 0
                    task, indices = tasks[drawn], next(streams[drawn])
                    tokens = sum(task.train[i]["length"] for i in indices)  # real tokens, no padding
                    window["tokens"] += tokens
                    batch = step.prepare(task.kind, [task.train[i] for i in indices])
                    last_micro = (loop["micro"] + 1) % accumulation == 0
                    rate = optimizer.param_groups[0]["lr"]  # the rate this update steps with
                    step_loss = step.run(task.spec.name, task.kind, batch, last_micro)
                    loss_sum += step_loss
                    window["sum"] += step_loss
                    window["micro"] += 1
                    if live:
                        this["sum"] += step_loss
                        this["micro"] += 1
                        this["tokens"] += tokens
                    loop["micro_steps"] += 1
                    loop["micro"] += 1
                    if first_loss is None:
                        first_loss = step_loss.clone()
                    if last_micro:
                        loop["update"] += 1
                        loop["done"] += 1
                        if step.grad_norm is not None:
                            norm = step.grad_norm.detach().float()
                            finite = torch.isfinite(norm)
                            window["grad"] += torch.where(finite, norm, torch.zeros_like(norm))
                            window["grads"] += finite.float()
                        if loop["update"] % curve["every"] == 0 or loop["update"] == total_updates:
                            # no finite norm in the window: NaN, recorded as None
                            grad = torch.where(window["grads"] > 0, window["grad"] / window["grads"].clamp(min=1),
                                               torch.full_like(window["grad"], float("nan")))
                            pending.append((loop["update"], window["sum"] / window["micro"], grad, rate,
                                            window["tokens"], time.perf_counter() - window["began"]))
                            window = new_window()
                        if live:  # every process reaches this point together: the mean is theirs
                            report_update(loop["update"], rate)
                        advance()
                        checkpoint_if_asked(f"{loop['update']:09d}-0step")
            flush_curve()
            scores = {}
            for task in (t for t in tasks if t.kind.validates):
                predictions = predict(accelerator, model, task.spec.name, task.kind, task.dev,
                                      batch_size=per_device * 2, pad_id=pad_id, reporter=reporter,
                                      description=f"{task.spec.name} dev", spec=task.spec, speed=speed)
                scores[task.spec.name] = task.kind.score(predictions, task.dev, task.spec)
            score = sum(scores.values()) / len(scores)
            # the mean over all micro-steps of all processes: their loss sums and counts, summed
            totals = torch.stack([loss_sum, torch.full_like(loss_sum, loop["micro_steps"])])
            totals = accelerator.reduce(totals, reduction="sum")
            mean_loss = (totals[0] / totals[1].clamp(min=1)).item()
            first = accelerator.reduce(first_loss, reduction="mean").item() if first_loss is not None else None
            entry = {"epoch": loop["epoch"] + 1, "updates": loop["update"], "train_loss": mean_loss,
                     "first_loss": first, "dev_score": score}
            if len(tasks) > 1:
                entry["dev_scores"] = scores
            history["epochs"].append(entry)
            if tracking is not None:
                tracking.log({"epoch": loop["epoch"] + 1, "train/epoch_loss": mean_loss, "dev/score": score,
                              **{f"dev/{name}": value for name, value in scores.items()}}, loop["update"])
            shown = ", ".join(f"{name} {value:.2f}" for name, value in scores.items()) if len(tasks) > 1 else \
                f"{tasks[0].spec.metric} {score:.2f}"
            if len(scores) < len(tasks):
                shown += " (masked LM not scored)"
            reporter.log(f"{label} epoch {loop['epoch'] + 1}: train loss {mean_loss:.4f}, dev {shown}")
            if target_dev is not None:
                target_score = _score_target_dev(accelerator, model, tasks[0], target_dev, batch_size=per_device * 2,
                                                 pad_id=pad_id, reporter=reporter, entry=entry, speed=speed)
                reporter.log(f"{label} epoch {loop['epoch'] + 1}: target-language dev mean {target_score:.2f}")
                if target_score > loop["best_target_score"]:
                    loop["best_target_score"] = target_score
                    best_target_state = _cpu_copy(unwrapped)
                    history.setdefault("selected_epochs", {})["target"] = loop["epoch"] + 1
            if score > loop["best_score"]:
                loop["best_score"] = score
                best_state = _cpu_copy(unwrapped)
                history["best_epoch"] = loop["epoch"] + 1
                if target_dev is not None:
                    history.setdefault("selected_epochs", {})["en"] = loop["epoch"] + 1
            loop["epoch"] += 1
            loop["in_epoch"] = False
            checkpoint_if_asked(f"{loop['update']:09d}-1epoch", at_epoch_end=True)
    if best_state is not None:
        unwrapped.load_state_dict(best_state)
    history["best_dev_score"] = loop["best_score"]
    if target_dev is not None:
        history["best_target_dev_score"] = loop["best_target_score"]
        history["selected_epochs"] = {c: history.get("selected_epochs", {}).get(c) for c in ("en", "target")}
    if selected is not None:
        selected.update(en=best_state, target=best_target_state)
    history["train_seconds"] = loop["elapsed"] + time.perf_counter() - start
    if checkpoints is not None:  # this process's share (a resumed run's earlier ones are not counted)
        history["checkpoints"] = {"written": checkpoints.written, "seconds": checkpoints.seconds}
    return history
