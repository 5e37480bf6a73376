"""UDPOS and PAN-X: token tagging, scored with seqeval F1 as XTREME scores them.

UDPOS (Universal Dependencies v2, part-of-speech tags): trained on English, tested in 33
languages. Local files are UD's CoNLL-U, one per treebank, ``<lang>_<treebank>-ud-<split>.conllu``
anywhere under the folder (every treebank of a language is used, as XTREME does); multi-word
tokens and empty nodes are skipped, the tag is UPOS. XTREME-R (Ruder et al., 2021) adds lt, pl,
uk, wo and ro (UD v2.7 treebanks; XTREME's 33 stay on v2.5): they are ``extra_languages``,
evaluated only when asked for (``--languages xtreme-r``, ``--languages ro``), read locally in
the same layout, and from ``izhx/xtreme-r-udpos`` on the hub.

PAN-X (WikiANN with Rahimi et al.'s splits, named entities): trained on English, tested in 40
languages. Local files are ``<lang>/{train,dev,test}`` with ``<lang>:<token><TAB><tag>`` lines
and a blank line between sentences. XTREME-R adds qu, pl, uk, az, lt, pa, gu and ro, as extra
languages: local files in the same layout, on the hub from ``unimelb-nlp/wikiann``.
"""

from __future__ import annotations

from pathlib import Path

from harness import HubSource, LocalSource, TaskSpec
from harness.errors import DataFormatError

SAMPLES = Path(__file__).resolve().parent / "samples"
UPOS = ("ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "INTJ", "NOUN", "NUM", "PART", "PRON", "PROPN", "PUNCT",
        "SCONJ", "SYM", "VERB", "X")
NER = ("O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC")
UD_NAMES = {
    "af": "Afrikaans", "ar": "Arabic", "bg": "Bulgarian", "de": "German", "el": "Greek", "en": "English",
    "es": "Spanish", "et": "Estonian", "eu": "Basque", "fa": "Persian", "fi": "Finnish", "fr": "French",
    "he": "Hebrew", "hi": "Hindi", "hu": "Hungarian", "id": "Indonesian", "it": "Italian", "ja": "Japanese",
    "kk": "Kazakh", "ko": "Korean", "mr": "Marathi", "nl": "Dutch", "pt": "Portuguese", "ru": "Russian",
    "ta": "Tamil", "te": "Telugu", "th": "Thai", "tl": "Tagalog", "tr": "Turkish", "ur": "Urdu",
    "vi": "Vietnamese", "yo": "Yoruba", "zh": "Chinese",
    # XTREME-R's additions (UD v2.7)
    "lt": "Lithuanian", "pl": "Polish", "uk": "Ukrainian", "wo": "Wolof", "ro": "Romanian",
}
#: XTREME-R's added languages, in its order (evaluate.py's XTREME_R_TASK2LANGS).
UDPOS_XTREME_R = ("lt", "pl", "uk", "wo", "ro")
UDPOS_LANGS = tuple(lang for lang in UD_NAMES if lang not in UDPOS_XTREME_R)
PANX_LANGS = ("en ar he vi id jv ms tl eu ml ta te af nl de el bn hi mr ur fa fr it pt es bg ru ja ka ko th sw yo my "
              "zh kk tr et fi hu").split()
PANX_XTREME_R = ("qu", "pl", "uk", "az", "lt", "pa", "gu", "ro")


def read_conllu(path: Path, split: str, lang: str):
    words: list[str] = []
    tags: list[str] = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            line = line.rstrip("\r\n")
            if not line:
                if words:
                    yield {"words": words, "tags": tags}
                words, tags = [], []
                continue
            if line.startswith("#"):
                continue
            fields = line.split("\t")
            if len(fields) != 10:
                raise DataFormatError(path, number, f"expected 10 tab-separated CoNLL-U fields, found {len(fields)}")
            if "-" in fields[0] or "." in fields[0]:
                continue  # multi-word token or empty node: its words have lines of their own
            if fields[3] not in UPOS:
                raise DataFormatError(path, number, f"unknown UPOS tag {fields[3]!r}")
            words.append(fields[1])
            tags.append(fields[3])
    if words:
        yield {"words": words, "tags": tags}


def read_panx(path: Path, split: str, lang: str):
    words: list[str] = []
    tags: list[str] = []
    prefix = f"{lang}:"
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            line = line.rstrip("\r\n")
            if not line.strip():
                if words:
                    yield {"words": words, "tags": tags}
                words, tags = [], []
                continue
            token, sep, tag = line.rpartition("\t")
            if not sep or tag not in NER:
                raise DataFormatError(path, number, f"expected {lang}:<token><TAB><tag> with a tag in {' '.join(NER)}")
            words.append(token[len(prefix):] if token.startswith(prefix) else token)
            tags.append(tag)
    if words:
        yield {"words": words, "tags": tags}


def _from_hub(names: tuple[str, ...], tag_column: str):
    def convert(row: dict, lang: str) -> dict:
        tags = [names[t] if isinstance(t, int) else t for t in row[tag_column]]
        return {"words": list(row["tokens"]), "tags": tags}

    return convert


