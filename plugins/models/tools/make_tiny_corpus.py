"""Train the tiny backbone's tokenizer on the text of the bundled task samples: ``tiny_tokenizer.json``.

A development tool: the models plugin does not depend on the task plugins at run time. The
tokenizer is trained here, once, and shipped, because the Unigram trainer gives a different
vocabulary on every run: building it at run time made every build of ``tiny`` differ. Run from
the repository root after changing any bundled sample: ``python plugins/models/tools/make_tiny_corpus.py``
(and bump ``TINY_VERSION`` so cached tiny models are rebuilt).
"""

import csv
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "models" / "xharness_models" / "tiny_tokenizer.json"


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


def train(lines: list[str], vocab_size: int = 2000):
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

    tok = Tokenizer(models.Unigram())
    tok.normalizer = normalizers.NFKC()
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    special = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]  # XLM-R's ids 0..3, mask last
    trainer = trainers.UnigramTrainer(vocab_size=vocab_size, special_tokens=special, unk_token="<unk>",
                                      show_progress=False)
    tok.train_from_iterator(lines, trainer)
    bos, eos = tok.token_to_id("<s>"), tok.token_to_id("</s>")
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>", special_tokens=[("<s>", bos), ("</s>", eos)]
    )
    return tok


def main() -> None:
    unique = list(dict.fromkeys(texts()))
    train(unique).save(str(OUT))
    print(f"tokenizer trained on {len(unique)} lines -> {OUT}")


if __name__ == "__main__":
    main()
