"""Every layer in one forward pass against one pass per layer, on real Tatoeba sentences.

    python benchmarks/alignment.py                 # needs ../shared beside the checkout
    python benchmarks/alignment.py --quick         # one repeat instead of --repeats
    python benchmarks/alignment.py --lines 1000 --languages de,fr,sw --threads 2

Times, for the first ``--lines`` pairs of each language (both sides embedded, each side in its
own call, as a Tatoeba run does):

(a) ``harness.analysis.alignment.embed_all_layers``: every hidden state, one forward pass per batch;
(b) ``harness.kinds.retrieval.embed`` once per hidden state (num_hidden_layers + 1 passes);
(c) ``harness.kinds.retrieval.embed`` for one layer (the default layer): what a run costs.

and prints the three times and the ratios (a)/(c) and (b)/(a). CPU time of this process and wall
time are both reported, the median over ``--repeats`` runs after one untimed warm-up; by default
on one thread, because wall time on a shared 2-core machine swings by tens of percent between
identical runs. It also checks that (a) equals (b) layer by layer (bit for bit).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from common import SHARED  # sets the offline environment first
CODES = {"de": "deu", "fr": "fra", "sw": "swh", "ru": "rus", "zh": "cmn", "ar": "ara", "hi": "hin", "es": "spa"}


def read_pairs(data: Path, languages: list[str], lines: int) -> dict[str, tuple[list[str], list[str]]]:
    pairs = {}
    for lang in languages:
        code = CODES.get(lang, lang)
        sides = []
        for suffix in (code, "eng"):
            with open(data / "v1" / f"tatoeba.{code}-eng.{suffix}", encoding="utf-8") as handle:
                sides.append([line.rstrip("\r\n") for line in handle][:lines])
        pairs[lang] = (sides[0], sides[1])
    return pairs


def timed(function) -> tuple[float, float, object]:
    """(CPU seconds of this process, wall seconds, result) of one call."""
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()
    cpu, wall = time.process_time(), time.perf_counter()
    result = function()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return time.process_time() - cpu, time.perf_counter() - wall, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(SHARED / "models" / "multilingual-e5-small"))
    parser.add_argument("--data", default=str(SHARED / "data" / "tatoeba"), help="folder holding LASER's v1/")
    parser.add_argument("--languages", default="de,fr")
    parser.add_argument("--lines", type=int, default=200, help="first N pairs of each language")
    parser.add_argument("--batch-size", type=int, default=64, help="as a Tatoeba run: 2 × per-device batch 32")
    parser.add_argument("--max-length", type=int, default=512, help="Tatoeba's default")
    parser.add_argument("--pooling", default="mean", choices=("mean", "cls"))
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per contender (median reported)")
    parser.add_argument("--quick", action="store_true", help="one repeat instead of --repeats")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--gpu", action="store_true", help="use a GPU when there is one (as a run would)")
    args = parser.parse_args()
    repeats = 1 if args.quick else args.repeats

    import torch
    from accelerate import Accelerator

    from harness.analysis.alignment import embed_all_layers
    from harness.kinds.retrieval import default_layer, embed
    from harness.training.model import load_backbone
    from harness.common.progress import Reporter

    torch.set_num_threads(args.threads)
    pairs = read_pairs(Path(args.data), [lang.strip() for lang in args.languages.split(",") if lang.strip()],
                       args.lines)
    gpu = args.gpu and torch.cuda.is_available()
    accelerator = Accelerator(cpu=not gpu)
    tokenizer, encoder = load_backbone(args.model)
    encoder = accelerator.prepare_model(encoder, evaluation_mode=True)
    num_layers = encoder.config.num_hidden_layers
    layer = default_layer(num_layers)
    texts = [side for source, target in pairs.values() for side in (source, target)]
    options = {"pooling": args.pooling, "batch_size": args.batch_size, "max_length": args.max_length,
               "reporter": Reporter(False), "description": "bench"}

    def all_layers():
        return [embed_all_layers(accelerator, encoder, tokenizer, side, **options) for side in texts]

    def per_layer():
        return [[embed(accelerator, encoder, tokenizer, side, layer=n, **options) for n in range(num_layers + 1)]
                for side in texts]

    def one_layer():
        return [embed(accelerator, encoder, tokenizer, side, layer=layer, **options) for side in texts]

    one_layer()  # warm-up: the first pass pays for lazy initialisation
    contenders = {"(a) embed_all_layers, 1 pass": all_layers,
                  f"(b) retrieval.embed per layer, {num_layers + 1} passes": per_layer,
                  f"(c) retrieval.embed, layer {layer} only": one_layer}
    cpu: dict[str, float] = {}
    wall: dict[str, float] = {}
    results: dict[str, object] = {}
    for name, function in contenders.items():
        runs = [timed(function) for _ in range(repeats)]
        cpu[name] = statistics.median(r[0] for r in runs)
        wall[name] = statistics.median(r[1] for r in runs)
        results[name] = runs[-1][2]
    a, b, c = contenders
    equal = all(torch.equal(every[n], separate[n])
                for every, separate in zip(results[a], results[b]) for n in range(num_layers + 1))

    sentences = sum(len(side) for side in texts)
    print(f"model {Path(args.model).name} ({num_layers} layers), languages {args.languages}, {args.lines} pairs each "
          f"({sentences} sentences), batch {args.batch_size}, max length {args.max_length}, pooling {args.pooling}, "
          f"device {accelerator.device}, {args.threads} thread(s), median of {repeats}")
    width = max(len(name) for name in contenders)
    print(f"{'':{width}}  {'CPU s':>8}  {'wall s':>8}")
    for name in contenders:
        print(f"{name:{width}}  {cpu[name]:8.2f}  {wall[name]:8.2f}")
    print(f"(a)/(c): CPU {cpu[a] / cpu[c]:.2f}×, wall {wall[a] / wall[c]:.2f}×   "
          f"(b)/(a): CPU {cpu[b] / cpu[a]:.1f}×, wall {wall[b] / wall[a]:.1f}×")
    print(f"(a) equals (b) at every layer, bit for bit: {equal}")
    if not equal:
        sys.exit(1)


if __name__ == "__main__":
    main()
