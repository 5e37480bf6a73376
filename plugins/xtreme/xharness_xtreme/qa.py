"""XQuAD, MLQA and TyDiQA-GoldP: extractive QA, trained in English, tested zero-shot.

XQuAD (Artetxe et al., 2020; 11 languages) and MLQA (Lewis et al., 2020; 7 languages, context
and question in the same language) train on SQuAD v1.1 and select on its dev set. TyDiQA-GoldP
(Clark et al., 2020; 9 languages) trains on its English training questions and selects on its
English dev questions; its dev set is XTREME's test set. All files are SQuAD v1.1 JSON; TyDiQA's
hold every language, told apart by the language name that starts each question id.
Scores: SQuAD F1/EM (MLQA: MLQA's language-aware normalisation); the task score is their mean.
XTREME-R (Ruder et al., 2021) adds Romanian to XQuAD: an extra language, evaluated only when
asked for (``--languages ro`` or ``--languages xtreme-r``), read locally from ``xquad.ro.json``
beside the others and on the hub from ``google/xquad`` (``google/xtreme`` has XTREME's 11).
"""

from __future__ import annotations

from pathlib import Path

from harness.api import HubSource, LocalSource, PublishedSizes, TaskSpec, read_squad_json

SAMPLES = Path(__file__).resolve().parent / "samples"
SQUAD_FILES = {"train": "train-v1.1.json", "dev": "dev-v1.1.json"}
TYDI_NAMES = {"en": "english", "ar": "arabic", "bn": "bengali", "fi": "finnish", "id": "indonesian",
              "ko": "korean", "ru": "russian", "sw": "swahili", "te": "telugu"}
DEFAULTS = {"epochs": 2, "batch_size": 16, "max_length": 384, "lr": 1e-5}


def read_squad(path: Path, split: str, lang: str):
    yield from read_squad_json(path)


def read_tydiqa(path: Path, split: str, lang: str):
    yield from read_squad_json(path, id_prefix=f"{TYDI_NAMES[lang]}-")


def from_hub(row: dict, lang: str) -> dict:
    answers = row["answers"]
    return {"id": row["id"], "question": row["question"], "context": row["context"],
            "answers": [{"text": t, "answer_start": int(s)} for t, s in zip(answers["text"], answers["answer_start"])]}


def from_tydiqa_hub(row: dict, lang: str) -> dict | None:
    return from_hub(row, lang) if row["id"].startswith(f"{TYDI_NAMES[lang]}-") else None


def mlqa_file(split: str, lang: str) -> str:
    """MLQA's files; English dev is SQuAD's (the protocol's selection set), other languages' dev
    MLQA's own (for --select-on)."""
    if split == "test" or (split == "dev" and lang != "en"):
        return f"MLQA_V1/{split}/{split}-context-{lang}-question-{lang}.json"
    return SQUAD_FILES[split]


# rajpurkar/squad @ 7b6d24c4…: https://huggingface.co/datasets/rajpurkar/squad/tree/7b6d24c440a36b6815f21b70d25016731768db1f
# (parquet; seen pinned in public GitHub code, stored code index: file ids 70958050843, 59542605032, and as
# the datasets cache folder squad/plain_text/0.0.0/7b6d24c…/ in 55496564768). Default config (plain_text).
SQUAD_HUB = HubSource(path="rajpurkar/squad", splits={"train": "train", "dev": "validation"}, convert=from_hub,
                      revision="7b6d24c440a36b6815f21b70d25016731768db1f", columns=("id", "question", "context", "answers"))
#: SQuAD v1.1 as the QA tasks train and select on it.
SQUAD_SIZES = PublishedSizes(
    source="SQuAD v1.1 (Rajpurkar et al. 2016): train 87,599, dev 10,570 questions, as the google/xtreme card's SQuAD "
           "config states them (https://huggingface.co/datasets/google/xtreme/commit/dc5fae6ebaebb7fe88aee8ac98eab4755ad93df0); "
           "XTREME's Table 1 gives the same train count",
    counts={"train": {"en": 87599}, "dev": {"en": 10570}})
#: XTREME-R's added XQuAD language(s), in its order.
XQUAD_XTREME_R = ("ro",)
#: XQuAD as released (``xquad.<lang>``), for the languages google/xtreme's ``XQuAD.*`` lacks.
# google/xquad @ 51adfef1…: https://huggingface.co/datasets/google/xquad/tree/51adfef1c1287aab1d2d91b5bead9bcfb9c68583,
# MTEB's pin (https://github.com/embeddings-benchmark/mteb/blob/a663373c910d64f8401c5873569592c7f3906eaa/mteb/tasks/retrieval/multilingual/x_qu_ad_retrieval.py),
# loaded there without remote code (parquet form inferred, not seen on a stored hub page)
XQUAD_R_HUB = HubSource(path="google/xquad", config="xquad.{lang}", splits={"test": "validation"}, convert=from_hub,
                        revision="51adfef1c1287aab1d2d91b5bead9bcfb9c68583", columns=("id", "question", "context", "answers"))

