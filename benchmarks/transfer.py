"""Real zero-shot transfer on a CPU: multilingual-e5-small fine-tuned on English UD POS tags, tested
on German, French and Chinese, beside the majority-class baseline.

    python benchmarks/transfer.py                      # the documented figures (docs/transfer.md); needs ../shared
    python benchmarks/transfer.py --sentences 64 --test-sentences 100 --batch-size 8 --lr 2e-4  # the test's cut

The cell is ``xharness run --inter none --target udpos --model ../shared/models/multilingual-e5-small
--data-dir ../shared/transfer/udpos --languages de,fr,zh`` (plus the settings printed), run through
``harness.api.run``: it is the product's own path, keys, store and records. Then, per test language:

* the run's score (XTREME's metric for UD POS: seqeval F1 over the tag sequence) and the token
  accuracy of its prediction file against the gold tags;
* the same two figures for the majority-class baseline: the most frequent tag of the English
  training data, predicted for every token.

Transfer is real when the model beats the baseline in languages it was never fine-tuned on.
``--sentences``/``--test-sentences`` cut every file to its first sentences (into a temporary
folder) for a quicker, smaller measurement; the default reads the files whole.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from common import SHARED  # sets the offline environment first

LANGUAGES = ("de", "fr", "zh")
#: The documented settings: the task's defaults except a learning rate and epoch count that learn
#: within minutes on a CPU (XTREME's XLM-R runs use 2e-5 for 10 epochs on a GPU).
SETTINGS = {"lr": 1e-4, "target_epochs": 2.0}


def cut_conllu(source: Path, target: Path, sentences: int | None) -> None:
    """Copy a CoNLL-U file, keeping its first ``sentences`` sentences (all with None)."""
    text = source.read_text(encoding="utf-8")
    if sentences is not None:
        blocks = [b for b in text.split("\n\n") if b.strip()]
        text = "\n\n".join(blocks[:sentences]) + "\n\n"
    target.write_text(text, encoding="utf-8")


def prepare_data(folder: Path, sentences: int | None, test_sentences: int | None) -> Path:
    """The UD files of ../shared/transfer/udpos, cut when asked (the train file to ``sentences``,
    dev and test files to ``test_sentences``)."""
    source = SHARED / "transfer" / "udpos"
    if sentences is None and test_sentences is None:
        return source
    folder.mkdir(parents=True, exist_ok=True)
    for path in sorted(source.glob("*.conllu")):
        cut_conllu(path, folder / path.name, sentences if "-train." in path.name else test_sentences)
    return folder


def task_data(data_dir: Path, languages: tuple[str, ...]):
    """The udpos task's data as the run reads it: English train, and each language's test."""
    from harness.api import plan_task_data
    from harness.contract.discovery import discover

    registry = discover()
    task = registry.task("target", "udpos")
    needs = [("train", "en")] + [("test", lang) for lang in languages]
    return plan_task_data(task, needs, source="local", data_dir=data_dir, kinds=registry.kind_set)


def baseline_and_model(folder: Path, data_dir: Path, languages: tuple[str, ...]) -> dict[str, dict[str, float]]:
    """Per language: the run's F1 (from results.json) and token accuracy (from its prediction
    file), and the majority-class baseline's F1 and token accuracy."""
    from harness.compute.metrics import seqeval_prf

    record = json.loads((folder / "results.json").read_text(encoding="utf-8"))
    data = task_data(data_dir, languages)
    counts = Counter(tag for example in data.load("train", "en") for tag in example["tags"])
    majority = counts.most_common(1)[0][0]
    figures = {}
    for lang in languages:
        gold = [example["tags"] for example in data.load("test", lang)]
        lines = (folder / "predictions" / "udpos" / f"test-{lang}.tsv").read_text(encoding="utf-8").split("\n\n")
        predicted = [[line for line in block.splitlines() if line.strip()] for block in lines if block.strip()]
        if [len(p) for p in predicted] != [len(g) for g in gold]:
            raise SystemExit(f"error: the {lang} prediction file does not line up with the gold sentences")
        tokens = sum(len(g) for g in gold)
        right = sum(p == g for ps, gs in zip(predicted, gold) for p, g in zip(ps, gs))
        flat = [[majority] * len(g) for g in gold]
        figures[lang] = {
            "sentences": len(gold), "tokens": tokens,
            "f1": record["scores"]["per_language"][lang], "accuracy": 100.0 * right / tokens,
            "majority_f1": seqeval_prf(gold, flat)["f1"],
            "majority_accuracy": 100.0 * sum(g == majority for gs in gold for g in gs) / tokens,
        }
    figures["_"] = {"majority_tag": majority}
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, default=None, help="English training sentences [all 2001]")
    parser.add_argument("--test-sentences", type=int, default=None, help="dev/test sentences per file [all]")
    parser.add_argument("--epochs", type=float, default=SETTINGS["target_epochs"])
    parser.add_argument("--lr", type=float, default=SETTINGS["lr"])
    parser.add_argument("--batch-size", type=int, default=None, help="effective batch size [the task's: 32]")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--label-piece", choices=["first", "first_nonempty"], default="first",
                        help="which sub-word carries a word's label (docs/udpos.md): first, as XTREME [first]")
    parser.add_argument("--output", type=Path, default=Path("xharness-runs"), help="the store [xharness-runs]")
    parser.add_argument("--curves", type=Path, default=None, help="also draw the run's learning curves (.png)")
    parser.add_argument("--json", type=Path, default=None, help="write the figures as JSON")
    parser.add_argument("--transfer", default="zero-shot",
                        help="zero-shot, or few-shot with --shots: each language's model continues on K of its dev "
                             "sentences (docs/transfer-settings.md) [zero-shot]")
    parser.add_argument("--shots", type=int, default=None, help="--transfer few-shot: sentences per language")
    parser.add_argument("--shot-seed", type=int, default=None, help="--transfer few-shot: which are drawn [1]")
    parser.add_argument("--languages", default=",".join(LANGUAGES),
                        help=f"target languages, comma-separated, of {', '.join(LANGUAGES)} [all three]")
    args = parser.parse_args()
    languages = tuple(lang.strip() for lang in args.languages.split(",") if lang.strip())
    unknown = [lang for lang in languages if lang not in LANGUAGES]
    if unknown or not languages:
        sys.exit(f"error: --languages: the transfer data has {', '.join(LANGUAGES)}, not {', '.join(unknown) or 'none'}")
    model = SHARED / "models" / "multilingual-e5-small"
    if not model.is_dir() or not (SHARED / "transfer" / "udpos").is_dir():
        sys.exit(f"error: {SHARED} must hold models/multilingual-e5-small and transfer/udpos")
    from harness import api

    with tempfile.TemporaryDirectory() as tmp:
        data_dir = prepare_data(Path(tmp) / "udpos", args.sentences, args.test_sentences)
        began = time.perf_counter()
        result = api.run("none", "udpos", model=str(model), seed=args.seed, output=args.output, data_dir=data_dir,
                         languages=",".join(languages), lr=args.lr, target_epochs=args.epochs,
                         batch_size=args.batch_size, per_device_batch_size=args.batch_size,
                         experiment="udpos-transfer", transfer=args.transfer, shots=args.shots,
                         shot_seed=args.shot_seed,
                         setting=[] if args.label_piece == "first" else [f"label_piece={args.label_piece}"])
        seconds = time.perf_counter() - began
        figures = baseline_and_model(result.folder, data_dir, languages)
    majority = figures.pop("_")["majority_tag"]
    history = result.record["phases"]["target"]["history"]
    print(f"multilingual-e5-small, fine-tuned on English UD POS ({args.sentences or 'all'} sentences, "
          f"{args.epochs:g} epochs, lr {args.lr:g}, label on the {args.label_piece} piece), "
          f"{'zero-shot' if args.transfer == 'zero-shot' else f'{args.transfer} with {args.shots} sentences per language'}"
          f"; majority class: {majority}")
    print(f"English dev F1 by epoch: " + ", ".join(f"{e['dev_score']:.2f}" for e in history["epochs"]))
    print(f"{'language':<9}{'sentences':>10}{'tokens':>8}{'F1':>8}{'majority F1':>13}{'accuracy':>10}"
          f"{'majority acc.':>15}")
    for lang, f in figures.items():
        print(f"{lang:<9}{f['sentences']:>10}{f['tokens']:>8}{f['f1']:>8.2f}{f['majority_f1']:>13.2f}"
              f"{f['accuracy']:>10.2f}{f['majority_accuracy']:>15.2f}")
    print(f"run: {result.folder} ({seconds:.0f} s, of which training {history['train_seconds']:.0f} s)")
    if args.curves is not None:
        from harness.analysis import report

        runs, _ = report.collect([result.folder])
        (table,) = report.build(runs, resamples=0, by_experiment=False).tables
        report.plot_curves(table, args.curves)
        print(f"figure: {args.curves}")
    if args.json is not None:
        args.json.write_text(json.dumps({"settings": {"sentences": args.sentences, "test_sentences":
                                                      args.test_sentences, "epochs": args.epochs, "lr": args.lr,
                                                      "seed": args.seed, "label_piece": args.label_piece},
                                         "majority_tag": majority, "languages": figures,
                                         "dev_by_epoch": [e["dev_score"] for e in history["epochs"]],
                                         "seconds": seconds, "run": str(result.folder)}, indent=2) + "\n")


if __name__ == "__main__":
    main()
