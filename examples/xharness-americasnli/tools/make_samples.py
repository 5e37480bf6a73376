"""Write the bundled samples of xharness-americasnli (run from anywhere; it overwrites them).

Every sentence here was written for these samples; nothing is copied from AmericasNLI, MNLI or XNLI.
The English files are short NLI triples. For the ten indigenous languages the files have the
release's layout (``dev/<lang>.tsv``, ``test/<lang>.tsv``; columns id, language, premise,
hypothesis, label) but their sentences are Spanish stand-ins — AmericasNLI was translated from
Spanish XNLI — because we cannot write these languages reliably: the samples prove the pipeline
(`--preset smoke`, the tests), not anything about the languages. Real text comes from the release.
"""

from __future__ import annotations

from pathlib import Path

SAMPLES = Path(__file__).resolve().parent.parent / "xharness_americasnli" / "samples"
LANGUAGES = ("aym", "bzd", "cni", "gn", "hch", "nah", "oto", "quy", "shp", "tar")

# (premise, entailed, neutral, contradicted)
ENGLISH_TRAIN = [
    ("The farmer carried two sacks of potatoes to the market.", "The farmer went to the market.",
     "The farmer sold all of his potatoes by noon.", "The farmer stayed at home all day."),
    ("Rain fell on the village for three days.", "It rained in the village.",
     "The river near the village flooded.", "The village had a dry week."),
    ("My grandmother weaves blankets from llama wool.", "My grandmother makes blankets.",
     "My grandmother sells her blankets in the city.", "My grandmother has never woven anything."),
]
ENGLISH_DEV = [
    ("The children walked to school along the river.", "The children went to school.",
     "The school is near a bridge.", "The children took a bus to school."),
    ("She cooked maize soup for her family.", "She cooked for her family.",
     "Her family liked the soup very much.", "She did not cook anything."),
]
SPANISH = [
    ("El pastor llevó sus ovejas al cerro.", "Las ovejas fueron al cerro.",
     "El pastor volvió al atardecer.", "El pastor no tiene ovejas."),
    ("La maestra leyó un cuento a los niños.", "Los niños escucharon un cuento.",
     "El cuento era sobre un zorro.", "La maestra no leyó nada."),
    ("Mi hermano sembró maíz junto a la casa.", "Hay maíz sembrado junto a la casa.",
     "Mi hermano también sembró frijoles.", "Mi hermano nunca ha sembrado nada."),
    ("El río creció después de la tormenta.", "Hubo una tormenta.",
     "La tormenta duró toda la noche.", "El río se secó después de la tormenta."),
    ("Mi abuela teje mantas de lana.", "Mi abuela hace mantas.",
     "Mi abuela vende sus mantas en el mercado.", "Mi abuela no sabe tejer."),
    ("Los vecinos construyeron una escuela nueva.", "Hay una escuela nueva.",
     "La escuela tiene cuatro aulas.", "Nadie construyó una escuela."),
]
LABELS = ("entailment", "neutral", "contradiction")


def triples(items):
    for premise, *hypotheses in items:
        for hypothesis, label in zip(hypotheses, LABELS):
            yield premise, hypothesis, label


def write(path: Path, header: list[str], rows) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join("\t".join(map(str, row)) for row in [header, *rows]) + "\n", encoding="utf-8")


def main() -> None:
    # XNLI-MT's copy of MNLI's training set: premise, hypo, label (contradiction spelt "contradictory")
    write(SAMPLES / "XNLI-MT-1.0/multinli/multinli.train.en.tsv", ["premise", "hypo", "label"],
          [(p, h, "contradictory" if label == "contradiction" else label) for p, h, label in triples(ENGLISH_TRAIN)])
    # GLUE's MNLI dev_matched.tsv, its full header; the parse columns are left empty
    glue = ["index", "promptID", "pairID", "genre", "sentence1_binary_parse", "sentence2_binary_parse",
            "sentence1_parse", "sentence2_parse", "sentence1", "sentence2", "label1", "gold_label"]
    write(SAMPLES / "MNLI/dev_matched.tsv", glue,
          [(i, i // 3, f"{i // 3}{label[0]}", "sample", "", "", "", "", p, h, label, label)
           for i, (p, h, label) in enumerate(triples(ENGLISH_DEV))])
    # AmericasNLI's release: dev/<lang>.tsv and test/<lang>.tsv (id, language, premise, hypothesis, label)
    number = 0
    for index, lang in enumerate(LANGUAGES):
        for offset, split in enumerate(("dev", "test")):
            item = SPANISH[(2 * index + offset) % len(SPANISH)]
            rows = []
            for premise, hypothesis, label in triples([item]):
                number += 1
                rows.append((number, lang, premise, hypothesis, label))
            write(SAMPLES / split / f"{lang}.tsv", ["id", "language", "premise", "hypothesis", "label"], rows)


if __name__ == "__main__":
    main()
