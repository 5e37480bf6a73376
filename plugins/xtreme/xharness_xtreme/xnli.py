"""XNLI (Conneau et al., 2018): natural language inference in 15 languages.

Zero-shot protocol: train on MNLI (English), select on English XNLI dev, test in all 15
languages. Local layout is the original releases: ``XNLI-1.0/xnli.{dev,test}.tsv`` (all
languages in one file, a ``language`` column) and ``XNLI-MT-1.0/multinli/multinli.train.en.tsv``
(MNLI's training set; columns premise, hypo, label, where contradiction is "contradictory").
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from harness.api import HubSource, LocalSource, PublishedSizes, TaskSpec, DataFormatError, read_tsv_rows

SAMPLES = Path(__file__).resolve().parent / "samples"
LANGUAGES = ("en", "ar", "bg", "de", "el", "es", "fr", "hi", "ru", "sw", "th", "tr", "ur", "vi", "zh")
LABELS = ("entailment", "neutral", "contradiction")  # the ids GLUE's MNLI uses on the hub
LABEL_IDS = {name: i for i, name in enumerate(LABELS)} | {"contradictory": 2}


def xnli_file(split: str, lang: str) -> str:
    if split == "train":
        return f"XNLI-MT-1.0/multinli/multinli.train.{lang}.tsv"
    return f"XNLI-1.0/xnli.{split}.tsv"


def _label(path: Path, number: int, name: str) -> int:
    if name not in LABEL_IDS:
        raise DataFormatError(path, number, f"unknown label {name!r} (expected entailment, neutral or contradiction)")
    return LABEL_IDS[name]


@lru_cache(maxsize=4)
def _by_language(path: Path, stamp: tuple[int, int]) -> dict[str, list[dict]]:
    """One pass over an all-languages XNLI file (cached while the file is unchanged)."""
    grouped: dict[str, list[dict]] = {}
    for number, row in read_tsv_rows(path, ("language", "gold_label", "sentence1", "sentence2")):
        grouped.setdefault(row["language"], []).append(
            {"text": row["sentence1"], "text_pair": row["sentence2"], "label": _label(path, number, row["gold_label"])})
    return grouped


def read_xnli(path: Path, split: str, lang: str):
    if split == "train":
        for number, row in read_tsv_rows(path, ("premise", "hypo", "label")):
            yield {"text": row["premise"], "text_pair": row["hypo"], "label": _label(path, number, row["label"])}
        return
    stat = path.stat()
    yield from _by_language(path, (stat.st_mtime_ns, stat.st_size)).get(lang, [])


def from_xtreme_hub(row: dict, lang: str) -> dict | None:
    if row["language"] != lang:
        return None  # the XNLI config holds every language
    return {"text": row["sentence1"], "text_pair": row["sentence2"], "label": LABEL_IDS[row["gold_label"]]}


def from_glue_mnli(row: dict, lang: str) -> dict:
    return {"text": row["premise"], "text_pair": row["hypothesis"], "label": int(row["label"])}


XNLI = TaskSpec(
    name="xnli",
    kind="classification",
    granularity="pair",
    description="XNLI natural language inference (Conneau et al., 2018), trained on MNLI",
    languages=LANGUAGES,
    metric="accuracy",
    labels=LABELS,
    local=LocalSource(file=xnli_file, read=read_xnli, roots=("", "xnli")),
    samples=SAMPLES / "xnli",
    hub=HubSource(
        # google/xtreme: UNVERIFIED, no parquet commit found in stored material; main is read, its commit recorded
        path="google/xtreme",
        revision=None,
        config="XNLI",
        splits={"dev": "validation", "test": "test"},
        convert=from_xtreme_hub,
        columns=("language", "sentence1", "sentence2", "gold_label"),
        # nyu-mll/glue @ bcdcba79… (parquet): https://huggingface.co/datasets/nyu-mll/glue/tree/bcdcba79d07bc864c1c254ccfcedcce55bcc9a8c,
        # seen pinned in https://github.com/SkAndMl/intelif/blob/608e3efd85164d75564c16dcbf1c7a46d3b71085/training/data.py
        per_split={"train": HubSource(path="nyu-mll/glue", config="mnli", splits={"train": "train"},
                                      revision="bcdcba79d07bc864c1c254ccfcedcce55bcc9a8c",
                                      convert=from_glue_mnli, columns=("premise", "hypothesis", "label"),
                                      label_names={"label": LABELS})},
    ),
    # one config holds every language: the hub counts 15 x 2,490 dev and 15 x 5,010 test pairs
    sizes=(PublishedSizes(
        source="XTREME, Hu et al. 2020, Table 1 (XNLI: train 392,702, dev 2,490, test 5,010; as reprinted in "
               "Chung et al. 2021, RemBERT, Table 11); the facebook/xnli card states the same per language "
               "(https://huggingface.co/datasets/facebook/xnli/commit/b8dd5d7af51114dbda02c0e3f6133f332186418e)",
        counts={"train": {"en": 392702}, "dev": {"*": 2490}, "test": {"*": 5010}}),),
    defaults={"epochs": 2, "batch_size": 32, "max_length": 256, "lr": 1e-5},
    target_dev=True,
)
