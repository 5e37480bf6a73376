"""UDPOS and PAN-X: token tagging, scored with seqeval F1 as XTREME scores them.

UDPOS (Universal Dependencies v2, part-of-speech tags): trained on English, tested in 33
languages. Local files are UD's CoNLL-U, one per treebank, ``<lang>_<treebank>-ud-<split>.conllu``
anywhere under the folder (every treebank of a language is used, as XTREME does); the tag is
UPOS. A multi-word token is one word, its surface form, as XTREME converts UD (``read_conllu``,
``fused_tag``; docs/udpos.md); ``--setting ud_tokens=split`` reads the treebank's syntactic words
instead. Empty nodes are skipped. XTREME-R (Ruder et al., 2021) adds lt, pl,
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

from harness.api import HubSource, LocalSource, PublishedSizes, TaskSpec, DataFormatError

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


#: XTREME's tie-break among the highest sub-tokens of a multi-word token, by language (an earlier
#: tag wins); from google-research/xtreme ``third_party/ud-conversion-tools/conllu_to_conll.py``
#: (``POSRANKPRECEDENCEDICT``), which its ``scripts/download_data.sh`` runs with ``--lang <lang>
#: --replace_subtokens_with_fused_forms``. German's own list is commented out there, so German uses
#: the default; "CONJ" is the UD v1 name and matches no UD v2 tag.
UD_POS_PRECEDENCE = {
    "default": ("VERB", "NOUN", "PROPN", "PRON", "ADJ", "NUM", "ADV", "INTJ", "AUX", "ADP", "DET", "PART", "CCONJ",
                "SCONJ", "X", "PUNCT"),
    "es": ("VERB", "AUX", "PRON", "ADP", "DET"),
    "fr": ("VERB", "AUX", "PRON", "NOUN", "ADJ", "ADV", "ADP", "DET", "PART", "SCONJ", "CONJ"),
    "it": ("VERB", "AUX", "ADV", "PRON", "ADP", "DET", "INTJ"),
}


def fused_tag(span: list[int], tags: dict[int, str], parents: dict[int, set[int]], lang: str) -> str:
    """The tag XTREME gives a multi-word token whose syntactic words are ``span`` (ids).

    As XTREME's converter does: the span's head is the word with the fewest ancestors in the
    sentence's graph (basic heads and the integer heads of the DEPS column); a tie among the
    highest words goes to the tag earliest in ``UD_POS_PRECEDENCE`` for the language (then to the
    earlier word). XTREME's script fails on a tie with a tag missing from the list; here such a
    tag ranks after every listed one.
    """
    def ancestors(node: int) -> int:
        seen: set[int] = set()
        todo = list(parents.get(node, ()))
        while todo:
            current = todo.pop()
            if current not in seen:
                seen.add(current)
                todo.extend(parents.get(current, ()))
        seen.discard(node)  # a cycle through the node itself
        return len(seen)

    depth = {word: ancestors(word) for word in span}
    highest = [word for word in span if depth[word] == min(depth.values())]
    if len(highest) == 1:
        return tags[highest[0]]
    order = UD_POS_PRECEDENCE.get(lang, UD_POS_PRECEDENCE["default"])
    rank = {tag: position for position, tag in enumerate(order)}
    return tags[min(highest, key=lambda word: (rank.get(tags[word], len(order)), word))]


def read_conllu(path: Path, split: str, lang: str):
    """Sentences of a UD CoNLL-U file as XTREME has them, with the treebank's own words beside.

    ``words``/``tags``: XTREME's reading (``conllu_to_conll.py --replace_subtokens_with_fused_forms``):
    a multi-word token (a range line ``3-4 zum`` over ``3 zu ADP`` and ``4 dem DET``) is ONE word,
    its surface form, tagged by ``fused_tag``. ``split_words``/``split_tags``, only in a sentence
    with a multi-word token: the syntactic words (``zu``, ``dem``) with their own tags, which the
    tagging kind reads with ``--setting ud_tokens=split``. Empty nodes (``8.1``) are skipped.
    """
    rows: list[tuple[int, list[str]]] = []

    def sentence():
        words: dict[int, tuple[str, str]] = {}
        parents: dict[int, set[int]] = {}
        ranges: dict[int, tuple[int, str]] = {}
        for number, fields in rows:
            ident = fields[0]
            if "." in ident:
                continue  # an empty node: not a word of the sentence
            if "-" in ident:
                first, _, last = ident.partition("-")
                if not (first.isdigit() and last.isdigit() and int(first) <= int(last)):
                    raise DataFormatError(path, number, f"bad multi-word token range {ident!r}")
                ranges[int(first)] = (int(last), fields[1])
                continue
            if not ident.isdigit():
                raise DataFormatError(path, number, f"bad word id {ident!r}")
            if fields[3] not in UPOS:
                raise DataFormatError(path, number, f"unknown UPOS tag {fields[3]!r}")
            word = int(ident)
            words[word] = (fields[1], fields[3])
            heads = {int(fields[6])} if fields[6].isdigit() else set()
            if fields[8] != "_":  # enhanced heads count as XTREME's converter counts them
                heads |= {int(h) for h, _, _ in (d.partition(":") for d in fields[8].split("|")) if h.isdigit()}
            parents[word] = heads
        order = list(words)
        split_words, split_tags = [words[w][0] for w in order], [words[w][1] for w in order]
        if not ranges:
            return {"words": split_words, "tags": split_tags}
        tags = {w: tag for w, (_, tag) in words.items()}
        fused_words: list[str] = []
        fused_tags: list[str] = []
        position = 0
        while position < len(order):
            word = order[position]
            last, form = ranges.get(word, (word, None))
            span = list(range(word, last + 1))
            if form is not None and order[position:position + len(span)] == span:
                fused_words.append(form)
                fused_tags.append(fused_tag(span, tags, parents, lang))
                position += len(span)
            else:
                fused_words.append(words[word][0])
                fused_tags.append(words[word][1])
                position += 1
        return {"words": fused_words, "tags": fused_tags, "split_words": split_words, "split_tags": split_tags}

    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            line = line.rstrip("\r\n")
            if not line:
                if rows:
                    example = sentence()
                    if example["words"]:
                        yield example
                rows = []
                continue
            if line.startswith("#"):
                continue
            fields = line.split("\t")
            if len(fields) != 10:
                raise DataFormatError(path, number, f"expected 10 tab-separated CoNLL-U fields, found {len(fields)}")
            rows.append((number, fields))
    if rows:
        example = sentence()
        if example["words"]:
            yield example


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
    """A google/xtreme row (``udpos.*``, ``PAN-X.*``): its tokens and tags as they are.

    For UDPOS that is NOT XTREME's reading of UD: the dataset's builder read the raw UD v2.5
    CoNLL-U itself, keeping every line with a form and a UPOS, which leaves out a multi-word
    token's range line (its UPOS is "_") and keeps its syntactic words ("zu", "dem" for "zum").
    The form is lost, so hub rows cannot be fused: ``ud_tokens`` has no effect on them
    (docs/udpos.md says what of this is verified).
    """
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
#: izhx/xtreme-r-udpos @ 7e002378… ("Update README.md", parquet, one config per language; en also has train
#: and validation): https://huggingface.co/datasets/izhx/xtreme-r-udpos/commits/7e002378cc5704114200c479db0c592c7f77f8f8
UDPOS_R_HUB = HubSource(path="izhx/xtreme-r-udpos", config="{lang}", splits={"test": "test"},
                        revision="7e002378cc5704114200c479db0c592c7f77f8f8", convert=from_udpos_r_hub)
#: WikiANN with Rahimi et al.'s splits for PAN-X's added languages (google/xtreme's ``PAN-X.*``
#: configs cover XTREME's 40); ``ner_tags`` ids are in ``NER`` order. UNVERIFIED: no commit found in
#: stored material, so main is read and its commit recorded.
PANX_R_HUB = HubSource(path="unimelb-nlp/wikiann", config="{lang}", revision=None,
                       splits={"train": "train", "dev": "validation", "test": "test"},
                       convert=_from_hub(NER, "ner_tags"), columns=("tokens", "ner_tags"),
                       label_names={"ner_tags": NER})


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
                  columns=("tokens", "pos_tags"), label_names={"pos_tags": UPOS},
                  per_language={lang: UDPOS_R_HUB for lang in UDPOS_XTREME_R}),
    sizes=(PublishedSizes(
        source="XTREME, Hu et al. 2020, Table 1 (POS: train 21,253, dev 3,974 English sentences; test 47-20,436 "
               "per language; as reprinted in Chung et al. 2021, RemBERT, Table 11)",
        counts={"train": {"en": 21253}, "dev": {"en": 3974}}),),
    hub_note="google/xtreme's udpos configs take every UD v2.5 treebank whose language name contains the "
             "language's (Greek test: 2,809 sentences, most of them Ancient Greek) and split multi-word tokens, so "
             "scores are not comparable with XTREME's; for its data pass --data-dir with the treebanks (docs/udpos.md)",
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
                  convert=_from_hub(NER, "ner_tags"), columns=("tokens", "ner_tags"), label_names={"ner_tags": NER},
                  per_language={lang: PANX_R_HUB for lang in PANX_XTREME_R}),
    sizes=(PublishedSizes(
        source="XTREME, Hu et al. 2020, Table 1 (NER: train 20,000, dev 10,000 English sentences; test 1,000-10,000 "
               "per language; as reprinted in Chung et al. 2021, RemBERT, Table 11)",
        counts={"train": {"en": 20000}, "dev": {"en": 10000}}),),
    defaults={"epochs": 10, "batch_size": 32, "max_length": 256, "lr": 1e-5},
    target_dev=True,
)
