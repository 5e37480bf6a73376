"""Translations of XTREME's tasks for ``--transfer translate-train|translate-train-all|translate-test``.

A plugin of its own (entry point ``xtreme-translations``, shipped with xharness-xtreme), so that the
tasks' plugin, and with it every zero-shot key, stays as it is, and so that a lab can register the
output of its own MT system for a task instead (one set of translations per task).

- PAWS-X (Yang et al., 2019): the release's machine-translated training data,
  ``x-final/<lang>/translated_train.tsv``; translated test sets in ``translate-test/pawsx/<lang>/test_2k.tsv``
  (PAWS-X's columns, English text, the original ids), e.g. from XTREME's translations release
  (https://console.cloud.google.com/storage/browser/xtreme_translations) or your own MT.
- XNLI (Conneau et al., 2018): XNLI-MT 1.0's machine-translated MNLI training data,
  ``XNLI-MT-1.0/multinli/multinli.train.<lang>.tsv``.
- XQuAD: SQuAD v1.1 machine-translated into XQuAD's other ten languages, XTREME's translations
  release (``SQuAD/translate-train/``), read as ``translate-train/squad.translate.train.en-<lang>.json``.
- MLQA: SQuAD v1.1 machine-translated by MLQA's authors (Lewis et al., 2020) into ar, de, es, hi, vi
  and zh, ``mlqa-translate-train/<lang>_squad-translate-train-train-v1.1.json``.
- TyDiQA-GoldP: its English training data machine-translated into its other eight languages,
  XTREME's translations release (``TyDiQA-GoldP/translate-train/``), read as
  ``translate-train/tydiqa.translate.train.en-<lang>.json``.

The QA translations ship no bundled sample: they are read from real files only.

The bundled samples are our PAWS-X and XNLI samples rendered in the other languages (exact
translations by construction: ``tools/make_translation_samples.py``).
"""

from __future__ import annotations

from pathlib import Path

from harness.api import LocalSource, TranslationSpec, hookimpl
from xharness_xtreme.pawsx import LANGUAGES as PAWSX_LANGUAGES
from xharness_xtreme.pawsx import read_pawsx_tsv
from xharness_xtreme.xnli import LANGUAGES as XNLI_LANGUAGES
from xharness_xtreme.qa import TYDIQA, XQUAD, read_squad
from xharness_xtreme.xnli import read_xnli, xnli_file

XHARNESS_API = ">=1.1,<2"  # TranslationSpec came with harness.api 1.1

SAMPLES = Path(__file__).resolve().parent / "samples"


def pawsx_file(split: str, lang: str) -> str:
    if split == "train":
        return f"x-final/{lang}/translated_train.tsv"
    return f"translate-test/pawsx/{lang}/test_2k.tsv"


PAWSX = TranslationSpec(
    name="pawsx",
    description="PAWS-X's machine-translated training data (the release's translated_train.tsv); test sets "
                "translated into English in translate-test/pawsx/<lang>/test_2k.tsv",
    local=LocalSource(file=pawsx_file, read=read_pawsx_tsv, roots=("", "pawsx", "paws-x")),
    train_languages=tuple(lang for lang in PAWSX_LANGUAGES if lang != "en"),
    test_languages=tuple(lang for lang in PAWSX_LANGUAGES if lang != "en"),
    samples=SAMPLES / "pawsx",
    citation="Yang et al. (2019), PAWS-X, translated_train.tsv of the release; Hu et al. (2020), XTREME",
)

XNLI = TranslationSpec(
    name="xnli",
    description="XNLI-MT 1.0: MNLI's training data machine-translated into XNLI's 14 other languages",
    local=LocalSource(file=xnli_file, read=read_xnli, roots=("", "xnli")),
    train_languages=tuple(lang for lang in XNLI_LANGUAGES if lang != "en"),
    samples=SAMPLES / "xnli",
    citation="Conneau et al. (2018), XNLI, XNLI-MT 1.0",
)


#: the languages MLQA's authors translated SQuAD into
MLQA_TRANSLATED = ("ar", "de", "es", "hi", "vi", "zh")


def mlqa_translation(split: str, lang: str) -> str:
    return f"mlqa-translate-train/{lang}_squad-translate-train-{split}-v1.1.json"


def xtreme_translation(dataset: str):
    """A file of XTREME's translations release: ``translate-train/<dataset>.translate.train.en-<lang>.json``."""
    def file(split: str, lang: str) -> str:
        return f"translate-train/{dataset}.translate.train.en-{lang}.json"
    return file


QA = (
    TranslationSpec(
        name="xquad",
        description="SQuAD v1.1 machine-translated into XQuAD's other ten languages (XTREME's translations)",
        local=LocalSource(file=xtreme_translation("squad"), read=read_squad, roots=("", "squad", "xquad", "SQuAD")),
        train_languages=tuple(lang for lang in XQUAD.languages if lang != "en"),
        citation="Hu et al. (2020), XTREME, translations release"),
    TranslationSpec(
        name="mlqa",
        description="SQuAD v1.1 machine-translated into ar, de, es, hi, vi and zh (MLQA's translate-train release)",
        local=LocalSource(file=mlqa_translation, read=read_squad, roots=("", "mlqa", "squad")),
        train_languages=MLQA_TRANSLATED,
        citation="Lewis et al. (2020), MLQA, mlqa-translate-train"),
    TranslationSpec(
        name="tydiqa",
        description="TyDiQA-GoldP's English training data machine-translated into its other eight languages "
                    "(XTREME's translations)",
        local=LocalSource(file=xtreme_translation("tydiqa"), read=read_squad,
                          roots=("", "tydiqa", "TyDiQA-GoldP")),
        train_languages=tuple(lang for lang in TYDIQA.languages if lang != "en"),
        citation="Hu et al. (2020), XTREME, translations release"),
)


@hookimpl
def register_translations(register):
    register(PAWSX)
    register(XNLI)
    for spec in QA:
        register(spec)
