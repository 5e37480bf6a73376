"""Write the bundled XNLI smoke samples (ours, in the XNLI 1.0 / XNLI-MT 1.0 file formats).

Each premise says where someone lives; the hypotheses are entailed (lives in a city),
contradicted (does not live there) or neutral (works there). English training pairs go to
``XNLI-MT-1.0/multinli/multinli.train.en.tsv``; dev and test pairs in all 15 languages go to
``XNLI-1.0/xnli.{dev,test}.tsv``. Run from this folder: ``python tools/make_xnli_samples.py``.
"""

import random
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "xharness_xtreme" / "samples" / "xnli"

# premise, entailment, contradiction, neutral
TEMPLATES = {
    "ar": ("يعيش {a} في {c}.", "يعيش {a} في مدينة.", "لا يعيش {a} في {c}.", "يعمل {a} في {c}."),
    "bg": ("{a} живее в {c}.", "{a} живее в град.", "{a} не живее в {c}.", "{a} работи в {c}."),
    "de": ("{a} wohnt in {c}.", "{a} wohnt in einer Stadt.", "{a} wohnt nicht in {c}.", "{a} arbeitet in {c}."),
    "el": ("{a} μένει στην πόλη {c}.", "{a} μένει σε μια πόλη.", "{a} δεν μένει στην πόλη {c}.",
           "{a} δουλεύει στην πόλη {c}."),
    "en": ("{a} lives in {c}.", "{a} lives in a city.", "{a} does not live in {c}.", "{a} works in {c}."),
    "es": ("{a} vive en {c}.", "{a} vive en una ciudad.", "{a} no vive en {c}.", "{a} trabaja en {c}."),
    "fr": ("{a} habite à {c}.", "{a} habite dans une ville.", "{a} n'habite pas à {c}.", "{a} travaille à {c}."),
    "hi": ("{a} {c} में रहता है।", "{a} एक शहर में रहता है।", "{a} {c} में नहीं रहता है।", "{a} {c} में काम करता है।"),
    "ru": ("{a} живёт в {c}.", "{a} живёт в городе.", "{a} не живёт в {c}.", "{a} работает в {c}."),
    "sw": ("{a} anaishi {c}.", "{a} anaishi mjini.", "{a} haishi {c}.", "{a} anafanya kazi {c}."),
    "th": ("{a} อาศัยอยู่ที่{c}", "{a} อาศัยอยู่ในเมือง", "{a} ไม่ได้อาศัยอยู่ที่{c}", "{a} ทำงานที่{c}"),
    "tr": ("{a} {c} şehrinde yaşıyor.", "{a} bir şehirde yaşıyor.", "{a} {c} şehrinde yaşamıyor.",
           "{a} {c} şehrinde çalışıyor."),
    "ur": ("{a} {c} میں رہتا ہے۔", "{a} ایک شہر میں رہتا ہے۔", "{a} {c} میں نہیں رہتا۔", "{a} {c} میں کام کرتا ہے۔"),
    "vi": ("{a} sống ở {c}.", "{a} sống ở một thành phố.", "{a} không sống ở {c}.", "{a} làm việc ở {c}."),
    "zh": ("{a}住在{c}。", "{a}住在一座城市。", "{a}不住在{c}。", "{a}在{c}工作。"),
}
NAMES = ["Anna", "David", "Maria", "Omar", "Lena", "Sami", "Yuki", "Ivan"]
CITIES = ["Paris", "Cairo", "Tokyo", "Lima", "Berlin", "Nairobi", "Hanoi", "Delhi"]
LABELS = ("entailment", "contradiction", "neutral")
HEADER = ["language", "gold_label", "sentence1_binary_parse", "sentence2_binary_parse", "sentence1_parse",
          "sentence2_parse", "sentence1", "sentence2", "promptID", "pairID", "genre", "label1", "label2",
          "label3", "label4", "label5", "sentence1_tokenized", "sentence2_tokenized", "match"]


def triples(lang: str, rng: random.Random, count: int):
    premise, *hypotheses = TEMPLATES[lang]
    for n in range(count):
        slots = {"a": rng.choice(NAMES), "c": rng.choice(CITIES)}
        label = n % 3
        yield premise.format(**slots), hypotheses[label].format(**slots), LABELS[label]


def main() -> None:
    rng = random.Random(2020)
    train = OUT / "XNLI-MT-1.0" / "multinli" / "multinli.train.en.tsv"
    train.parent.mkdir(parents=True, exist_ok=True)
    rows = ["premise\thypo\tlabel"]
    for premise, hypothesis, label in triples("en", rng, 96):
        rows.append(f"{premise}\t{hypothesis}\t{'contradictory' if label == 'contradiction' else label}")
    train.write_text("\n".join(rows) + "\n", encoding="utf-8")
    pair_id = 1
    for split in ("dev", "test"):
        rows = ["\t".join(HEADER)]
        for lang in sorted(TEMPLATES):
            for premise, hypothesis, label in triples(lang, rng, 24):
                fields = [lang, label, "", "", "", "", premise, hypothesis, str(pair_id), str(pair_id), "sample",
                          label, label, label, label, label, premise, hypothesis, "True"]
                rows.append("\t".join(fields))
                pair_id += 1
        path = OUT / "XNLI-1.0" / f"xnli.{split}.tsv"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(rows) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
