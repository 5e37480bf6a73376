"""Write the bundled PAWS-X smoke samples (ours, in PAWS-X's x-final tsv format).

Each pair follows PAWS's construction: a paraphrase reorders the clauses of a sentence
(label 1); a non-paraphrase swaps two of its entities, so the words overlap but the
meaning changes (label 0). Run from this folder: ``python tools/make_samples.py``.
"""

import random
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "xharness_xtreme" / "samples" / "pawsx" / "x-final"

# Per language: (sentence, paraphrase) templates over persons a, b, place p and year y.
TEMPLATES = {
    "en": [
        ("{a} met {b} in {p} in {y} .", "In {y} , {a} met {b} in {p} ."),
        ("{a} was trained by {b} and moved to {p} in {y} .", "In {y} {a} moved to {p} , after training with {b} ."),
        ("In {p} , {a} wrote a letter to {b} in {y} .", "{a} wrote a letter to {b} in {p} in {y} ."),
    ],
    "de": [
        ("{a} traf {b} im Jahr {y} in {p} .", "Im Jahr {y} traf {a} in {p} {b} ."),
        ("{a} wurde von {b} ausgebildet und zog {y} nach {p} .", "{y} zog {a} nach {p} , nachdem {b} ihn ausgebildet hatte ."),
        ("In {p} schrieb {a} im Jahr {y} einen Brief an {b} .", "{a} schrieb {y} in {p} einen Brief an {b} ."),
    ],
    "es": [
        ("{a} conoció a {b} en {p} en {y} .", "En {y} , {a} conoció a {b} en {p} ."),
        ("{a} fue entrenado por {b} y se mudó a {p} en {y} .", "En {y} {a} se mudó a {p} , tras entrenar con {b} ."),
        ("En {p} , {a} escribió una carta a {b} en {y} .", "{a} escribió una carta a {b} en {p} en {y} ."),
    ],
    "fr": [
        ("{a} a rencontré {b} à {p} en {y} .", "En {y} , {a} a rencontré {b} à {p} ."),
        ("{a} a été formé par {b} et s'est installé à {p} en {y} .", "En {y} , {a} s'est installé à {p} après sa formation avec {b} ."),
        ("À {p} , {a} a écrit une lettre à {b} en {y} .", "{a} a écrit une lettre à {b} à {p} en {y} ."),
    ],
    "ja": [
        ("{a}は{y}年に{p}で{b}に会った。", "{y}年、{a}は{p}で{b}に会った。"),
        ("{a}は{b}に師事し、{y}年に{p}へ移った。", "{y}年に{p}へ移った{a}は、{b}に師事していた。"),
        ("{p}で{a}は{y}年に{b}へ手紙を書いた。", "{a}は{y}年に{p}で{b}へ手紙を書いた。"),
    ],
    "ko": [
        ("{a}는 {y}년에 {p}에서 {b}를 만났다 .", "{y}년에 {a}는 {p}에서 {b}를 만났다 ."),
        ("{a}는 {b}에게 배웠고 {y}년에 {p}로 이사했다 .", "{y}년에 {p}로 이사한 {a}는 {b}에게 배웠다 ."),
        ("{p}에서 {a}는 {y}년에 {b}에게 편지를 썼다 .", "{a}는 {y}년에 {p}에서 {b}에게 편지를 썼다 ."),
    ],
    "zh": [
        ("{a}于{y}年在{p}遇见了{b}。", "{y}年，{a}在{p}遇见了{b}。"),
        ("{a}曾师从{b}，并于{y}年迁往{p}。", "{y}年{a}迁往{p}，此前曾师从{b}。"),
        ("在{p}，{a}于{y}年给{b}写了一封信。", "{a}于{y}年在{p}给{b}写了一封信。"),
    ],
}

PEOPLE = {
    "en": ["John Smith", "Mary Jones", "Peter Brown", "Anna Clark", "David Miller", "Laura White"],
    "de": ["Johann Schmidt", "Maria Weber", "Peter Braun", "Anna Keller", "David Müller", "Laura Weiß"],
    "es": ["Juan García", "María López", "Pedro Sánchez", "Ana Torres", "David Ruiz", "Laura Gómez"],
    "fr": ["Jean Martin", "Marie Dubois", "Pierre Bernard", "Anne Petit", "David Moreau", "Laure Blanc"],
    "ja": ["田中", "佐藤", "鈴木", "高橋", "伊藤", "渡辺"],
    "ko": ["김민수", "이서연", "박지훈", "최유진", "정현우", "강수아"],
    "zh": ["王伟", "李娜", "张强", "刘洋", "陈静", "杨帆"],
}
PLACES = {
    "en": ["London", "Paris", "Boston", "Vienna", "Madrid"],
    "de": ["Berlin", "Wien", "Hamburg", "München", "Zürich"],
    "es": ["Madrid", "Sevilla", "Lima", "Bogotá", "Valencia"],
    "fr": ["Paris", "Lyon", "Marseille", "Genève", "Lille"],
    "ja": ["東京", "大阪", "京都", "札幌", "横浜"],
    "ko": ["서울", "부산", "인천", "대구", "광주"],
    "zh": ["北京", "上海", "广州", "南京", "成都"],
}

SIZES = {"en": {"train": 96, "dev_2k": 32, "test_2k": 32}}
OTHER_SIZES = {"dev_2k": 32, "test_2k": 32}


def make_pair(lang: str, rng: random.Random) -> tuple[str, str, int]:
    first, second = TEMPLATES[lang][rng.randrange(len(TEMPLATES[lang]))]
    a, b = rng.sample(PEOPLE[lang], 2)
    slots = {"a": a, "b": b, "p": rng.choice(PLACES[lang]), "y": str(rng.randint(1850, 2010))}
    label = rng.randint(0, 1)
    swapped = dict(slots, a=b, b=a)
    return first.format(**slots), second.format(**(slots if label else swapped)), label


def main() -> None:
    rng = random.Random(2020)
    next_id = 1
    for lang in TEMPLATES:
        for split, size in SIZES.get(lang, OTHER_SIZES).items():
            path = OUT / lang / f"{split}.tsv"
            path.parent.mkdir(parents=True, exist_ok=True)
            rows = ["id\tsentence1\tsentence2\tlabel"]
            for _ in range(size):
                s1, s2, label = make_pair(lang, rng)
                rows.append(f"{next_id}\t{s1}\t{s2}\t{label}")
                next_id += 1
            path.write_text("\n".join(rows) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
