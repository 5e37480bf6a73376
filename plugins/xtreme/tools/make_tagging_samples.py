"""Write the bundled UDPOS and PAN-X smoke samples (ours, in CoNLL-U and PAN-X's format).

English training sentences are real sentences with their tags. For the other languages the
sentences are built from names, places, organisations, years and punctuation, whose tags
(PROPN, NUM, PUNCT; PER, LOC, ORG) hold in every language, so no translation is needed.
One long English test sentence is longer than the smoke preset's 128 tokens, so the windowing
of long sentences runs in every smoke run. XTREME-R's added languages get samples of the same
kind. Run from this folder:
``python tools/make_tagging_samples.py``.
"""

import random
from pathlib import Path

SAMPLES = Path(__file__).resolve().parent.parent / "xharness_xtreme" / "samples"
UDPOS_LANGS = ("af ar bg de el en es et eu fa fi fr he hi hu id it ja kk ko mr nl pt ru ta te th tl tr ur vi yo "
               "zh").split()
PANX_LANGS = ("ar he vi id jv ms tl eu ml ta te af nl en de el bn hi mr ur fa fr it pt es bg ru ja ka ko th sw "
              "yo my zh kk tr et fi hu").split()
# XTREME-R's added languages (Ruder et al., 2021); written after XTREME's, from a random generator
# of their own, so XTREME's sample files stay exactly as they were.
UDPOS_XTREME_R = "lt pl uk wo ro".split()
PANX_XTREME_R = "qu pl uk az lt pa gu ro".split()
FIRST = ["Anna", "David", "Maria", "Omar", "Lena", "Sami", "Yuki", "Ivan"]
LAST = ["Schmidt", "Garcia", "Tanaka", "Okafor", "Novak", "Rossi"]
PLACES = ["Paris", "Cairo", "Tokyo", "Lima", "Berlin", "Nairobi"]
ORGS = ["UNESCO", "Siemens", "Toyota", "FIFA"]

# English: (words, UPOS) templates over {f} first name, {p} place, {y} year
ENGLISH = [
    ("{f} lives in {p} .", "PROPN VERB ADP PROPN PUNCT"),
    ("{f} visited {p} in {y} .", "PROPN VERB PROPN ADP NUM PUNCT"),
    ("The old city of {p} is very beautiful .", "DET ADJ NOUN ADP PROPN AUX ADV ADJ PUNCT"),
    ("She quickly wrote a long letter to {f} .", "PRON ADV VERB DET ADJ NOUN ADP PROPN PUNCT"),
    ("{f} and {f} did not sleep because it was loud .", "PROPN CCONJ PROPN AUX PART VERB SCONJ PRON AUX ADJ PUNCT"),
]


def conllu(words, tags, sent_id):
    lines = [f"# sent_id = {sent_id}", f"# text = {' '.join(words)}"]
    for i, (word, tag) in enumerate(zip(words, tags), start=1):
        head, relation = (0, "root") if i == 1 else (1, "dep")
        lines.append(f"{i}\t{word}\t{word}\t{tag}\t_\t_\t{head}\t{relation}\t_\t_")
    return "\n".join(lines) + "\n\n"


def english_sentence(rng):
    text, tags = rng.choice(ENGLISH)
    words = text.replace("{p}", rng.choice(PLACES)).replace("{y}", str(rng.randint(1900, 2020))).split()
    words = [rng.choice(FIRST) if w == "{f}" else w for w in words]
    return words, tags.split()


def name_sentence(rng):
    words, tags = [], []
    for n in range(rng.randint(2, 4)):
        if n:
            words.append(",")
            tags.append("PUNCT")
        choice = rng.randrange(3)
        if choice == 0:
            words += [rng.choice(FIRST), rng.choice(LAST)]
            tags += ["PROPN", "PROPN"]
        elif choice == 1:
            words.append(rng.choice(PLACES))
            tags.append("PROPN")
        else:
            words.append(str(rng.randint(1900, 2020)))
            tags.append("NUM")
    return words + ["."], tags + ["PUNCT"]


def long_sentence(rng, count=70):
    words, tags = [], []
    for n in range(count):
        words += [rng.choice(PLACES), ","]
        tags += ["PROPN", "PUNCT"]
    return words[:-1] + ["."], tags[:-1] + ["PUNCT"]



def ner_sentence(rng, english):
    words, tags = [], []
    parts = rng.sample(["per", "loc", "org"], 2)
    for n, part in enumerate(parts):
        if n:
            words.append("visited" if english else ",")
            tags.append("O")
        if part == "per":
            words += [rng.choice(FIRST), rng.choice(LAST)]
            tags += ["B-PER", "I-PER"]
        elif part == "loc":
            words.append(rng.choice(PLACES))
            tags.append("B-LOC")
        else:
            words.append(rng.choice(ORGS))
            tags.append("B-ORG")
    return words + ["."], tags + ["O"]


def write_udpos(rng, langs) -> None:
    udpos = SAMPLES / "udpos"
    udpos.mkdir(parents=True, exist_ok=True)
    for lang in langs:
        splits = {"dev": 8, "test": 8} if lang != "en" else {"train": 64, "dev": 16, "test": 16}
        for split, size in splits.items():
            text = ""
            for n in range(size):
                words, tags = english_sentence(rng) if lang == "en" else name_sentence(rng)
                text += conllu(words, tags, f"{lang}-{split}-{n + 1}")
            if lang == "en" and split == "test":
                text += conllu(*long_sentence(rng), "en-test-long")
            (udpos / f"{lang}_xharness-ud-{split}.conllu").write_text(text, encoding="utf-8")


def write_panx(rng, langs) -> None:
    for lang in langs:
        splits = {"dev": 8, "test": 8} if lang != "en" else {"train": 64, "dev": 16, "test": 16}
        folder = SAMPLES / "panx" / lang
        folder.mkdir(parents=True, exist_ok=True)
        for split, size in splits.items():
            blocks = []
            for _ in range(size):
                words, tags = ner_sentence(rng, lang == "en")
                blocks.append("\n".join(f"{lang}:{w}\t{t}" for w, t in zip(words, tags)))
            (folder / split).write_text("\n\n".join(blocks) + "\n", encoding="utf-8")


def main() -> None:
    rng = random.Random(2020)
    write_udpos(rng, UDPOS_LANGS)
    write_panx(rng, PANX_LANGS)
    rng = random.Random(2021)  # XTREME-R's languages
    write_udpos(rng, UDPOS_XTREME_R)
    write_panx(rng, PANX_XTREME_R)


if __name__ == "__main__":
    main()
