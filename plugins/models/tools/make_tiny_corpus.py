"""Collect the text of the bundled task samples into ``tiny_corpus.txt`` (the tiny tokenizer's corpus).

A development tool: the models plugin does not depend on the task plugins at run time. Run from
the repository root after changing any bundled sample: ``python plugins/models/tools/make_tiny_corpus.py``
(and bump ``TINY_VERSION`` so cached tiny models are rebuilt).
"""

import csv
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "models" / "xharness_models" / "tiny_corpus.txt"


def texts():
    for path in sorted((ROOT / "xtreme" / "xharness_xtreme" / "samples").rglob("*.tsv")):
        with open(path, encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE):
                for column in ("sentence1", "sentence2", "premise", "hypo"):
                    if row.get(column):
                        yield row[column]
    for path in sorted((ROOT / "xtreme" / "xharness_xtreme" / "samples" / "bucc2018").rglob("*-en.*")):
        if path.suffix != ".gold":
            yield from (line.split("\t", 1)[1] for line in path.read_text(encoding="utf-8").splitlines())
    for path in sorted((ROOT / "xtreme" / "xharness_xtreme" / "samples" / "tatoeba").rglob("tatoeba.*")):
        yield from path.read_text(encoding="utf-8").splitlines()
    for path in sorted((ROOT / "xtreme" / "xharness_xtreme" / "samples" / "udpos").glob("*.conllu")):
        yield from (line[len("# text = "):] for line in path.read_text(encoding="utf-8").splitlines()
                    if line.startswith("# text = "))
    qa_folders = [ROOT / "xtreme" / "xharness_xtreme" / "samples" / f for f in ("squad", "xquad", "mlqa", "tydiqa")]
    qa_folders += [ROOT / "stilts" / "xharness_stilts" / "samples" / f for f in ("squad", "squad_v2")]
    for folder in qa_folders:
        for path in sorted(folder.rglob("*.json")):
            for article in json.loads(path.read_text(encoding="utf-8"))["data"]:
                for paragraph in article["paragraphs"]:
                    yield paragraph["context"]
                    yield from (qa["question"] for qa in paragraph["qas"])
    for path in sorted((ROOT / "stilts" / "xharness_stilts" / "samples" / "hellaswag").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            yield row["ctx"]
            yield from row["endings"]
    stilts = ROOT / "stilts" / "xharness_stilts" / "samples"
    for path in sorted(stilts.rglob("*.tsv")):
        with open(path, encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE):
                yield from (row[c] for c in ("sentence1", "sentence2", "question1", "question2", "premise", "hypo")
                            if row.get(c))
    for path in sorted(stilts.rglob("*.csv")):
        with open(path, encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                yield from (row[c] for c in ("context", "question", "answer0", "answer1", "answer2", "answer3"))
    for path in sorted((stilts / "commonsenseqa").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            question = json.loads(line)["question"]
            yield question["stem"]
            yield from (c["text"] for c in question["choices"])


def main() -> None:
    unique = list(dict.fromkeys(texts()))
    OUT.write_text("\n".join(unique) + "\n", encoding="utf-8")
    print(f"{len(unique)} lines -> {OUT}")


if __name__ == "__main__":
    main()
