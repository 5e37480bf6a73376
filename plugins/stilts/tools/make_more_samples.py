"""Write the bundled smoke samples of MNLI, QQP, SQuAD 1.1/2.0, ANLI+, Cosmos QA and CommonsenseQA.

Ours, in each dataset's original file format (GLUE tsv, SQuAD JSON, ANLI and SNLI jsonl,
Cosmos QA csv, CommonsenseQA jsonl). Run from this folder: ``python tools/make_more_samples.py``.
"""

import csv
import io
import json
import random
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "xharness_stilts" / "samples"
NAMES = ["Anna", "David", "Maria", "Omar", "Lena", "Sami", "Yuki", "Ivan"]
CITIES = ["Paris", "Cairo", "Tokyo", "Lima", "Berlin", "Nairobi", "Hanoi", "Delhi"]
JOBS = ["teacher", "doctor", "baker", "pilot", "nurse", "farmer"]
SIZES = {"train": 64, "dev": 16}


def mnli(rng, count):
    header = ["index", "promptID", "pairID", "genre", "sentence1_binary_parse", "sentence2_binary_parse",
              "sentence1_parse", "sentence2_parse", "sentence1", "sentence2", "label1", "gold_label"]
    rows = ["\t".join(header)]
    hypotheses = {"entailment": "{a} lives in a city.", "contradiction": "{a} has never lived in {c}.",
                  "neutral": "{a} works as a {j} in {c}."}
    for n in range(count):
        a, c, j = rng.choice(NAMES), rng.choice(CITIES), rng.choice(JOBS)
        label = ("entailment", "contradiction", "neutral")[n % 3]
        premise, hypothesis = f"{a} lives in {c}.", hypotheses[label].format(a=a, c=c, j=j)
        rows.append("\t".join([str(n), str(n), f"{n}{label[0]}", "sample", "", "", "", "", premise, hypothesis,
                               label, label]))
    return "\n".join(rows) + "\n"


def qqp(rng, count):
    rows = ["id\tqid1\tqid2\tquestion1\tquestion2\tis_duplicate"]
    for n in range(count):
        a, c, d = rng.choice(NAMES), *rng.sample(CITIES, 2)
        duplicate = n % 2
        q1 = f"How do I get from {c} to {d}?"
        q2 = f"What is the way to travel from {c} to {d}?" if duplicate else f"How do I get from {d} to {c} with {a}?"
        rows.append(f"{n}\t{2 * n + 1}\t{2 * n + 2}\t{q1}\t{q2}\t{duplicate}")
    return "\n".join(rows) + "\n"


def squad(rng, count, prefix):
    data = []
    for n in range(count):
        a, b = rng.sample(NAMES, 2)
        c, d = rng.sample(CITIES, 2)
        context = f"{a} lives in {c}. {b} lives in {d}."
        qa = {"id": f"{prefix}{n + 1:04d}", "question": f"Where does {a} live?",
              "answers": [{"text": c, "answer_start": context.index(c)}]}
        data.append({"title": f"sample {n + 1}", "paragraphs": [{"context": context, "qas": [qa]}]})
    return json.dumps({"version": "1.1", "data": data}, indent=1) + "\n"


def squad_v2(rng, count, prefix):
    data = []
    for n in range(count):
        a, b, absent = rng.sample(NAMES, 3)
        c, d = rng.sample(CITIES, 2)
        context = f"{a} lives in {c}. {b} lives in {d}."
        if n % 3 == 2:  # a question the paragraph cannot answer
            qa = {"id": f"{prefix}{n + 1:04d}", "question": f"Where does {absent} live?", "answers": [],
                  "plausible_answers": [{"text": c, "answer_start": context.index(c)}], "is_impossible": True}
        else:
            qa = {"id": f"{prefix}{n + 1:04d}", "question": f"Where does {a} live?",
                  "answers": [{"text": c, "answer_start": context.index(c)}], "is_impossible": False}
        data.append({"title": f"sample {n + 1}", "paragraphs": [{"context": context, "qas": [qa]}]})
    return json.dumps({"version": "v2.0", "data": data}, indent=1) + "\n"