XQUAD = TaskSpec(
    name="xquad",
    kind="span_qa",
    granularity="span",
    description="XQuAD cross-lingual QA (Artetxe et al., 2020), trained on SQuAD v1.1",
    languages=("en", "es", "de", "el", "ru", "tr", "ar", "vi", "th", "zh", "hi"),
    extra_languages=XQUAD_XTREME_R,
    metric="squad",
    local=LocalSource(file=lambda split, lang: SQUAD_FILES.get(split) or f"xquad.{lang}.json",
                      read=read_squad, roots=("", "squad", "xquad")),
    samples=SAMPLES,
    # google/xtreme: UNVERIFIED, no parquet commit found in stored material (only a script-era README at
    # https://huggingface.co/datasets/google/xtreme/raw/34615c6abbc47920f11b596880590909730b02ef/README.md);
    # the default branch is read and its commit recorded (tests/test_hub_pins.py lists it).
    hub=HubSource(path="google/xtreme", config="XQuAD.{lang}", splits={"test": "validation"}, convert=from_hub,
                  revision=None, columns=("id", "question", "context", "answers"),
                  per_split={"train": SQUAD_HUB, "dev": SQUAD_HUB},
                  per_language={lang: XQUAD_R_HUB for lang in XQUAD_XTREME_R}),
    sizes=(SQUAD_SIZES, PublishedSizes(
        source="XQuAD (Artetxe et al. 2020): 240 paragraphs and 1,190 question-answer pairs in each language "
               "(https://github.com/google-deepmind/xquad README; XTREME's Table 1: test 1,190)",
        counts={"test": {"*": 1190}})),
    defaults=DEFAULTS,
)

MLQA = TaskSpec(
    name="mlqa",
    kind="span_qa",
    granularity="span",
    description="MLQA (Lewis et al., 2020), trained on SQuAD v1.1",
    languages=("en", "es", "de", "ar", "hi", "vi", "zh"),
    metric="mlqa",
    local=LocalSource(file=mlqa_file, read=read_squad, roots=("", "squad", "mlqa")),
    samples=SAMPLES,
    # google/xtreme: unverified, unpinned (see XQUAD above)
    hub=HubSource(path="google/xtreme", config="MLQA.{lang}.{lang}", splits={"test": "test"}, convert=from_hub,
                  revision=None, columns=("id", "question", "context", "answers"),
                  per_split={"train": SQUAD_HUB, "dev": SQUAD_HUB}),
    defaults=DEFAULTS,
    target_dev="local",  # the hub source reads SQuAD's dev set for every language
    sizes=(SQUAD_SIZES, PublishedSizes(
        source="MLQA (Lewis et al. 2020), test questions per language as its release README's table gives them "
               "(https://github.com/facebookresearch/MLQA); XTREME's Table 1: test 4,517-11,590",
        counts={"test": {"en": 11590, "de": 4517, "es": 5254, "ar": 5335, "zh": 5137, "vi": 5495, "hi": 4918}})),
)

TYDIQA = TaskSpec(
    name="tydiqa",
    kind="span_qa",
    granularity="span",
    description="TyDiQA-GoldP (Clark et al., 2020), trained on its English questions",
    languages=tuple(TYDI_NAMES),
    metric="squad",
    local=LocalSource(file=lambda split, lang: "tydiqa-goldp-v1.1-train.json" if split == "train"
                      else "tydiqa-goldp-v1.1-dev.json", read=read_tydiqa, roots=("", "tydiqa")),
    samples=SAMPLES / "tydiqa",
    # google/xtreme: unverified, unpinned (see XQUAD above)
    # one config holds every language (train: 49,881 questions, of which XTREME trains on the 3,696 English ones)
    hub=HubSource(path="google/xtreme", config="tydiqa", revision=None, splits={"train": "train", "dev": "validation",
                                                                "test": "validation"}, convert=from_tydiqa_hub,
                  columns=("id", "question", "context", "answers")),
    sizes=(PublishedSizes(
        source="TyDi QA GoldP dev questions per language (XTREME's test sets), as the TensorFlow Datasets catalog "
               "page tydi_qa gives them (https://www.tensorflow.org/datasets/catalog/tydi_qa); they add up to 5,077",
        counts={"test": {"ar": 921, "bn": 113, "en": 440, "fi": 782, "id": 565, "ko": 276, "ru": 812, "sw": 499,
                          "te": 669}}),),
    defaults=DEFAULTS,
)
