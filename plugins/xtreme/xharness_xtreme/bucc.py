"""BUCC 2018 (Zweigenbaum et al., 2018): mine translation pairs from two comparable corpora.

Bitext mining without training: both sides are embedded, pairs are scored by ratio margin over
k=4 neighbours in both directions, the F1-optimal threshold is chosen on the "sample" split
(our dev) and applied to the test split. Local layout is the shared task's:
``<xx>-en/<xx>-en.<split>.{<xx>,en}`` (``<id>\\t<sentence>``) and ``<xx>-en.<split>.gold``
(``<xx id>\\t<en id>``); a test split without gold still yields predictions.
"""

from __future__ import annotations

from pathlib import Path

from harness.api import LocalSource, TaskSpec, DataFormatError

SAMPLES = Path(__file__).resolve().parent / "samples"
SPLIT_NAMES = {"dev": "sample", "train": "training", "test": "test"}


def bucc_file(split: str, lang: str) -> str:
    return f"{lang}-en/{lang}-en.{SPLIT_NAMES[split]}.{lang}"


def _lines(path: Path) -> list[str]:
    """The lines of one of the split's files; invalid UTF-8 names this file and its line (the
    task's data loader could only name the file it passed in)."""
    try:
        with open(path, encoding="utf-8") as handle:
            return [line.rstrip("\r\n") for line in handle]
    except UnicodeDecodeError as exc:
        error = DataFormatError.not_utf8(path) or DataFormatError(path, None, f"not UTF-8 text ({exc.reason})")
        raise error from None


def _sentences(path: Path) -> list[tuple[str, str]]:
    rows = []
    for number, line in enumerate(_lines(path), start=1):
        if not line:
            continue
        ident, sep, text = line.partition("\t")
        if not sep or not ident:
            raise DataFormatError(path, number, "expected <id><TAB><sentence>")
        rows.append((ident, text))
    if not rows:
        # Mining an empty side would otherwise fail deep inside retrieval.
        raise DataFormatError(path, None, "holds no sentences (empty or truncated file?)")
    return rows


def read_bucc(path: Path, split: str, lang: str):
    english = path.with_name(path.name[: -len(lang)] + "en")
    if not english.is_file():
        raise DataFormatError(english, None, f"missing: the English side of {path.name}")
    source, target = _sentences(path), _sentences(english)
    gold_path = path.with_name(path.name[: -len(lang)] + "gold")
    gold = None
    if gold_path.is_file():
        sides = ((path, source, {i for i, _ in source}), (english, target, {i for i, _ in target}))
        gold = []
        for number, line in enumerate(_lines(gold_path), start=1):
            if not line.strip():
                continue
            pair = tuple(line.split("\t"))
            if len(pair) != 2:
                raise DataFormatError(gold_path, number, f"expected two ids (<{lang} id><TAB><en id>), "
                                                         f"found {len(pair)} field(s)")
            for ident, (sentences_path, rows, known) in zip(pair, sides):
                if ident not in known:
                    # The gold file is usually right: a sentences file cut short is the likely cause.
                    raise DataFormatError(gold_path, number, f"expected two ids from the sentence files, but "
                                                             f"{ident!r} is not in {sentences_path.name} ({len(rows)} "
                                                             f"sentences, the last {rows[-1][0]!r}; truncated?)")
            gold.append(pair)
        if not gold:
            raise DataFormatError(gold_path, None, "holds no id pairs (empty or truncated file?)")
    yield {"source": source, "target": target, "gold": gold}


BUCC = TaskSpec(
    name="bucc2018",
    kind="bitext_mining",
    granularity="retrieval",
    description="BUCC 2018 parallel sentence mining (Zweigenbaum et al., 2018)",
    languages=("de", "fr", "ru", "zh"),
    metric="f1",
    local=LocalSource(file=bucc_file, read=read_bucc, roots=("", "bucc2018")),
    samples=SAMPLES / "bucc2018",
    defaults={"max_length": 512},
)
