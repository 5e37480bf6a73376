"""Social IQa (Sap et al., 2019): reasoning about people's actions and their social implications.

XTREME-R trains XCOPA models on SIQa first, then on COPA; here SIQa is an intermediate task.

Local files, under ``--data-dir`` (or its ``siqa/`` folder): the ``socialIQa_v1.4.tgz`` release
XTREME's download script fetches, ``socialIQa_v1.4_trn.jsonl`` and ``socialIQa_v1.4_dev.jsonl``.
One JSON record a line with ``context``, ``question``, ``answerA``, ``answerB``, ``answerC`` and
``correct`` (``A``, ``B`` or ``C``, mapped to 0, 1, 2 as XTREME does). The hub copy
(``allenai/social_i_qa``) gives the label as a 1-based string ``"1"``..``"3"`` instead.

An example's context is the situation followed by the question; the choices are the three answers.
"""

from __future__ import annotations

from pathlib import Path

from harness.api import HubSource, LocalSource, PublishedSizes, TaskSpec, read_jsonl
from xharness_xtreme.backbones import MBERT

SAMPLES = Path(__file__).resolve().parent / "samples"
FILES = {"train": "socialIQa_v1.4_trn.jsonl", "dev": "socialIQa_v1.4_dev.jsonl", "test": "socialIQa_v1.4_tst.jsonl"}
LETTERS = {"A": 0, "B": 1, "C": 2}


def siqa_file(split: str, lang: str) -> str:
    return FILES[split]


def _example(row: dict, label: int) -> dict:
    texts = [row["context"], row["question"], row["answerA"], row["answerB"], row["answerC"]]
    if not all(isinstance(t, str) for t in texts):
        raise ValueError("context, question and the answers must be strings")
    return {"context": f"{texts[0].strip()} {texts[1].strip()}", "choices": texts[2:], "label": label}


def siqa_example(row: dict) -> dict:
    correct = row["correct"]
    if correct not in LETTERS:
        raise ValueError(f"correct must be A, B or C, not {correct!r}")
    return _example(row, LETTERS[correct])


def read_siqa_jsonl(path: Path, split: str, lang: str):
    yield from read_jsonl(path, siqa_example, "Social IQa (context, question, answerA-C, correct)")


def from_hub(row: dict, lang: str) -> dict | None:
    label = str(row.get("label") or "").strip()  # "1".."3", once served with a trailing newline
    if label not in ("1", "2", "3"):
        return None
    return _example(row, int(label) - 1)


SIQA = TaskSpec(
    name="siqa",
    kind="multiple_choice",
    granularity="choice",
    description="Social IQa commonsense reasoning about social situations (Sap et al., 2019)",
    languages=("en",),
    metric="accuracy",
    num_choices=3,
    local=LocalSource(file=siqa_file, read=read_siqa_jsonl, roots=("", "siqa")),
    samples=SAMPLES / "siqa",
    hub=HubSource(
        path="allenai/social_i_qa",
        # main is still a loading script (datasets >= 4 refuses it); the hub's "Convert dataset to Parquet" pull
        # request (refs/pr/3, not merged) ends in "Delete loading script" @ 92033e87…, whose tree holds only
        # data/{train,validation}-00000-of-00001.parquet and the card; a commit is read by hash whatever branch holds it:
        # https://huggingface.co/datasets/allenai/social_i_qa/commit/92033e8721ad4fc1fb525dcde6bee1e7ad86c3ab
        revision="92033e8721ad4fc1fb525dcde6bee1e7ad86c3ab",
        splits={"train": "train", "dev": "validation"},
        convert=from_hub,
        columns=("context", "question", "answerA", "answerB", "answerC", "label"),
    ),
    sizes=(PublishedSizes(
        source="Social IQa (Sap et al. 2019): train 33,410, dev 1,954 questions; the parquet files of the pinned "
               "commit hold as many rows (its pull request's card)",
        counts={"train": {"en": 33410}, "dev": {"en": 1954}}),),
    # As for XCOPA (XTREME-R scripts/train_xcopa.sh trains SIQa with the same settings).
    defaults={"epochs": 5, "lr": 3e-5, "max_length": 128, "batch_size": 32, "per_device_batch_size": 16,
              "by_model": {name: {"lr": 2e-5, "per_device_batch_size": 8} for name in MBERT}},
)
