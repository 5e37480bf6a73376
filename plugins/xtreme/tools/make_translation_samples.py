"""Write the bundled samples of xharness_xtreme_translations: translations of our own PAWS-X and XNLI
samples, exact by construction.

Our samples are rendered from templates that say the same thing in every language (make_samples.py,
make_xnli_samples.py). Replaying their random draws gives each row's slots (which template, which
people, place and year, which label), and rendering those slots with another language's templates
gives that row in the other language: the English training rows in each target language
(translate-train) and each language's test rows in English, with their ids (translate-test). Real
runs read machine translations from the same layout (docs/transfer-settings.md).
Run from this folder: ``python tools/make_translation_samples.py``.
"""

import random
import re
from pathlib import Path

import make_samples as pawsx
import make_xnli_samples as xnli

OUT = Path(__file__).resolve().parent.parent / "xharness_xtreme_translations" / "samples"


def pawsx_slots(rng: random.Random) -> tuple[int, int, int, int, str, int]:
    """One row's draws, in make_samples.make_pair's order: template, two people, place, year, label."""
    template = rng.randrange(3)
    a, b = rng.sample(range(6), 2)
    place = rng.randrange(5)  # random.choice draws an index below the length: the same draw
    year = str(rng.randint(1850, 2010))
    return template, a, b, place, year, rng.randint(0, 1)


def pawsx_render(lang: str, slots) -> tuple[str, str, int]:
    template, a, b, place, year, label = slots
    first, second = pawsx.TEMPLATES[lang][template]
    values = {"a": pawsx.PEOPLE[lang][a], "b": pawsx.PEOPLE[lang][b], "p": pawsx.PLACES[lang][place], "y": year}
    swapped = dict(values, a=values["b"], b=values["a"])
    return first.format(**values), second.format(**(values if label else swapped)), label


def pawsx_rows() -> dict[tuple[str, str], list[tuple[int, tuple]]]:
    """(language, file) -> [(id, slots)] of every bundled PAWS-X sample row, as make_samples drew them."""
    rng = random.Random(2020)
    next_id, rows = 1, {}
    for lang in pawsx.TEMPLATES:
        for split, size in pawsx.SIZES.get(lang, pawsx.OTHER_SIZES).items():
            rows[(lang, split)] = []
            for _ in range(size):
                rows[(lang, split)].append((next_id, pawsx_slots(rng)))
                next_id += 1
    return rows


def write_tsv(path: Path, rows: list[tuple[int, tuple[str, str, int]]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["id\tsentence1\tsentence2\tlabel"] + [f"{i}\t{s1}\t{s2}\t{label}" for i, (s1, s2, label) in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main() -> None:
    rows = pawsx_rows()
    bundled = pawsx.OUT / "en" / "train.tsv"  # the replay must give the bundled rows back
    again = ["id\tsentence1\tsentence2\tlabel"] + [
        f"{i}\t{s1}\t{s2}\t{label}" for i, slots in rows[("en", "train")] for s1, s2, label in [pawsx_render("en", slots)]]
    assert bundled.read_text(encoding="utf-8") == "\n".join(again) + "\n", "make_samples.py draws differently now"
    for lang in pawsx.TEMPLATES:
        if lang == "en":
            continue
        write_tsv(OUT / "pawsx" / "x-final" / lang / "translated_train.tsv",
                  [(i, pawsx_render(lang, slots)) for i, slots in rows[("en", "train")]])
        write_tsv(OUT / "pawsx" / "translate-test" / "pawsx" / lang / "test_2k.tsv",
                  [(i, pawsx_render("en", slots)) for i, slots in rows[(lang, "test_2k")]])
    # XNLI: names and cities are the same in every language; read them off the English training rows
    source = xnli.OUT / "XNLI-MT-1.0" / "multinli" / "multinli.train.en.tsv"
    english = xnli.TEMPLATES["en"]
    pattern = re.compile(re.escape(english[0]).replace(re.escape("{a}"), "(?P<a>.+)").replace(re.escape("{c}"), "(?P<c>.+)"))
    parsed = []
    for line in source.read_text(encoding="utf-8").splitlines()[1:]:
        premise, _, label = line.split("\t")
        parsed.append((pattern.fullmatch(premise).groupdict(), label))
    names = {"entailment": 0, "contradictory": 1, "contradiction": 1, "neutral": 2}  # the order of TEMPLATES' hypotheses
    for lang, (premise, *hypotheses) in xnli.TEMPLATES.items():
        if lang == "en":
            continue
        lines = ["premise\thypo\tlabel"] + [f"{premise.format(**slots)}\t{hypotheses[names[label]].format(**slots)}\t{label}"
                                            for slots, label in parsed]
        path = OUT / "xnli" / "XNLI-MT-1.0" / "multinli" / f"multinli.train.{lang}.tsv"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
