"""HellaSwag (Zellers et al., 2019): choose the right ending of an activity description.

Local files are the original release, ``hellaswag_{train,val}.jsonl`` (the test file has no
labels, so the intermediate phase uses train and val). As in jiant, the first segment is
``ctx_a`` and each of the four choices is ``ctx_b`` followed by one ending.
"""

from __future__ import annotations

from pathlib import Path

from harness.api import HubSource, LocalSource, TaskSpec, read_jsonl

SAMPLES = Path(__file__).resolve().parent / "samples"
FILES = {"train": "hellaswag_train.jsonl", "dev": "hellaswag_val.jsonl", "test": "hellaswag_test.jsonl"}


def hellaswag_file(split: str, lang: str) -> str:
    return FILES[split]


def _example(row: dict) -> dict:
    lead = row["ctx_b"].strip()
    choices = [f"{lead} {ending.strip()}".strip() for ending in row["endings"]]
    return {"context": row["ctx_a"], "choices": choices, "label": int(row["label"])}


def _checked(row: dict) -> dict:
    example = _example(row)
    if len(example["choices"]) != 4 or not 0 <= example["label"] < 4:
        raise ValueError("needs 4 endings and a label in 0..3")
    return example


def read_hellaswag_jsonl(path: Path, split: str, lang: str):
    yield from read_jsonl(path, _checked, "HellaSwag (ctx_a, ctx_b, endings, label)")


def from_hub(row: dict, lang: str) -> dict | None:
    if row.get("label") in (None, ""):
        return None  # the hub's test split carries no labels
    return _example(row)


HELLASWAG = TaskSpec(
    name="hellaswag",
    kind="multiple_choice",
    granularity="choice",
    description="HellaSwag commonsense sentence completion (Zellers et al., 2019)",
    languages=("en",),
    metric="accuracy",
    num_choices=4,
    local=LocalSource(file=hellaswag_file, read=read_hellaswag_jsonl, roots=("", "hellaswag")),
    samples=SAMPLES / "hellaswag",
    hub=HubSource(
        path="Rowan/hellaswag",
        # main is parquet now (it was a loading script): https://huggingface.co/datasets/Rowan/hellaswag/tree/218ec52e09a7e7462a5400043bb9a69a41d06b76,
        # seen pinned in public GitHub code (stored code index, file ids 56482169125, 54815398623, 68892893066)
        revision="218ec52e09a7e7462a5400043bb9a69a41d06b76",
        splits={"train": "train", "dev": "validation"},
        convert=from_hub,
    ),
    defaults={"epochs": 3, "batch_size": 32, "max_length": 256, "lr": 1e-5},
)
