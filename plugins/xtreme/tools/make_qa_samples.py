"""Write the bundled QA smoke samples (ours, in SQuAD v1.1 JSON as SQuAD, XQuAD, MLQA and TyDiQA-GoldP ship it).

Each paragraph says where two people live; the question asks where one of them lives and the
answer is a span of the paragraph. Run from this folder: ``python tools/make_qa_samples.py``.
"""

import json
import random
from pathlib import Path

SAMPLES = Path(__file__).resolve().parent.parent / "xharness_xtreme" / "samples"
# language: (statement, question)
TEMPLATES = {
    "en": ("{a} lives in {c}.", "Where does {a} live?"),
    "es": ("{a} vive en {c}.", "¿Dónde vive {a}?"),
    "de": ("{a} wohnt in {c}.", "Wo wohnt {a}?"),
    "el": ("{a} μένει στην πόλη {c}.", "Σε ποια πόλη μένει {a};"),
    "ru": ("{a} живёт в {c}.", "Где живёт {a}?"),
    "tr": ("{a} {c} şehrinde yaşıyor.", "{a} nerede yaşıyor?"),
    "ar": ("يعيش {a} في {c}.", "أين يعيش {a}؟"),
    "vi": ("{a} sống ở {c}.", "{a} sống ở đâu?"),
    "th": ("{a} อาศัยอยู่ที่ {c}", "{a} อาศัยอยู่ที่ไหน"),
    "zh": ("{a}住在{c}。", "{a}住在哪里？"),
    "hi": ("{a} {c} में रहता है।", "{a} कहाँ रहता है?"),
    "bn": ("{a} {c} শহরে থাকে।", "{a} কোথায় থাকে?"),
    "fi": ("{a} asuu kaupungissa nimeltä {c}.", "Missä {a} asuu?"),
    "id": ("{a} tinggal di {c}.", "Di mana {a} tinggal?"),
    "ko": ("{a}는 {c}에 살아요.", "{a}는 어디에 살아요?"),
    "sw": ("{a} anaishi {c}.", "{a} anaishi wapi?"),
    "te": ("{a} {c}లో నివసిస్తాడు.", "{a} ఎక్కడ నివసిస్తాడు?"),
    "ro": ("{a} locuiește în {c}.", "Unde locuiește {a}?"),
}
NAMES = ["Anna", "David", "Maria", "Omar", "Lena", "Sami", "Yuki", "Ivan"]
CITIES = ["Paris", "Cairo", "Tokyo", "Lima", "Berlin", "Nairobi", "Hanoi", "Delhi"]
TYDI_NAMES = {"en": "english", "ar": "arabic", "bn": "bengali", "fi": "finnish", "id": "indonesian",
              "ko": "korean", "ru": "russian", "sw": "swahili", "te": "telugu"}


def squad(lang: str, count: int, rng: random.Random, prefix: str) -> dict:
    statement, question = TEMPLATES[lang]
    articles = []
    for n in range(count):
        a, b = rng.sample(NAMES, 2)
        c, d = rng.sample(CITIES, 2)
        first, second = statement.format(a=a, c=c), statement.format(a=b, c=d)
        context = f"{first} {second}" if n % 2 == 0 else f"{second} {first}"
        start = context.index(first) + first.index(c)
        qa = {"id": f"{prefix}{n + 1:04d}", "question": question.format(a=a),
              "answers": [{"text": c, "answer_start": start}]}
        articles.append({"title": f"sample {n + 1}", "paragraphs": [{"context": context, "qas": [qa]}]})
    return {"version": "1.1", "data": articles}


def write(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def main() -> None:
    rng = random.Random(2020)
    write(SAMPLES / "squad" / "train-v1.1.json", squad("en", 64, rng, "squad-train-"))
    write(SAMPLES / "squad" / "dev-v1.1.json", squad("en", 16, rng, "squad-dev-"))
    for lang in "en es de el ru tr ar vi th zh hi".split():
        write(SAMPLES / "xquad" / f"xquad.{lang}.json", squad(lang, 8, rng, f"xquad-{lang}-"))
    for lang in "en es de ar hi vi zh".split():
        for split in ("dev", "test"):
            write(SAMPLES / "mlqa" / "MLQA_V1" / split / f"{split}-context-{lang}-question-{lang}.json",
                  squad(lang, 8, rng, f"mlqa-{split}-{lang}-"))
    write(SAMPLES / "tydiqa" / "tydiqa-goldp-v1.1-train.json", squad("en", 64, rng, "english-train-"))
    dev = {"version": "1.1", "data": []}
    for lang, name in TYDI_NAMES.items():
        dev["data"] += squad(lang, 8, rng, f"{name}-dev-")["data"]
    write(SAMPLES / "tydiqa" / "tydiqa-goldp-v1.1-dev.json", dev)
    # XTREME-R's added XQuAD language, from a random generator of its own so that the files
    # above stay exactly as they were
    rng = random.Random(2021)
    for lang in ("ro",):
        write(SAMPLES / "xquad" / f"xquad.{lang}.json", squad(lang, 8, rng, f"xquad-{lang}-"))


if __name__ == "__main__":
    main()