def _first_column(row: dict, names: tuple[str, ...], what: str, dataset: str):
    for name in names:
        if name in row:
            return row[name]
    raise ValueError(f"{dataset}: no {what} column (looked for {', '.join(names)}; the row has "
                     f"{', '.join(sorted(row))})")


def from_udpos_r_hub(row: dict, lang: str) -> dict:
    """One row of ``izhx/xtreme-r-udpos``.

    Its column names are NOT verified (the dataset card lists no features; it was built by its
    ``build_parquet.py``, not read here), so this accepts the tokens as ``tokens`` or ``words``
    and the tags as ``pos_tags``, ``upos`` or ``tags``, each tag a UPOS string or an id. Ids
    are read in ``UPOS`` order (google/xtreme's ``udpos.*`` ClassLabel order); that the dataset
    uses this order, if it stores ids at all, is also unverified: an unknown tag fails loudly.
    """
    dataset = "izhx/xtreme-r-udpos"
    words = [str(w) for w in _first_column(row, ("tokens", "words"), "token", dataset)]
    tags = []
    for tag in _first_column(row, ("pos_tags", "upos", "tags"), "tag", dataset):
        if isinstance(tag, int) and not isinstance(tag, bool) and 0 <= tag < len(UPOS):
            tag = UPOS[tag]
        if tag not in UPOS:
            raise ValueError(f"{dataset} ({lang}): unknown UPOS tag {tag!r}")
        tags.append(tag)
    if len(words) != len(tags):
        raise ValueError(f"{dataset} ({lang}): {len(words)} tokens but {len(tags)} tags in one row")
    return {"words": words, "tags": tags}


#: XTREME-R's UD v2.7 data for its added languages (google/xtreme's ``udpos.*`` has only XTREME's
#: 33, on UD v2.5). Only the test split is declared: the dataset holds test sets only for the
#: languages other than English (as far as its file listing shows).
#: UNVERIFIED pin: kept from the plugin's first version; the commit was not found in stored material
#: (https://huggingface.co/datasets/izhx/xtreme-r-udpos/tree/7e002378cc5704114200c479db0c592c7f77f8f8).
UDPOS_R_HUB = HubSource(path="izhx/xtreme-r-udpos", config="{lang}", splits={"test": "test"},
                        revision="7e002378cc5704114200c479db0c592c7f77f8f8", convert=from_udpos_r_hub)
#: WikiANN with Rahimi et al.'s splits for PAN-X's added languages (google/xtreme's ``PAN-X.*``
#: configs cover XTREME's 40); ``ner_tags`` ids are in ``NER`` order. UNVERIFIED: no commit found in
#: stored material, so main is read and its commit recorded.
PANX_R_HUB = HubSource(path="unimelb-nlp/wikiann", config="{lang}", revision=None,
                       splits={"train": "train", "dev": "validation", "test": "test"},
                       convert=_from_hub(NER, "ner_tags"))


UDPOS = TaskSpec(
    name="udpos",
    kind="tagging",
    granularity="token",
    description="Universal Dependencies part-of-speech tagging (UD v2, as in XTREME)",
    languages=UDPOS_LANGS,
    extra_languages=UDPOS_XTREME_R,
    metric="f1",
    labels=UPOS,
    local=LocalSource(file=lambda split, lang: f"**/{lang}_*-ud-{split}.conllu", read=read_conllu,
                      roots=("", "udpos")),
    samples=SAMPLES / "udpos",
    # google/xtreme: UNVERIFIED, no parquet commit found in stored material; main is read, its commit recorded.
    # UD's Kazakh, Thai, Tagalog and Yoruba treebanks have no dev set (--select-on target skips them).
    hub=HubSource(path="google/xtreme", config="udpos.{name}", splits={"train": "train", "dev": "validation",
                                                                       "test": "test"},
                  revision=None, missing_splits={"dev": ("kk", "th", "tl", "yo")},
                  convert=_from_hub(UPOS, "pos_tags"), language_names=UD_NAMES,
                  per_language={lang: UDPOS_R_HUB for lang in UDPOS_XTREME_R}),
    defaults={"epochs": 10, "batch_size": 32, "max_length": 256, "lr": 1e-5},
    target_dev=True,
)

PANX = TaskSpec(
    name="panx",
    kind="tagging",
    granularity="token",
    description="PAN-X / WikiANN named entity recognition (Pan et al., 2017; Rahimi et al., 2019)",
    languages=tuple(PANX_LANGS),
    extra_languages=PANX_XTREME_R,
    metric="f1",
    labels=NER,
    local=LocalSource(file=lambda split, lang: f"{lang}/{split}", read=read_panx, roots=("", "panx")),
    samples=SAMPLES / "panx",
    # google/xtreme: UNVERIFIED, no parquet commit found in stored material; main is read, its commit recorded
    hub=HubSource(path="google/xtreme", config="PAN-X.{lang}", revision=None, splits={"train": "train", "dev": "validation",
                                                                       "test": "test"},
                  convert=_from_hub(NER, "ner_tags"),
                  per_language={lang: PANX_R_HUB for lang in PANX_XTREME_R}),
    defaults={"epochs": 10, "batch_size": 32, "max_length": 256, "lr": 1e-5},
    target_dev=True,
)