def anli_round(rng, count, prefix):
    lines = []
    for n in range(count):
        a, c, j = rng.choice(NAMES), rng.choice(CITIES), rng.choice(JOBS)
        label = "enc"[n % 3]
        hypothesis = {"e": f"{a} is a {j}.", "c": f"{a} has never worked as a {j}.",
                      "n": f"{a} enjoys working as a {j} in {c}."}[label]
        lines.append(json.dumps({"uid": f"{prefix}{n}", "context": f"{a} has worked as a {j} in {c} since 2010.",
                                 "hypothesis": hypothesis, "label": label, "reason": ""}))
    return "\n".join(lines) + "\n"


def snli(rng, count):
    lines = []
    for n in range(count):
        a, c = rng.choice(NAMES), rng.choice(CITIES)
        label = ("entailment", "contradiction", "neutral")[n % 3]
        hypothesis = {"entailment": "A person is outside.", "contradiction": f"{a} is asleep at home.",
                      "neutral": f"{a} is walking to work in {c}."}[label]
        lines.append(json.dumps({"gold_label": label, "sentence1": f"{a} is walking down a street in {c}.",
                                 "sentence2": hypothesis, "annotator_labels": [label], "pairID": f"snli-{n}"}))
    return "\n".join(lines) + "\n"


# Translated training data (our own sentences, as XNLI-MT and MLQA's translate-train ship theirs):
# premise, entailment, contradiction, neutral
NLI_TEMPLATES = {
    "ar": ("يعيش {a} في {c}.", "يعيش {a} في مدينة.", "لا يعيش {a} في {c}.", "يعمل {a} في {c}."),
    "bg": ("{a} живее в {c}.", "{a} живее в град.", "{a} не живее в {c}.", "{a} работи в {c}."),
    "de": ("{a} wohnt in {c}.", "{a} wohnt in einer Stadt.", "{a} wohnt nicht in {c}.", "{a} arbeitet in {c}."),
    "el": ("{a} μένει στην πόλη {c}.", "{a} μένει σε μια πόλη.", "{a} δεν μένει στην πόλη {c}.",
           "{a} δουλεύει στην πόλη {c}."),
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
QA_TEMPLATES = {
    "ar": ("يعيش {a} في {c}.", "أين يعيش {a}؟"), "de": ("{a} wohnt in {c}.", "Wo wohnt {a}?"),
    "es": ("{a} vive en {c}.", "¿Dónde vive {a}?"), "hi": ("{a} {c} में रहता है।", "{a} कहाँ रहता है?"),
    "vi": ("{a} sống ở {c}.", "{a} sống ở đâu?"), "zh": ("{a}住在{c}。", "{a}住在哪里？"),
}


def xnli_mt(rng, lang, count):
    premise, *hypotheses = NLI_TEMPLATES[lang]
    rows = ["premise\thypo\tlabel"]
    for n in range(count):
        slots = {"a": rng.choice(NAMES), "c": rng.choice(CITIES)}
        label = ("entailment", "contradictory", "neutral")[n % 3]
        rows.append(f"{premise.format(**slots)}\t{hypotheses[n % 3].format(**slots)}\t{label}")
    return "\n".join(rows) + "\n"


def translated_squad(rng, lang, count):
    statement, question = QA_TEMPLATES[lang]
    data = []
    for n in range(count):
        a, b = rng.sample(NAMES, 2)
        c, d = rng.sample(CITIES, 2)
        first, second = statement.format(a=a, c=c), statement.format(a=b, c=d)
        context = f"{first} {second}"
        qa = {"id": f"{lang}-tt-{n}", "question": question.format(a=a),
              "answers": [{"text": c, "answer_start": context.index(first) + first.index(c)}]}
        data.append({"title": f"sample {n + 1}", "paragraphs": [{"context": context, "qas": [qa]}]})
    return json.dumps({"version": "1.1", "data": data}, ensure_ascii=False, indent=1) + "\n"


def cosmosqa(rng, count, prefix):
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["id", "context", "question", "answer0", "answer1", "answer2", "answer3", "label"])
    for n in range(count):
        a, j = rng.choice(NAMES), rng.choice(JOBS)
        context = f"{a} worked as a {j} for ten years. Yesterday {a} packed the tools and said goodbye to everyone."
        right = f"{a} is leaving the job as a {j}."
        wrong = [f"{a} has just started working.", f"{a} is going on a short lunch break.",
                 "None of the above choices ."]
        label = rng.randrange(4)
        answers = wrong[:label] + [right] + wrong[label:]
        writer.writerow([f"{prefix}{n}", context, f"Why did {a} pack the tools?", *answers, label])
    return buffer.getvalue()


