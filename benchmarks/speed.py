"""Training, evaluation, embedding and mining speed of the harness on an XLM-R-shaped encoder, offline.

    python benchmarks/speed.py --size large     # on a GPU: XLM-R Large's shape (24 × 1024, 250,002 pieces)
    python benchmarks/speed.py --size tiny      # on the CPU in about a minute (the test suite runs it)

Nothing is downloaded. The encoder is built from a config written below with random weights
(speed does not depend on them); the inputs are real: ``../shared/data`` tokenised by the XLM-R
vocabulary of ``../shared/models/multilingual-e5-small`` (pruned to the pieces that data uses, so
lengths are XLM-R's), featurised by the harness' own task kinds:

- classification, max length 256: PAWS-X German dev and XNLI dev (15 languages) pairs;
- tagging, max length 256: Universal Dependencies sentences (English, German, Chinese);
- span QA, max length 384, stride 128: SQuAD v1.1 and XQuAD (12 languages) windows.

For each, one pass over the same examples, the first batches a warm-up, the rest timed:

- ``harness``: the harness' training step (``harness.training.loop.Step``) with the run's own settings
  (``harness.compute.speed``: sdpa, bf16 and pinned transfers on a GPU, fused AdamW) on its
  length-grouped batches;
- ``trainer_same``: a plain transformers ``Trainer`` on identical batches;
- ``trainer_random``: ``Trainer`` with its own random batches (padded to their longest member);
- ``pad_to_max``: the harness step with every batch padded to the maximum length;
- ``eager``: the harness step with transformers' eager attention instead of sdpa;
- ``compile`` (classification): the harness step with ``torch.compile`` (dynamic shapes), its
  compile time and the tokens after which it pays for itself;
- ``unpadded``: FlashAttention's variable-length kernel on packed batches, where ``flash_attn``
  imports (on a GPU), recorded as skipped otherwise.

Then evaluation (the harness' ``predict``: length-sorted batches under ``inference_mode``,
against the same batches under ``no_grad`` and random batches padded to the maximum), sentence
embeddings for retrieval (``harness.kinds.retrieval.embed`` on Tatoeba, max length 512) and
BUCC-scale mining (``margin_candidates`` on 100,000 × 100,000 1,024-dimensional vectors with
``--size large``) with its time and peak memory.

Throughput counts real tokens only (padding is not work done for the user). MFU is model FLOPs
per second over the device's dense bf16 peak (from its name; ``--peak-tflops`` to state it):
training 6·N·T + 12·L·h·T² per sequence of T real tokens (N: the encoder's weights outside the
embeddings, L layers, hidden h), evaluation a third of that. Everything lands in a JSON file.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import sys
import time
from pathlib import Path

from common import SHARED  # sets the offline environment first

#: encoder shapes; "large" is XLM-R Large (Conneau et al., 2020; FacebookAI/xlm-roberta-large's config)
SIZES = {
    "large": {"hidden_size": 1024, "num_hidden_layers": 24, "num_attention_heads": 16, "intermediate_size": 4096,
              "vocab_size": 250002},
    # the tiny plugin model's shape, with the e5 tokenizer's (pruned) vocabulary
    "tiny": {"hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 256,
             "vocab_size": None},
}
#: per size: examples timed per task family (after the warm-up batches), warm-up batches,
#: sentences embedded, mining corpus size and dimension, batch sizes
PLANS = {
    "large": {"examples": {"classification": 4096, "tagging": 4096, "span_qa": 2048}, "warmup": 5,
              "sentences": 20000, "mining": (100_000, 1024), "eval_examples": 8192},
    "tiny": {"examples": {"classification": 160, "tagging": 160, "span_qa": 64}, "warmup": 2,
             "sentences": 600, "mining": (20_000, 64), "eval_examples": 384},
}
FAMILIES = {"classification": ("xnli", 256, 32), "tagging": ("udpos", 256, 32), "span_qa": ("xquad", 384, 16)}

#: dense (no sparsity) bf16 tensor-core peaks from NVIDIA's datasheets, FLOP/s; the first name
#: contained in the device's name wins, so specific names come first
PEAK_BF16 = [
    ("H100 NVL", 835e12), ("H100 PCIe", 756e12), ("H100", 989.4e12), ("H200 NVL", 835e12), ("H200", 989.4e12),
    ("A100", 312e12), ("L40S", 362.05e12), ("L40", 181.05e12), ("L4", 121e12), ("B200", 2250e12),
]


# -- inputs ----------------------------------------------------------------------------------

def real_examples(registry) -> dict[str, list[dict]]:
    """Examples of each family read from ../shared/data by the xtreme plugin's own readers."""
    from harness.data.sources import plan_task_data

    data = SHARED / "data"
    pawsx = registry.task("target", "pawsx").spec
    xnli = registry.task("target", "xnli")
    udpos = registry.task("target", "udpos").spec
    xquad = registry.task("target", "xquad").spec  # its reader reads SQuAD's format, which XQuAD shares
    classification = list(pawsx.local.read(data / "pawsx/superglebergerman/dev.tsv", "dev", "de"))
    loaded = plan_task_data(xnli, [("dev", lang) for lang in xnli.spec.languages], source="local",
                            data_dir=data / "xnli")
    classification += [e for lang in xnli.spec.languages for e in loaded.load("dev", lang)]
    tagging = [e for path in sorted((data / "udpos").glob("*.conllu"))
               for e in udpos.local.read(path, "dev", path.name[:2])]
    qa = list(xquad.local.read(data / "squad/v1.1/xquad.en.json", "dev", "en"))
    qa += [e for path in sorted((data / "xquad").glob("xquad.*.json"))
           for e in xquad.local.read(path, "test", path.name.split(".")[1])]
    return {"classification": classification, "tagging": tagging, "span_qa": qa}


