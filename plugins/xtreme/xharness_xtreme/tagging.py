"""UDPOS and PAN-X: token tagging, scored with seqeval F1 as XTREME scores them.

UDPOS (Universal Dependencies v2, part-of-speech tags): trained on English, tested in 33
languages. Local files are UD's CoNLL-U, one per treebank, ``<lang>_<treebank>-ud-<split>.conllu``
anywhere under the folder (every treebank of a language is used, as XTREME does); multi-word
tokens and empty nodes are skipped, the tag is UPOS.

PAN-X (WikiANN with Rahimi et al.'s splits, named entities): trained on English, tested in 40
languages. Local files are ``<lang>/{train,dev,test}`` with ``<lang>:<token><TAB><tag>`` lines
and a blank line between sentences.
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
}
PANX_LANGS = ("en ar he vi id jv ms tl eu ml ta te af nl de el bn hi mr ur fa fr it pt es bg ru ja ka ko th sw yo my "
              "zh kk tr et fi hu").split()


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


UDPOS = TaskSpec(
    name="udpos",
    kind="tagging",
    description="Universal Dependencies part-of-speech tagging (UD v2, as in XTREME)",
    languages=tuple(UD_NAMES),
    metric="f1",
    labels=UPOS,
    local=LocalSource(file=lambda split, lang: f"**/{lang}_*-ud-{split}.conllu", read=read_conllu,
                      roots=("", "udpos")),
    samples=SAMPLES / "udpos",
    hub=HubSource(path="google/xtreme", config="udpos.{name}", splits={"train": "train", "dev": "validation",
                                                                       "test": "test"},
                  convert=_from_hub(UPOS, "pos_tags"), language_names=UD_NAMES),
    defaults={"epochs": 10, "batch_size": 32, "max_length": 256, "lr": 1e-5},
    target_dev=True,
)

PANX = TaskSpec(
    name="panx",
    kind="tagging",
    description="PAN-X / WikiANN named entity recognition (Pan et al., 2017; Rahimi et al., 2019)",
    languages=tuple(PANX_LANGS),
    metric="f1",
    labels=NER,
    local=LocalSource(file=lambda split, lang: f"{lang}/{split}", read=read_panx, roots=("", "panx")),
    samples=SAMPLES / "panx",
    hub=HubSource(path="google/xtreme", config="PAN-X.{lang}", splits={"train": "train", "dev": "validation",
                                                                       "test": "test"},
                  convert=_from_hub(NER, "ner_tags")),
    defaults={"epochs": 10, "batch_size": 32, "max_length": 256, "lr": 1e-5},
    target_dev=True,
)
