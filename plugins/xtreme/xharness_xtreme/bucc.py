"""BUCC 2018 (Zweigenbaum et al., 2018): mine translation pairs from two comparable corpora.

Bitext mining without training: both sides are embedded, pairs are scored by ratio margin over
k=4 neighbours in both directions, the F1-optimal threshold is chosen on the "sample" split
(our dev) and applied to the test split. Local layout is the shared task's:
``<xx>-en/<xx>-en.<split>.{<xx>,en}`` (``<id>\\t<sentence>``) and ``<xx>-en.<split>.gold``
(``<xx id>\\t<en id>``); a test split without gold still yields predictions.
"""

from __future__ import annotations

from pathlib import Path

from harness import LocalSource, TaskSpec
from harness.errors import DataFormatError

SAMPLES = Path(__file__).resolve().parent / "samples"
SPLIT_NAMES = {"dev": "sample", "train": "training", "test": "test"}


def bucc_file(split: str, lang: str) -> str:
    return f"{lang}-en/{lang}-en.{SPLIT_NAMES[split]}.{lang}"


def _sentences(path: Path) -> list[tuple[str, str]]:
    rows = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            line = line.rstrip("\r\n")
            if not line:
                continue
            ident, sep, text = line.partition("\t")
            if not sep or not ident:
                raise DataFormatError(path, number, "expected <id><TAB><sentence>")
            rows.append((ident, text))
    return rows


def read_bucc(path: Path, split: str, lang: str):
    english = path.with_name(path.name[: -len(lang)] + "en")
    if not english.is_file():
        raise DataFormatError(english, None, f"missing: the English side of {path.name}")
    source, target = _sentences(path), _sentences(english)
    gold_path = path.with_name(path.name[: -len(lang)] + "gold")
    gold = None
    if gold_path.is_file():
        known_source, known_target = {i for i, _ in source}, {i for i, _ in target}
        gold = []
        for number, line in enumerate(gold_path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            pair = tuple(line.split("\t"))
            if len(pair) != 2 or pair[0] not in known_source or pair[1] not in known_target:
                raise DataFormatError(gold_path, number, "expected two ids, found in the two sentence files")
            gold.append(pair)
    yield {"source": source, "target": target, "gold": gold}


BUCC = TaskSpec(
    name="bucc2018",
    kind="bitext_mining",
    description="BUCC 2018 parallel sentence mining (Zweigenbaum et al., 2018)",
    languages=("de", "fr", "ru", "zh"),
    metric="f1",
    local=LocalSource(file=bucc_file, read=read_bucc, roots=("", "bucc2018")),
    samples=SAMPLES / "bucc2018",
    defaults={"max_length": 512},
)
