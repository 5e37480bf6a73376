"""Batching efficiency and training throughput, measured against baselines in the same run.

    python benchmarks/bench.py            # needs ../shared beside the checkout
    python benchmarks/bench.py --quick    # fewer repeats

(1) Token efficiency (real tokens / tokens after padding) of the harness' length-grouped
    training batches and sorted evaluation batches, against padding every input to the maximum
    length and against random batches padded to their longest member, on real length
    distributions (PAWS-X German dev, XNLI sw/ur/my dev) tokenised with a real XLM-R
    tokenizer (multilingual-e5-small's) where it is available.
(2) Training examples per CPU-second of the harness' loop against a plain transformers Trainer
    on the same tiny model, the same examples and identical batches, at fixed and at real
    lengths; and, for orientation, Trainer with its own random batches. CPU time on one thread
    (by default) rather than wall time, because wall time on a shared 2-core machine swings by
    tens of percent between identical runs.
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import sys
import time
from pathlib import Path

from common import SHARED  # sets the offline environment first
MAX_LENGTH = 256
BATCH = 32
EXAMPLES = 384


def read_pairs() -> dict[str, list[tuple[str, str]]]:
    corpora: dict[str, list[tuple[str, str]]] = {}
    with open(SHARED / "data/pawsx/superglebergerman/dev.tsv", encoding="utf-8", newline="") as handle:
        rows = csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        corpora["PAWS-X de dev"] = [(r["sentence1"], r["sentence2"]) for r in rows]
    for lang in ("sw", "ur", "my"):
        with open(SHARED / f"data/xnli/myxnli/{lang}.genre.dev.tsv", encoding="utf-8", newline="") as handle:
            rows = csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
            corpora[f"XNLI {lang} dev"] = [(r[f"sentence1_{lang}"], r[f"sentence2_{lang}"]) for r in rows]
    return corpora


def efficiency_report(tokenizer, tokenizer_name: str) -> list[list[str]]:
    from harness.compute.batching import length_grouped_batches, random_batches, sorted_batches, token_efficiency

    rows = []
    for name, pairs in read_pairs().items():
        lengths = [len(ids) for ids in tokenizer([a for a, _ in pairs], [b for _, b in pairs], truncation=True,
                                                   max_length=MAX_LENGTH)["input_ids"]]
        fixed = sum(lengths) / (MAX_LENGTH * len(lengths))
        shuffled = statistics.mean(token_efficiency(lengths, random_batches(len(lengths), BATCH, seed=s)) for s in range(5))
        grouped = statistics.mean(token_efficiency(lengths, length_grouped_batches(lengths, BATCH, seed=s)) for s in range(5))
        evaluation = token_efficiency(lengths, sorted_batches(lengths, BATCH))
        rows.append([name, str(len(lengths)), f"{statistics.mean(lengths):.0f}", f"{fixed:.3f}", f"{shuffled:.3f}",
                     f"{grouped:.3f}", f"{evaluation:.3f}", f"{grouped / fixed:.2f}×", f"{grouped / shuffled:.2f}×"])
    print(f"\n(1) token efficiency, batch {BATCH}, max length {MAX_LENGTH}, tokenizer: {tokenizer_name}")
    return rows


class TrainerAdapter:
    """Wrap the harness' TaskModel so Trainer sees forward(**batch) -> {'loss', 'logits'}."""

    def __new__(cls, model, task, kind):
        import torch

        class Adapter(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.inner = model

            def forward(self, labels=None, **batch):
                logits = self.inner(task, batch)
                return {"loss": kind.loss(logits, labels), "logits": logits}

        return Adapter()


def build_model(model_dir, spec, kind, seed=0):
    from accelerate.utils import set_seed

    from harness.training.model import TaskModel, load_backbone

    set_seed(seed)
    tokenizer, encoder = load_backbone(str(model_dir))
    model = TaskModel(encoder)
    model.add_head(spec.name, kind, spec)
    return tokenizer, model


def time_harness(model_dir, spec, kind, features, pad_id, lr) -> float:
    from accelerate import Accelerator

    from harness.common.progress import Reporter
    from harness.training.loop import TrainSettings, train_and_select

    accelerator = Accelerator(cpu=True)
    _, model = build_model(model_dir, spec, kind)
    prepared = accelerator.prepare_model(model)
    settings = TrainSettings(epochs=1, lr=lr, batch_size=BATCH, per_device_batch_size=BATCH, max_length=MAX_LENGTH)
    began = time.process_time()
    train_and_select(accelerator, prepared, spec, kind, features, features[:1], settings=settings,
                     seed=0, pad_id=pad_id, reporter=Reporter(False))
    return len(features) / (time.process_time() - began)


def time_trainer(model_dir, spec, kind, features, pad_id, lr, batches, tmp) -> float:
    import torch
    from transformers import Trainer, TrainerCallback, TrainingArguments

    _, model = build_model(model_dir, spec, kind)
    adapter = TrainerAdapter(model, spec.name, kind)
    if batches is None:  # Trainer's own random batches, padded to their longest member
        class Data(torch.utils.data.Dataset):
            def __len__(self):
                return len(features)

            def __getitem__(self, i):
                return features[i]

        dataset, collate = Data(), (lambda rows: kind.collate(rows, pad_id))
        loader = None
    else:  # the harness' batches, collated on the fly as the harness does
        loader = torch.utils.data.DataLoader(features, batch_sampler=batches,
                                             collate_fn=lambda rows: kind.collate(rows, pad_id))
        dataset, collate = None, None

    class FixedBatchTrainer(Trainer):
        def get_train_dataloader(self):
            return loader if loader is not None else super().get_train_dataloader()

    args = TrainingArguments(output_dir=str(tmp), per_device_train_batch_size=BATCH, learning_rate=lr,
                             weight_decay=0.01, warmup_steps=0.1, lr_scheduler_type="linear", num_train_epochs=1,
                             max_grad_norm=1.0, report_to=[], save_strategy="no", logging_strategy="no",
                             disable_tqdm=True, use_cpu=True, dataloader_num_workers=0, remove_unused_columns=False)
    class Clock(TrainerCallback):
        """CPU time of Trainer's training loop only (its set-up is not counted against it)."""

        def on_train_begin(self, *args, **kwargs):
            self.began = time.process_time()

        def on_train_end(self, *args, **kwargs):
            self.seconds = time.process_time() - self.began

    clock = Clock()
    trainer = FixedBatchTrainer(model=adapter, args=args, train_dataset=dataset if loader is None else [0],
                                data_collator=collate, callbacks=[clock])
    trainer.train()
    return len(features) / clock.seconds


def throughput_report(model_dir, spec, kind, tokenizer, repeats: int) -> list[list[str]]:
    import tempfile

    import torch

    from harness.training.loop import epoch_batches

    pairs = read_pairs()["PAWS-X de dev"][:EXAMPLES]
    examples = [{"text": a, "text_pair": b, "label": i % 2} for i, (a, b) in enumerate(pairs)]
    real = kind.featurize(examples, tokenizer, MAX_LENGTH, spec)
    # fixed length: every input cut or filled to 128 tokens, all of them attended to (no padding)
    fixed = [dict(f, input_ids=(f["input_ids"] * 4)[:128], length=128) for f in real]
    rows = []
    lr = 1e-4
    for label, features in (("fixed length 128", fixed), ("real lengths", real)):
        batches = epoch_batches([f["length"] for f in features], BATCH, seed=0, epoch=0)
        harness_runs, trainer_runs, trainer_own = [], [], []
        with tempfile.TemporaryDirectory() as tmp:
            pad = tokenizer.pad_token_id
            time_harness(model_dir, spec, kind, features, pad, lr)  # warm-up
            time_trainer(model_dir, spec, kind, features, pad, lr, batches, tmp)
            for repeat in range(repeats):
                # alternate who goes first, so drift on a shared machine favours neither
                contenders = [lambda: harness_runs.append(time_harness(model_dir, spec, kind, features, pad, lr)),
                              lambda: trainer_runs.append(time_trainer(model_dir, spec, kind, features, pad, lr,
                                                                       batches, tmp))]
                if label == "real lengths":
                    contenders.append(lambda: trainer_own.append(
                        time_trainer(model_dir, spec, kind, features, pad, lr, None, tmp)))
                for run in (contenders if repeat % 2 == 0 else contenders[::-1]):
                    run()
        h, t = statistics.median(harness_runs), statistics.median(trainer_runs)
        pairwise = statistics.median(a / b for a, b in zip(harness_runs, trainer_runs))
        rows.append([label, "identical batches", f"{h:.0f}", f"{t:.0f}", f"{h / t:.2f}× (pairwise {pairwise:.2f}×)"])
        if trainer_own:
            o = statistics.median(trainer_own)
            rows.append([label, "Trainer's own random batches", f"{h:.0f}", f"{o:.0f}", f"{h / o:.2f}×"])
    lengths = [f["length"] for f in real]
    print(f"\n(2) training throughput in examples per CPU-second, {torch.get_num_threads()} thread(s), tiny model, "
          f"{EXAMPLES} PAWS-X de pairs (real lengths: {min(lengths)}-{max(lengths)} tiny-tokenizer tokens, "
          f"mean {statistics.mean(lengths):.0f}), batch {BATCH}, median of {repeats}")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one repeat instead of --repeats")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per contender (median reported)")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads; one thread and CPU time keep a shared machine's noise out")
    args = parser.parse_args()
    if not SHARED.exists():
        sys.exit(f"error: {SHARED} not found; the benchmark reads real data from ../shared/data")
    import torch
    import transformers
    from tabulate import tabulate

    from harness.kinds import get_kind
    from harness.contract.discovery import discover

    transformers.utils.logging.set_verbosity_error()
    torch.set_num_threads(args.threads)
    registry = discover()
    e5 = SHARED / "models/multilingual-e5-small"
    tiny_dir = Path(os.environ.get("XHARNESS_CACHE", Path.home() / ".cache" / "xharness")) / "bench-tiny"
    if not (tiny_dir / "config.json").exists():
        registry.model("tiny").spec.build(tiny_dir)
    from transformers import AutoTokenizer

    real_tokenizer = AutoTokenizer.from_pretrained(e5 if e5.exists() else tiny_dir)
    rows = efficiency_report(real_tokenizer, "XLM-R (multilingual-e5-small)" if e5.exists() else "tiny")
    print(tabulate(rows, headers=["data", "pairs", "mean tokens", "pad to max", "random batches",
                                  "harness (train)", "harness (eval)", "vs pad to max", "vs random"]))

    spec = registry.task("target", "pawsx").spec
    kind = get_kind("classification")
    tiny_tokenizer = AutoTokenizer.from_pretrained(tiny_dir)
    rows = throughput_report(tiny_dir, spec, kind, tiny_tokenizer, 1 if args.quick else args.repeats)
    print(tabulate(rows, headers=["lengths", "Trainer fed", "harness ex/s", "Trainer ex/s", "harness / Trainer"]))
    print(f"\nmachine: {os.cpu_count()} CPU cores, {args.threads} torch thread(s), torch {torch.__version__}, transformers {transformers.__version__}")


if __name__ == "__main__":
    main()
