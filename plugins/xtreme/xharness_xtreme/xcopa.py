"""XCOPA (Ponti et al., 2020): choose the more plausible cause or effect, in 11 languages.

As in XTREME-R, the model is trained on English COPA (SuperGLUE; Roemmele et al., 2011) and
tested zero-shot on XCOPA's test sets; XCOPA's validation sets serve ``--select-on target``.

Local files, under ``--data-dir`` (or its ``xcopa/`` folder):

* ``COPA/train.jsonl``, ``COPA/val.jsonl``: the SuperGLUE COPA release (``COPA.zip``);
* ``data/<lang>/val.<lang>.jsonl``, ``data/<lang>/test.<lang>.jsonl``: the layout of the
  cambridgeltl/xcopa repository. Use these original files: XTREME's download script sets every
  test label to 0 (to hide them), so its ``download/xcopa/test-<lang>.jsonl`` cannot be scored.

One JSON record a line: ``premise``, ``choice1``, ``choice2``, ``question`` (``cause`` or
``effect``), ``label`` (0: ``choice1`` is right, 1: ``choice2``) and ``idx``; XCOPA adds
``changed``, which is not used.

An example's context is the premise followed by a question for the relation. The question
wording is ours ("What was the cause?" / "What happened as a result?"), and it is English for every
language (our choice; XTREME-R's own input format is not reproduced).
"""

from __future__ import annotations

from pathlib import Path

from harness.api import HubSource, LocalSource, TaskSpec, read_jsonl
from xharness_xtreme.backbones import MBERT

SAMPLES = Path(__file__).resolve().parent / "samples"
LANGUAGES = ("et", "ht", "id", "it", "qu", "sw", "ta", "th", "tr", "vi", "zh")  # XTREME-R evaluate.py's order
#: Our wording of COPA's two relations, appended to the premise.
QUESTIONS = {"cause": "What was the cause?", "effect": "What happened as a result?"}
COPA_FILES = {"train": "COPA/train.jsonl", "dev": "COPA/val.jsonl", "test": "COPA/test.jsonl"}
XCOPA_SPLITS = {"dev": "val", "test": "test"}


def xcopa_file(split: str, lang: str) -> str:
    """English is COPA (train, dev); every other language XCOPA (dev, test)."""
    if lang == "en":
        return COPA_FILES[split]
    return f"data/{lang}/{XCOPA_SPLITS.get(split, split)}.{lang}.jsonl"


def copa_example(row: dict) -> dict:
    """A COPA/XCOPA record → ``{context, choices, label, id}``; ValueError/KeyError on a bad one."""
    question = row["question"]
    if question not in QUESTIONS:
        raise ValueError(f"question must be 'cause' or 'effect', not {question!r}")
    label = row["label"]
    if isinstance(label, bool) or label not in (0, 1):
        raise ValueError(f"label must be 0 or 1, not {label!r}")
    texts = [row["premise"], row["choice1"], row["choice2"]]
    if not all(isinstance(t, str) and t.strip() for t in texts):
        raise ValueError("premise, choice1 and choice2 must be non-empty strings")
    return {"context": f"{texts[0].strip()} {QUESTIONS[question]}", "choices": [texts[1], texts[2]],
            "label": int(label), "id": str(row["idx"])}


def read_xcopa_jsonl(path: Path, split: str, lang: str):
    yield from read_jsonl(path, copa_example, "COPA/XCOPA (premise, choice1, choice2, question, label, idx)")


def from_hub(row: dict, lang: str) -> dict | None:
    """A hub row (cambridgeltl/xcopa or super_glue/copa); None where the label is hidden (-1)."""
    if row.get("label") in (None, -1):
        return None
    return copa_example(row)


XCOPA = TaskSpec(
    name="xcopa",
    kind="multiple_choice",
    granularity="choice",
    description="XCOPA causal commonsense reasoning (Ponti et al., 2020), trained on English COPA",
    languages=LANGUAGES,
    metric="accuracy",
    num_choices=2,
    train_language="en",
    local=LocalSource(file=xcopa_file, read=read_xcopa_jsonl, roots=("", "xcopa")),
    samples=SAMPLES / "xcopa",
    hub=HubSource(
        path="cambridgeltl/xcopa",
        config="{lang}",
        splits={"dev": "validation", "test": "test"},
        # "Convert dataset to Parquet (#3)": https://huggingface.co/datasets/cambridgeltl/xcopa/blob/042f78955ba48e6404616762fa6e05e839c3907a/README.md
        # (cited in public GitHub material, stored code index file ids 68368847792, 70178701124)
        revision="042f78955ba48e6404616762fa6e05e839c3907a",
        convert=from_hub,
        # English COPA from SuperGLUE, parquet at aps/super_glue @ 3de24cf8…:
        # https://huggingface.co/datasets/aps/super_glue/tree/3de24cf8022e94f4ee4b9d55a6f539891524d646, seen pinned
        # (loaded at that revision, beside a note that script datasets will not pin) in public GitHub code, stored
        # code index file ids 60418786713, 70685200996
        per_language={"en": HubSource(path="aps/super_glue", config="copa",
                                      revision="3de24cf8022e94f4ee4b9d55a6f539891524d646",
                                      splits={"train": "train", "dev": "validation"}, convert=from_hub)},
    ),
    # XTREME-R scripts/train_xcopa.sh (google-research/xtreme @ c061466): 5 epochs, max length 128;
    # XLM-R: lr 3e-5, batch 2 × 16 accumulation; mBERT: lr 2e-5, batch 8 × 4 accumulation.
    defaults={"epochs": 5, "lr": 3e-5, "batch_size": 32, "per_device_batch_size": 16, "max_length": 128,
              "prediction_format": "jsonl",
              "by_model": {name: {"lr": 2e-5, "per_device_batch_size": 8} for name in MBERT}},
    target_dev=True,  # XCOPA's validation files (and the hub's validation splits) in every language
)
