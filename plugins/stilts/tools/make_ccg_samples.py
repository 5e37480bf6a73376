"""Write the bundled CCG smoke sample (ours, in CCGbank's AUTO format, sections 02 and 00).

CCGbank is licensed by the LDC, so the sample is built from our own sentences: "NAME lives in
CITY ." and "NAME saw NAME ." with their CCG derivations. Run from this folder:
``python tools/make_ccg_samples.py``.
"""

import random
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "xharness_stilts" / "samples" / "ccg" / "data" / "AUTO"
NAMES = ["Anna", "David", "Maria", "Omar", "Lena", "Sami"]
VP = "S[dcl]\\NP"
INTRANSITIVE_PP = "(S[dcl]\\NP)/PP"
TRANSITIVE = "(S[dcl]\\NP)/NP"
CITIES = ["Paris", "Cairo", "Tokyo", "Lima", "Berlin"]


def leaf(category: str, pos: str, word: str) -> str:
    return f"(<L {category} {pos} {pos} {word} {category}>)"


def lives_in(a: str, c: str) -> str:
    subject = f"(<T NP 0 1> {leaf('N', 'NNP', a)} )"
    place = f"(<T NP 0 1> {leaf('N', 'NNP', c)} )"
    pp = f"(<T PP 0 2> {leaf('PP/NP', 'IN', 'in')} {place} )"
    vp = f"(<T {VP} 0 2> {leaf(INTRANSITIVE_PP, 'VBZ', 'lives')} {pp} )"
    return f"(<T S[dcl] 0 2> (<T S[dcl] 1 2> {subject} {vp} ) {leaf('.', '.', '.')} )"


def saw(a: str, b: str) -> str:
    subject = f"(<T NP 0 1> {leaf('N', 'NNP', a)} )"
    obj = f"(<T NP 0 1> {leaf('N', 'NNP', b)} )"
    vp = f"(<T {VP} 0 2> {leaf(TRANSITIVE, 'VBD', 'saw')} {obj} )"
    return f"(<T S[dcl] 0 2> (<T S[dcl] 1 2> {subject} {vp} ) {leaf('.', '.', '.')} )"


def main() -> None:
    rng = random.Random(2020)
    for section, count in (("02", 48), ("00", 12)):
        lines = []
        for n in range(count):
            a, b = rng.sample(NAMES, 2)
            tree = lives_in(a, rng.choice(CITIES)) if n % 2 else saw(a, b)
            lines += [f"ID=wsj_{section}01.{n + 1} PARSER=GOLD NUMPARSE=1", tree]
        folder = OUT / section
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"wsj_{section}01.auto").write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