def tatoeba_sentences(limit: int, seed: int = 0) -> list[str]:
    lines = [line.strip() for path in sorted((SHARED / "data/tatoeba/v1").glob("tatoeba.*-eng.*"))
             for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    random.Random(seed).shuffle(lines)
    return lines[:limit]


# -- model and FLOPs -------------------------------------------------------------------------

def build_encoder(size: str, vocab: int, attention: str, device):
    import torch
    from transformers import XLMRobertaConfig, XLMRobertaModel

    shape = dict(SIZES[size])
    shape["vocab_size"] = shape["vocab_size"] or vocab
    config = XLMRobertaConfig(**shape, max_position_embeddings=514, type_vocab_size=1, pad_token_id=1,
                              bos_token_id=0, eos_token_id=2, attn_implementation=attention)
    torch.manual_seed(0)
    with torch.device(device):
        encoder = XLMRobertaModel(config, add_pooling_layer=False)
    return encoder


def weights_outside_embeddings(config) -> int:
    h, f, layers = config.hidden_size, config.intermediate_size, config.num_hidden_layers
    return layers * (4 * h * h + 2 * h * f)


def flops(config, lengths, training: bool = True) -> float:
    """Model FLOPs of a pass over sequences of these real lengths (training: forward + backward)."""
    n = weights_outside_embeddings(config)
    per = sum(2 * n * t + 4 * config.num_hidden_layers * config.hidden_size * t * t for t in lengths)
    return 3 * per if training else per


def peak_flops(device, override_tflops: float | None) -> tuple[float | None, str]:
    import torch

    if override_tflops:
        return override_tflops * 1e12, f"{override_tflops} TFLOP/s (given with --peak-tflops)"
    if device.type != "cuda":
        return None, "no bf16 peak for a CPU: MFU is not computed"
    name = torch.cuda.get_device_name(device)
    for key, value in PEAK_BF16:
        if key in name:
            return value, f"{value / 1e12:g} TFLOP/s dense bf16 ({key}, NVIDIA datasheet; device: {name})"
    return None, f"unknown peak for {name}: pass --peak-tflops"


# -- timing ----------------------------------------------------------------------------------

def synchronize(device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def interleaved(contenders: list, repeats: int) -> dict[str, dict]:
    """Each contender's run with the median throughput over ``repeats`` rounds; every round runs
    them all, in reverse order every other round, so a machine's drift favours none of them."""
    runs: dict[str, list[dict]] = {name: [] for name, _ in contenders}
    for round_ in range(repeats):
        for name, measure in (contenders if round_ % 2 == 0 else contenders[::-1]):
            runs[name].append(measure())
    return {name: median_run(results) for name, results in runs.items()}


def median_run(results: list[dict]) -> dict:
    """The run with the median throughput, with every run's throughput beside it."""
    ranked = sorted(results, key=lambda r: r["tokens_per_second"])
    chosen = dict(ranked[len(ranked) // 2])
    if len(ranked) > 1:
        chosen["tokens_per_second_runs"] = [r["tokens_per_second"] for r in results]
    return chosen


def median_seconds(device, run, repeats: int) -> float:
    """Median wall time of ``repeats`` calls of ``run``, the device drained before and after each."""
    times = []
    for _ in range(repeats):
        synchronize(device)
        began = time.perf_counter()
        run()
        synchronize(device)
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def padded_to(batch: dict, width: int, pad_id: int) -> dict:
    """A collated batch padded on to ``width`` tokens (the pad-to-max baseline)."""
    import torch

    current = batch["input_ids"].shape[-1]
    if current >= width:
        return batch
    out = {}
    for name, value in batch.items():
        if value.dim() >= 2 and value.shape[-1] == current:
            fill = pad_id if name == "input_ids" else -100 if name == "labels" else 0
            value = torch.nn.functional.pad(value, (0, width - current), value=fill)
        out[name] = value
    return out


def real_tokens(features: list[dict]) -> list[int]:
    return [f["length"] for f in features]


def result(config, lengths: list[int], padded: int, seconds: float, peak: float | None, training=True) -> dict:
    tokens = sum(lengths)
    achieved = flops(config, lengths, training) / seconds
    return {"seconds": round(seconds, 4), "examples": len(lengths), "real_tokens": tokens, "padded_tokens": padded,
            "tokens_per_second": round(tokens / seconds, 1), "model_tflops_per_second": round(achieved / 1e12, 4),
            "mfu": round(achieved / peak, 4) if peak else None}


class Bench:
    def __init__(self, args, registry, tokenizer):
        import torch
        from accelerate import Accelerator

        from harness.compute import speed

        self.args, self.registry, self.tokenizer = args, registry, tokenizer
        gpu = args.device == "cuda" or (args.device == "auto" and torch.cuda.is_available())
        # the padded contenders run sdpa (with flash_attn installed, a run's default is FlashAttention
        # on packed batches: the "unpadded" contender)
        self.speed = speed.resolve({"attention": "sdpa"}, device_type="cuda" if gpu else "cpu",
                                   bf16=gpu and torch.cuda.is_bf16_supported())
        self.accelerator = Accelerator(cpu=not gpu, mixed_precision="bf16" if self.speed.precision == "bf16" else "no")
        self.device = self.accelerator.device
        self.plan = dict(PLANS[args.size])
        if args.examples is not None:  # a shorter measurement (the test suite's): every family times this many
            self.plan["examples"] = {family: args.examples for family in self.plan["examples"]}
        if args.warmup is not None:
            self.plan["warmup"] = args.warmup
        self.peak, self.peak_note = peak_flops(self.device, args.peak_tflops)
        self.pad_id = tokenizer.pad_token_id

    # the harness' step, timed over a list of batches after a warm-up
    def harness_pass(self, model, spec, kind, features, batches, *, pad_to=None, speed=None) -> tuple[dict, float]:
        from harness.training.loop import Step, TrainSettings, _linear_schedule, _optimizer

        settings = TrainSettings(epochs=1, lr=1e-5, batch_size=len(batches[0]), per_device_batch_size=len(batches[0]),
                                 max_length=pad_to or 0)
        optimizer = _optimizer(model, settings)
        step = Step(self.accelerator, model, optimizer, _linear_schedule(optimizer, 1, len(batches)),
                    accumulation=1, max_grad_norm=1.0, pad_id=self.pad_id, speed=speed or self.speed)
        model.train()

        def prepare(indices):
            rows = [features[i] for i in indices]
            if pad_to is None:
                return step.prepare(kind, rows)
            from harness.compute.speed import transfer

            return transfer(padded_to(kind.collate(rows, self.pad_id), pad_to, self.pad_id), self.device,
                            speed or self.speed)

        warm, timed = batches[:self.plan["warmup"]], batches[self.plan["warmup"]:]
        began = time.perf_counter()
        for indices in warm:
            step.run(spec.name, kind, prepare(indices), True)
        synchronize(self.device)
        warm_seconds = time.perf_counter() - began
        began = time.perf_counter()
        total = None
        for indices in timed:
            loss = step.run(spec.name, kind, prepare(indices), True)
            total = loss if total is None else total + loss
        synchronize(self.device)
        seconds = time.perf_counter() - began
        assert total is not None and bool(total.isfinite()), "the training loss is not finite"
        lengths = [features[i]["length"] for b in timed for i in b]
        padded = sum((pad_to or max(features[i]["length"] for i in b)) * len(b) for b in timed)
        return result(model.encoder.config, lengths, padded, seconds, self.peak), warm_seconds

    def trainer_pass(self, model, spec, kind, features, batches, tmp: Path, size: int) -> dict:
        """A plain transformers Trainer over ``features``: on ``batches`` when given (identical
        batches), else with its own random sampler; the first batches untimed, as above."""
        import torch
        from transformers import Trainer, TrainerCallback, TrainingArguments
        from transformers.trainer_callback import PrinterCallback

        from bench import TrainerAdapter

        consumed: list[list[int]] = []  # real lengths of each batch, in the order Trainer takes them

        def collate(rows):
            consumed.append([r["length"] for r in rows])
            return kind.collate(rows, self.pad_id)

        warmup, device = self.plan["warmup"], self.device

        class Clock(TrainerCallback):
            def on_step_end(self, args, state, control, **kwargs):
                if state.global_step == warmup:
                    synchronize(device)
                    self.began = time.perf_counter()

            def on_train_end(self, *args, **kwargs):
                synchronize(device)
                self.seconds = time.perf_counter() - self.began

        loader = None
        if batches is not None:
            loader = torch.utils.data.DataLoader(features, batch_sampler=batches, collate_fn=collate,
                                                 pin_memory=device.type == "cuda")

        class Fixed(Trainer):
            def get_train_dataloader(self):
                return loader if loader is not None else super().get_train_dataloader()

        class Data(torch.utils.data.Dataset):
            def __len__(self):
                return len(features)

            def __getitem__(self, i):
                return features[i]

        args = TrainingArguments(output_dir=str(tmp), per_device_train_batch_size=size, learning_rate=1e-5,
                                 weight_decay=0.01, lr_scheduler_type="linear", num_train_epochs=1, max_grad_norm=1.0,
                                 report_to=[], save_strategy="no", logging_strategy="no", disable_tqdm=True,
                                 use_cpu=device.type != "cuda", bf16=self.speed.precision == "bf16",
                                 dataloader_num_workers=0, remove_unused_columns=False, seed=0)
        clock = Clock()
        trainer = Fixed(model=TrainerAdapter(model, spec.name, kind), args=args, train_dataset=Data(),
                        data_collator=collate, callbacks=[clock])
        trainer.remove_callback(PrinterCallback)  # it prints the run's summary line
        trainer.train()
        timed = [t for lengths in consumed[warmup:] for t in lengths]
        padded = sum(max(lengths) * len(lengths) for lengths in consumed[warmup:])
        return result(model.encoder.config, timed, padded, clock.seconds, self.peak)


def training(bench: Bench, examples: dict[str, list[dict]], tmp: Path, log) -> dict:
    import torch

    from harness.compute import speed as fast
    from harness.kinds import get_kind
    from harness.training.model import TaskModel
    from harness.training.loop import epoch_batches

    out = {}
    for family, (task, max_length, batch) in FAMILIES.items():
        spec = bench.registry.task("target", task).spec
        kind = get_kind(spec.kind)
        rows = list(examples[family])
        random.Random(0).shuffle(rows)
        wanted = bench.plan["examples"][family] + bench.plan["warmup"] * batch
        # every example gives at least one feature (a QA context may give several windows)
        features = kind.featurize(rows[:wanted], bench.tokenizer, max_length, spec)[:wanted]
        batches = epoch_batches(real_tokens(features), batch, seed=0, epoch=0)
        encoder = build_encoder(bench.args.size, len(bench.tokenizer), "sdpa", bench.device)
        model = TaskModel(encoder)
        model.add_head(spec.name, kind, spec)
        model.to(bench.device)
        initial = {k: v.detach().clone() for k, v in model.state_dict().items()}

        def fresh(attention="sdpa"):
            model.load_state_dict(initial)
            model.encoder.set_attn_implementation(attention)
            return model

        lengths = real_tokens(features)
        row = {"task": task, "max_length": max_length, "batch_size": batch, "examples": len(features),
               "mean_real_tokens": round(statistics.mean(lengths), 1), "max_real_tokens": max(lengths)}
        log(f"{family}: {len(features)} examples ({task}), batch {batch}, max length {max_length}, "
            f"mean {row['mean_real_tokens']} tokens")
        contenders = [
            ("harness", lambda: bench.harness_pass(fresh(), spec, kind, features, batches)[0]),
            ("trainer_same", lambda: bench.trainer_pass(fresh(), spec, kind, features, batches, tmp, batch)),
            ("trainer_random", lambda: bench.trainer_pass(fresh(), spec, kind, features, None, tmp, batch)),
            ("pad_to_max", lambda: bench.harness_pass(fresh(), spec, kind, features, batches, pad_to=max_length)[0]),
            ("eager", lambda: bench.harness_pass(fresh("eager"), spec, kind, features, batches)[0]),
        ]
        if bench.speed.device == "cuda" and fast.flash_available():
            packed = fast.resolve({"attention": "flash_attention_2"}, device_type="cuda", bf16=True, flash=True)
            contenders.append(("unpadded", lambda: bench.harness_pass(fresh("flash_attention_2"), spec, kind,
                                                                      features, batches, speed=packed)[0]))
        else:
            row["unpadded"] = {"skipped": "flash_attn is not importable here (it needs a GPU and its own wheel)"}
        row.update(interleaved(contenders, bench.args.repeats))
        for name, _ in contenders:
            log(f"  {name:<15}{row[name]['tokens_per_second']:>12,.0f} tokens/s")
        if family == "classification" and not bench.args.no_compile:
            # the warm-up batches without compilation, to separate compile time from first-step costs
            _, plain_warm = bench.harness_pass(fresh(), spec, kind, features, batches)
            compiled = fresh()
            compiled.encoder.compile(dynamic=True, backend=bench.args.compile_backend)
            runs = [bench.harness_pass(compiled, spec, kind, features, batches) for _ in range(bench.args.repeats)]
            compile_warm = runs[0][1]  # the first pass over the warm-up batches compiles
            row["compile"] = median_run([r for r, _ in runs])  # after compiling: not interleaved with the others
            gain = 1 / row["harness"]["tokens_per_second"] - 1 / row["compile"]["tokens_per_second"]
            warm_tokens = sum(lengths[i] for b in batches[:bench.plan["warmup"]] for i in b)
            row["compile"].update(backend=bench.args.compile_backend,
                                  compile_seconds=round(max(0.0, compile_warm - plain_warm), 2),
                                  warmup_tokens=warm_tokens)
            row["compile"]["pays_off_after_tokens"] = (
                round(row["compile"]["compile_seconds"] / gain) if gain > 0 else None)
            log(f"  compile        {row['compile']['tokens_per_second']:>12,.0f} tokens/s "
                f"({row['compile']['compile_seconds']} s to compile, backend {bench.args.compile_backend})")
            torch._dynamo.reset()
        harness = row["harness"]["tokens_per_second"]
        row["ratios"] = {name: round(harness / row[name]["tokens_per_second"], 3)
                         for name in ("trainer_same", "trainer_random", "pad_to_max", "eager", "compile", "unpadded")
                         if "tokens_per_second" in row.get(name, {})}
        out[family] = row
        if bench.device.type == "cuda":
            torch.cuda.empty_cache()
    return out


def evaluation(bench: Bench, examples: dict[str, list[dict]], log) -> dict:
    """The harness' predict (sorted batches, inference_mode) against the same batches under
    no_grad and against random batches padded to the maximum length."""
    import torch

    from harness.compute.batching import random_batches, sorted_batches
    from harness.kinds import get_kind
    from harness.training.model import TaskModel
    from harness.common.progress import Reporter
    from harness.training.loop import predict

    task, max_length, batch = FAMILIES["classification"]
    batch *= 2  # the harness evaluates with twice the training batch
    spec = bench.registry.task("target", task).spec
    kind = get_kind(spec.kind)
    rows = list(examples["classification"])
    random.Random(1).shuffle(rows)
    features = kind.featurize(rows[:bench.plan["eval_examples"]], bench.tokenizer, max_length, spec)
    encoder = build_encoder(bench.args.size, len(bench.tokenizer), "sdpa", bench.device)
    model = TaskModel(encoder)
    model.add_head(spec.name, kind, spec)
    model.to(bench.device).eval()
    lengths = real_tokens(features)
    config = encoder.config

    def harness_predict():
        return predict(bench.accelerator, model, spec.name, kind, features, batch_size=batch, pad_id=bench.pad_id,
                       reporter=Reporter(False), description="eval", speed=bench.speed)

    def plain(batches, pad_to=None, order=False):
        """Predictions of a plain loop over ``batches`` (in the features' order with ``order``)."""
        from harness.compute.speed import transfer

        out, taken = [], []
        with torch.no_grad():
            for indices in batches:
                collated = kind.collate([features[i] for i in indices], bench.pad_id)
                if pad_to:
                    collated = padded_to(collated, pad_to, bench.pad_id)
                moved = transfer(collated, bench.device)
                with bench.accelerator.autocast():
                    logits = model(spec.name, moved)
                out.extend(kind.predict(logits, moved))
                taken.extend(indices)
        if order:
            by_index = dict(zip(taken, out))
            return [by_index[i] for i in range(len(features))]
        return out

    sorted_ = sorted_batches(lengths, batch)
    shuffled = random_batches(len(features), batch, seed=0)
    in_sorted = sum(max(lengths[i] for i in b) * len(b) for b in sorted_)
    ways = {"harness": (harness_predict, in_sorted), "same_batches_no_grad": (lambda: plain(sorted_), in_sorted),
            "random_batches_pad_to_max": (lambda: plain(shuffled, max_length), max_length * len(features))}

    def measure(run, padded):
        return lambda: result(config, lengths, padded, median_seconds(bench.device, run, 1), bench.peak,
                              training=False)

    for run, _ in ways.values():
        run()  # warm-up
    out = interleaved([(name, measure(run, padded)) for name, (run, padded) in ways.items()], bench.args.repeats)
    # the same predictions, whichever way they were computed (padding to the maximum may move a
    # near-tie: the kernels sum in another order)
    reference = harness_predict()
    out["harness"]["predictions_agree"] = 1.0
    out["same_batches_no_grad"]["predictions_agree"] = agreement(reference, plain(sorted_, order=True))
    out["random_batches_pad_to_max"]["predictions_agree"] = agreement(reference, plain(shuffled, max_length,
                                                                                        order=True))
    out["ratios"] = {name: round(out["harness"]["tokens_per_second"] / out[name]["tokens_per_second"], 3)
                     for name in ways if name != "harness"}
    out.update(task=task, batch_size=batch, max_length=max_length)
    log(f"evaluation: {out['harness']['tokens_per_second']:,.0f} tokens/s "
        f"({out['ratios']['random_batches_pad_to_max']}× random batches padded to max)")
    return out


def agreement(a: list, b: list) -> float:
    return round(sum(x == y for x, y in zip(a, b)) / max(1, len(a)), 4)


def embedding(bench: Bench, log) -> dict:
    import torch

    from harness.kinds.retrieval import default_layer, embed
    from harness.common.progress import Reporter

    sentences = tatoeba_sentences(bench.plan["sentences"])
    encoder = build_encoder(bench.args.size, len(bench.tokenizer), "sdpa", bench.device).eval()
    layer = default_layer(encoder.config.num_hidden_layers)
    lengths = [len(ids) for ids in bench.tokenizer(sentences, truncation=True, max_length=512)["input_ids"]]

    def run():
        return embed(bench.accelerator, encoder, bench.tokenizer, sentences, layer=layer, pooling="mean",
                     batch_size=128, max_length=512, reporter=Reporter(False), description="embed",
                     speed=bench.speed)

    vectors = run()  # warm-up
    assert vectors.shape == (len(sentences), encoder.config.hidden_size) and bool(torch.isfinite(vectors).all())
    seconds = median_seconds(bench.device, run, bench.args.repeats)
    out = result(encoder.config, lengths, 0, seconds, bench.peak, training=False)
    out.update(sentences=len(sentences), sentences_per_second=round(len(sentences) / seconds, 1), layer=layer,
               batch_size=128, note="every layer up to the last runs; FLOPs count them all")
    log(f"embedding: {out['sentences_per_second']:,.0f} sentences/s of Tatoeba ({out['tokens_per_second']:,.0f} tokens/s)")
    return out


def mining(bench: Bench, log) -> dict:
    import torch

    from harness.kinds.retrieval import SCORES_PER_BLOCK, block_rows, margin_candidates

    size, dim = bench.plan["mining"]
    size = bench.args.mining_size or size
    generator = torch.Generator(device="cpu").manual_seed(0)
    # two corpora with a tenth of the sentences translations of each other (noisy copies)
    source = torch.randn(size, dim, generator=generator)
    target = torch.randn(size, dim, generator=generator)
    pairs = size // 10
    target[:pairs] = source[:pairs] + 0.5 * torch.randn(pairs, dim, generator=generator)
    source = torch.nn.functional.normalize(source, dim=-1).to(bench.device)
    target = torch.nn.functional.normalize(target, dim=-1).to(bench.device)
    synchronize(bench.device)
    if bench.device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(bench.device)
        base = torch.cuda.memory_allocated(bench.device)
    rss_before, rss_reset = reset_peak_rss()
    began = time.perf_counter()
    mined = margin_candidates(source, target, k=4)
    synchronize(bench.device)
    seconds = time.perf_counter() - began
    found = sum(1 for i, j, _ in mined if i == j and i < pairs)
    out = {"sentences": [size, size], "dimension": dim, "k": 4, "seconds": round(seconds, 3),
           "candidates": len(mined), "planted_pairs_found": found, "planted_pairs": pairs,
           "block_rows": block_rows(size), "score_block_bytes": block_rows(size) * size * 4,
           "scores_per_block_limit": SCORES_PER_BLOCK, "full_matrix_bytes": size * size * 4}
    if bench.device.type == "cuda":
        out["peak_memory_bytes"] = torch.cuda.max_memory_allocated(bench.device) - base
        out["memory_note"] = "peak GPU memory allocated during mining, beyond the two embedding matrices"
    else:
        out["peak_memory_bytes"] = peak_rss() - rss_before
        out["memory_note"] = ("peak resident memory of the process during mining, beyond what it held before "
                              "(Linux VmHWM, reset before mining)" if rss_reset else
                              "growth of the process' peak resident memory (0: within an earlier peak)")
    log(f"mining: {size:,} × {size:,} × {dim} in {seconds:.2f} s, {found}/{pairs} planted pairs among "
        f"{len(mined):,} candidates; score blocks of {out['block_rows']} rows ({out['score_block_bytes'] / 2**20:.0f} MiB)")
    return out


def peak_rss() -> int:
    """The process' peak resident memory in bytes (Linux VmHWM; ru_maxrss elsewhere)."""
    try:
        with open("/proc/self/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def reset_peak_rss() -> tuple[int, bool]:
    """Reset the peak to the current resident memory where Linux allows it: (baseline, whether reset)."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as handle:
            handle.write("5")
        reset = True
    except OSError:
        reset = False
    return peak_rss(), reset


def goals(report: dict) -> dict:
    """The goals set for one H100, checked against this run (--size large on a GPU)."""
    rows = report["training"]
    best = max(rows.values(), key=lambda r: r["harness"]["tokens_per_second"])
    return {
        "device_is_an_h100": "H100" in report["device"]["name"],
        "harness_tokens_per_second_min_over_tasks": min(r["harness"]["tokens_per_second"] for r in rows.values()),
        "at_least_200k_tokens_per_second": all(r["harness"]["tokens_per_second"] >= 200_000 for r in rows.values()),
        "at_least_1x_trainer_same_batches": all(r["ratios"]["trainer_same"] >= 1.0 for r in rows.values()),
        "at_least_3x_trainer_random_batches": all(r["ratios"]["trainer_random"] >= 3.0 for r in rows.values()),
        "best_mfu": best["harness"]["mfu"],
    }


def print_tables(report: dict) -> None:
    from tabulate import tabulate

    names = ["harness", "trainer_same", "trainer_random", "pad_to_max", "eager", "compile", "unpadded"]
    rows = []
    for family, row in report["training"].items():
        for name in names:
            entry = row.get(name, {})
            if "tokens_per_second" not in entry:
                rows.append([family, name, "", "", "", entry.get("skipped", "not measured")])
                continue
            ratio = row["ratios"].get(name)
            rows.append([family, name, f"{entry['tokens_per_second']:,.0f}",
                         "" if entry["mfu"] is None else f"{100 * entry['mfu']:.1f} %",
                         f"{entry['real_tokens'] / entry['padded_tokens']:.2f}",
                         "" if ratio is None else f"harness {ratio:.2f}×"])
    print(f"\n(1) training, real tokens per second ({report['device']['name']}, {report['size']})")
    print(tabulate(rows, headers=["task", "how", "tokens/s", "MFU", "real/padded", "vs harness"]))
    ev = report["evaluation"]
    print(f"\n(2) evaluation ({ev['task']}, batch {ev['batch_size']}), real tokens per second")
    print(tabulate([[name, f"{ev[name]['tokens_per_second']:,.0f}",
                     "" if ev[name]["mfu"] is None else f"{100 * ev[name]['mfu']:.1f} %",
                     "" if name == "harness" else f"harness {ev['ratios'][name]:.2f}×"]
                    for name in ("harness", "same_batches_no_grad", "random_batches_pad_to_max")],
                   headers=["how", "tokens/s", "MFU", "vs harness"]))
    em, mi = report["embedding"], report["mining"]
    print(f"\n(3) embedding: {em['sentences_per_second']:,.0f} Tatoeba sentences/s, {em['tokens_per_second']:,.0f} "
          f"tokens/s (layer {em['layer']}, batch {em['batch_size']})")
    memory = mi["peak_memory_bytes"]
    print(f"(4) mining: {mi['sentences'][0]:,} × {mi['sentences'][1]:,} × {mi['dimension']} in {mi['seconds']} s, "
          f"peak memory {memory / 2**20:,.0f} MiB ({mi['memory_note']}); the full score matrix would be "
          f"{mi['full_matrix_bytes'] / 2**30:,.1f} GiB")
    if "goals" in report:
        print(f"\ngoals (one H100): {json.dumps(report['goals'])}")
    print(f"\npeak: {report['device']['peak']}; settings: {json.dumps(report['settings'])}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", choices=sorted(SIZES), default="tiny",
                        help="large: XLM-R Large's shape (for a GPU); tiny: a 2-layer encoder for the CPU [tiny]")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto",
                        help="auto: the GPU when torch sees one, else the CPU [auto]")
    parser.add_argument("--json", type=Path, default=None, help="where to write the figures [speed-SIZE-DEVICE.json]")
    parser.add_argument("--peak-tflops", type=float, default=None, help="the device's dense bf16 peak, if not known")
    parser.add_argument("--compile-backend", default=None,
                        help="torch.compile backend [inductor on a GPU; aot_eager on the CPU, where inductor spends "
                             "about 10-50 s compiling even the tiny encoder, depending on its kernel cache]")
    parser.add_argument("--no-compile", action="store_true", help="skip the torch.compile measurement")
    parser.add_argument("--mining-size", type=int, default=None, help="sentences per side for the mining measurement")
    parser.add_argument("--examples", type=int, default=None,
                        help="training examples timed per task family, after the warm-up batches [the size's plan: "
                             "160/160/64 tiny, 4096/4096/2048 large]")
    parser.add_argument("--warmup", type=int, default=None, help="untimed warm-up batches per measurement [2 tiny, 5 large]")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads [torch's default]")
    parser.add_argument("--repeats", type=int, default=1,
                        help="timed runs of each measurement; the median is reported [1]")
    args = parser.parse_args()
    if args.examples is not None and args.examples < 1 or args.warmup is not None and args.warmup < 1:
        parser.error("--examples and --warmup need at least 1 (the warm-up batches also time compilation)")
    import torch

    # what the machine can do first: it holds whatever data is beside the checkout
    if args.device == "cuda" and not torch.cuda.is_available():
        sys.exit("error: --device cuda but torch sees no GPU; use --device cpu or --size tiny")
    if args.size == "large" and args.device == "auto" and not torch.cuda.is_available():
        sys.exit("error: no GPU here, and --size large would take hours on the CPU; use --size tiny "
                 "(or --device cpu to run it anyway)")
    for needed in (SHARED / "data", SHARED / "models/multilingual-e5-small"):
        if not needed.exists():
            sys.exit(f"error: {needed} not found; the benchmark reads real data and the e5 tokenizer from ../shared")
    import transformers
    from transformers import AutoTokenizer

    from harness.contract.discovery import discover

    if args.threads:
        torch.set_num_threads(args.threads)
    began = time.perf_counter()
    transformers.utils.logging.set_verbosity_error()
    registry = discover()
    tokenizer = AutoTokenizer.from_pretrained(SHARED / "models/multilingual-e5-small")
    bench = Bench(args, registry, tokenizer)
    if args.compile_backend is None:
        args.compile_backend = "inductor" if bench.device.type == "cuda" else "aot_eager"

    def log(message: str) -> None:
        print(f"[{time.perf_counter() - began:6.1f} s] {message}", flush=True)

    import tempfile

    name = torch.cuda.get_device_name(bench.device) if bench.device.type == "cuda" else f"CPU ({os.cpu_count()} cores)"
    log(f"device: {name}; encoder: {args.size} {SIZES[args.size]}; settings: {bench.speed.as_dict()}")
    examples = real_examples(registry)
    report = {"size": args.size, "encoder": {k: v for k, v in SIZES[args.size].items()},
              "device": {"type": bench.device.type, "name": name, "peak": bench.peak_note,
                         "peak_flops": bench.peak, "torch_threads": torch.get_num_threads()},
              "repeats": args.repeats,
              "settings": bench.speed.as_dict(),
              "flops": "training 6·N·T + 12·L·h·T² per sequence of T real tokens, evaluation a third; "
                       "N: weights outside the embeddings",
              "versions": {"torch": torch.__version__, "transformers": transformers.__version__,
                           "python": sys.version.split()[0]}}
    report["encoder"]["vocab_size"] = report["encoder"]["vocab_size"] or len(tokenizer)
    with tempfile.TemporaryDirectory() as tmp:
        report["training"] = training(bench, examples, Path(tmp), log)
    report["evaluation"] = evaluation(bench, examples, log)
    report["embedding"] = embedding(bench, log)
    report["mining"] = mining(bench, log)
    if bench.device.type == "cuda" and args.size == "large":
        report["goals"] = goals(report)
    report["seconds"] = round(time.perf_counter() - began, 1)
    path = args.json or Path(f"speed-{args.size}-{bench.device.type}.json")
    path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print_tables(report)
    print(f"\nwritten: {path} ({report['seconds']} s)")


if __name__ == "__main__":
    main()