def commonsenseqa(rng, count):
    places = {"bread": "bakery", "books": "library", "medicine": "pharmacy", "fish": "market", "planes": "airport"}
    lines = []
    for n in range(count):
        thing = rng.choice(list(places))
        others = rng.sample([p for t, p in places.items() if t != thing], 4)
        key = rng.randrange(5)
        texts = others[:key] + [places[thing]] + others[key:]
        labels = ["A", "B", "C", "D", "E"]
        lines.append(json.dumps({"answerKey": labels[key], "id": f"csqa-sample-{n}", "question": {
            "question_concept": thing, "choices": [{"label": l, "text": t} for l, t in zip(labels, texts)],
            "stem": f"Where would you usually get {thing}?"}}))
    return "\n".join(lines) + "\n"


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def main() -> None:
    rng = random.Random(2020)
    write(OUT / "mnli" / "MNLI" / "train.tsv", mnli(rng, SIZES["train"]))
    write(OUT / "mnli" / "MNLI" / "dev_matched.tsv", mnli(rng, SIZES["dev"]))
    write(OUT / "qqp" / "QQP" / "train.tsv", qqp(rng, SIZES["train"]))
    write(OUT / "qqp" / "QQP" / "dev.tsv", qqp(rng, SIZES["dev"]))
    write(OUT / "squad" / "train-v1.1.json", squad(rng, SIZES["train"], "train-"))
    write(OUT / "squad" / "dev-v1.1.json", squad(rng, SIZES["dev"], "dev-"))
    write(OUT / "squad_v2" / "train-v2.0.json", squad_v2(rng, SIZES["train"], "train-"))
    write(OUT / "squad_v2" / "dev-v2.0.json", squad_v2(rng, SIZES["dev"], "dev-"))
    for round_ in ("R1", "R2", "R3"):
        write(OUT / "anli" / "anli_v0.1" / round_ / "train.jsonl", anli_round(rng, 16, f"{round_}-train-"))
        write(OUT / "anli" / "anli_v0.1" / round_ / "dev.jsonl", anli_round(rng, 6, f"{round_}-dev-"))
    write(OUT / "anli" / "MNLI" / "train.tsv", mnli(rng, 8))
    write(OUT / "anli" / "snli_1.0" / "snli_1.0_train.jsonl", snli(rng, 8))
    for lang in NLI_TEMPLATES:
        write(OUT / "mnli" / "XNLI-MT-1.0" / "multinli" / f"multinli.train.{lang}.tsv", xnli_mt(rng, lang, 48))
    for lang in QA_TEMPLATES:
        write(OUT / "squad" / "mlqa-translate-train" / f"{lang}_squad-translate-train-train-v1.1.json",
              translated_squad(rng, lang, 48))
    write(OUT / "cosmosqa" / "train.csv", cosmosqa(rng, SIZES["train"], "train-"))
    write(OUT / "cosmosqa" / "valid.csv", cosmosqa(rng, SIZES["dev"], "valid-"))
    write(OUT / "commonsenseqa" / "train_rand_split.jsonl", commonsenseqa(rng, SIZES["train"]))
    write(OUT / "commonsenseqa" / "dev_rand_split.jsonl", commonsenseqa(rng, SIZES["dev"]))


if __name__ == "__main__":
    main()
