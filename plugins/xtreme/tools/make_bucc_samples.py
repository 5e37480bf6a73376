"""Write the bundled BUCC 2018 smoke samples (ours, in the shared task's file format).

For each of de, fr, ru, zh: ``<xx>-en/<xx>-en.{sample,test}.{<xx>,en,gold}``. Sentence files
hold ``<id>\\t<sentence>`` lines; gold files hold ``<xx id>\\t<en id>`` for the parallel pairs.
Each side also holds sentences without a translation, as BUCC's corpora do.
Run from this folder: ``python tools/make_bucc_samples.py``.
"""

import random
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "xharness_xtreme" / "samples" / "bucc2018"
TEMPLATES = {
    "en": ["{a} lives in {c}.", "{a} works in {c}.", "{a} travelled to {c} last year."],
    "de": ["{a} wohnt in {c}.", "{a} arbeitet in {c}.", "{a} ist letztes Jahr nach {c} gereist."],
    "fr": ["{a} habite à {c}.", "{a} travaille à {c}.", "{a} a voyagé à {c} l'année dernière."],
    "ru": ["{a} живёт в {c}.", "{a} работает в {c}.", "В прошлом году {a} ездил в {c}."],
    "zh": ["{a}住在{c}。", "{a}在{c}工作。", "{a}去年去了{c}。"],
}
NAMES = ["Anna", "David", "Maria", "Omar", "Lena", "Sami", "Yuki", "Ivan"]
CITIES = ["Paris", "Cairo", "Tokyo", "Lima", "Berlin", "Nairobi", "Hanoi", "Delhi"]


def main() -> None:
    rng = random.Random(2018)
    for lang in ("de", "fr", "ru", "zh"):
        folder = OUT / f"{lang}-en"
        folder.mkdir(parents=True, exist_ok=True)
        for split in ("sample", "test"):
            slots = rng.sample([(a, c, t) for a in NAMES for c in CITIES for t in range(3)], 18)
            parallel, only_xx, only_en = slots[:12], slots[12:15], slots[15:]
            xx_rows, en_rows, gold = [], [], []
            for a, c, t in parallel + only_xx:
                xx_rows.append((TEMPLATES[lang][t].format(a=a, c=c), (a, c, t) in parallel, (a, c, t)))
            for a, c, t in parallel + only_en:
                en_rows.append((TEMPLATES["en"][t].format(a=a, c=c), (a, c, t)))
            rng.shuffle(xx_rows)
            rng.shuffle(en_rows)
            en_ids = {}
            with open(folder / f"{lang}-en.{split}.en", "w", encoding="utf-8") as handle:
                for n, (text, key) in enumerate(en_rows, start=1):
                    en_ids[key] = f"en-{split[0]}{n:05d}"
                    handle.write(f"{en_ids[key]}\t{text}\n")
            with open(folder / f"{lang}-en.{split}.{lang}", "w", encoding="utf-8") as handle:
                for n, (text, is_parallel, key) in enumerate(xx_rows, start=1):
                    ident = f"{lang}-{split[0]}{n:05d}"
                    handle.write(f"{ident}\t{text}\n")
                    if is_parallel:
                        gold.append(f"{ident}\t{en_ids[key]}")
            (folder / f"{lang}-en.{split}.gold").write_text("\n".join(sorted(gold)) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
