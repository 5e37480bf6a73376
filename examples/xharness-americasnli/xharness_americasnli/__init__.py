"""americasnli: AmericasNLI (Ebrahimi et al., 2022), XNLI extended to 10 indigenous languages of the Americas.

An xharness plugin (entry point ``xharness-americasnli``), started with ``xharness new-plugin`` and
finished as docs/tutorial.md describes. Zero-shot protocol, as for XNLI: fine-tune on English
MNLI, choose the checkpoint on English MNLI dev (matched), test in the ten languages.

Where the data comes from:

* the ten languages' dev and test sets — locally the AmericasNLI release's ``dev/<lang>.tsv`` and
  ``test/<lang>.tsv`` (a header naming at least ``language``, ``premise``, ``hypothesis`` and
  ``label``; the label as text: entailment, neutral or contradiction); on the hub
  ``nala-cub/americas_nli``, one config per language, splits ``validation`` and ``test``;
* English training data — locally XNLI-MT's ``XNLI-MT-1.0/multinli/multinli.train.en.tsv`` (MNLI's
  training set; columns premise, hypo, label; contradiction written "contradictory"), on the hub
  ``nyu-mll/glue`` ``mnli`` split ``train``;
* English dev data — locally GLUE's ``MNLI/dev_matched.tsv`` (sentence1, sentence2, gold_label),
  on the hub ``nyu-mll/glue`` ``mnli`` split ``validation_matched``.

A file in any other layout stops the run with one line naming the file and the line.
Nothing here imports torch.
"""

from __future__ import annotations

from pathlib import Path

from harness.api import DataFormatError, HubSource, LocalSource, ModelSpec, TaskSpec, hookimpl, read_tsv_rows

__version__ = "0.1.0"
#: The harness.api versions this plugin is written for: another major version is not loaded
#: (xharness says so in `xharness list`) instead of failing somewhere inside a run.
XHARNESS_API = ">=1.0,<2"

SAMPLES = Path(__file__).resolve().parent / "samples"
TASK = "americasnli"
#: Ashaninka, Aymara, Bribri, Guarani, Wixarika, Nahuatl, Otomi, Quechua, Shipibo-Konibo, Raramuri
LANGUAGES = ("aym", "bzd", "cni", "gn", "hch", "nah", "oto", "quy", "shp", "tar")
LABELS = ("entailment", "neutral", "contradiction")  # the label ids of the hub's americas_nli and GLUE's MNLI
LABEL_IDS = {name: i for i, name in enumerate(LABELS)}
RELEASE_COLUMNS = ("language", "premise", "hypothesis", "label")


def task_file(split: str, lang: str) -> str:
    """The released layout: the English splits come from MNLI, the others from AmericasNLI."""
    if lang == "en":
        return {"train": "XNLI-MT-1.0/multinli/multinli.train.en.tsv", "dev": "MNLI/dev_matched.tsv"}[split]
    return f"{split}/{lang}.tsv"


def _label(path: Path, number: int, name: str) -> int:
    name = "contradiction" if name == "contradictory" else name  # XNLI-MT's spelling
    if name not in LABEL_IDS:
        raise DataFormatError(path, number, f"unknown label {name!r} (expected entailment, neutral or contradiction)")
    return LABEL_IDS[name]


def read_task_file(path: Path, split: str, lang: str):
    """One file into ``{"text", "text_pair", "label"}`` examples (premise, hypothesis, label id)."""
    if path.name.startswith("multinli.train."):  # XNLI-MT's copy of MNLI's training set
        for number, row in read_tsv_rows(path, ("premise", "hypo", "label")):
            yield {"text": row["premise"], "text_pair": row["hypo"], "label": _label(path, number, row["label"])}
        return
    if path.name.startswith("dev_matched"):  # GLUE's MNLI dev (matched)
        for number, row in read_tsv_rows(path, ("sentence1", "sentence2", "gold_label")):
            yield {"text": row["sentence1"], "text_pair": row["sentence2"],
                   "label": _label(path, number, row["gold_label"])}
        return
    for number, row in read_tsv_rows(path, RELEASE_COLUMNS):  # AmericasNLI's dev/<lang>.tsv, test/<lang>.tsv
        if row["language"] != lang:
            raise DataFormatError(path, number, f"language {row['language']!r} in the file of {lang!r}")
        yield {"text": row["premise"], "text_pair": row["hypothesis"], "label": _label(path, number, row["label"])}


def from_hub(row: dict, lang: str) -> dict:
    """A row of ``nala-cub/americas_nli`` (one config per language) or of GLUE's MNLI."""
    return {"text": row["premise"], "text_pair": row["hypothesis"], "label": int(row["label"])}


MNLI_HUB = HubSource(path="nyu-mll/glue", config="mnli", splits={"train": "train", "dev": "validation_matched"},
                     convert=from_hub)

TASK_SPEC = TaskSpec(
    name=TASK,
    kind="classification",
    granularity="pair",
    description="AmericasNLI: XNLI in 10 indigenous languages of the Americas (Ebrahimi et al., 2022), "
                "trained on MNLI",
    languages=LANGUAGES,
    metric="accuracy",
    labels=LABELS,
    local=LocalSource(file=task_file, read=read_task_file, roots=("", "americasnli", "AmericasNLI", "xnli", "glue_data")),
    samples=SAMPLES,
    hub=HubSource(
        path="nala-cub/americas_nli",
        config="{lang}",
        revision=None,  # pin the commit you evaluated, for comparable runs
        splits={"dev": "validation", "test": "test"},
        convert=from_hub,
        per_language={"en": MNLI_HUB},  # English train and dev: MNLI (per_split would send every dev to MNLI)
    ),
    defaults={"epochs": 2, "batch_size": 32, "max_length": 256, "lr": 1e-5},  # XNLI's protocol
    target_dev=True,  # the release has a dev set in every language: --select-on target|both works
)


#: The backbone behind the ``xlmr-americas`` alias. XLM-R Base is the starting point; replace it with
#: an encoder adapted to the ten languages (and pin MODEL_REVISION) to compare against it.
MODEL_HUB_ID = "FacebookAI/xlm-roberta-base"
MODEL_REVISION = None
MODEL_SPEC = ModelSpec("xlmr-americas", "the encoder for AmericasNLI experiments (XLM-R Base until "
                       "MODEL_HUB_ID names an adapted one)", hub_id=MODEL_HUB_ID, revision=MODEL_REVISION)


@hookimpl
def register_target_tasks(register):
    register(TASK_SPEC)


@hookimpl
def register_models(register):
    register(MODEL_SPEC)
