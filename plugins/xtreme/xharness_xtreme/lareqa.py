"""LAReQA (Roy et al., 2020): language-agnostic answer retrieval on XQuAD-R, trained on SQuAD v1.1.

A dual encoder (kind ``dual_encoder``) learns to rank a question's answer *sentence* above every
other sentence. Training pairs come from SQuAD v1.1 (XTREME-R's ``scripts/train_lareqa.sh``):
one per question, its answer sentence being the sentence of the paragraph that holds the first
answer's ``answer_start``; the sentences come from our splitter (``xharness_xtreme.sentences``,
not XTREME's ``sb_sed``), and a question whose answer does not lie inside one sentence is skipped
(one log line per file says how many).

Test: XQuAD-R, the 11-way parallel XQuAD with sentence breaks. Every sentence of every language
is a candidate, ``{lang}_{p}_{s}`` (``p`` counts the file's paragraphs from 1, ``s`` the
paragraph's sentences from 0), listing in ``answers`` the ids of the questions whose first
answer starts in it; each question is a query whose ``key`` is its id. The ids are shared by the
11 files, so a question's right answers are its answer sentences in every language, and the
candidates of all languages form one pool.

Local files, under ``--data-dir`` (or its ``squad/`` or ``lareqa/`` folder): SQuAD's
``train-v1.1.json`` and ``dev-v1.1.json``; the lareqa repository's ``xquad-r/<lang>.json``
(SQuAD JSON whose paragraphs add ``sentences`` and ``sentence_breaks``, ``[start, end)``
offsets; without them our splitter is used).

The hub copy of XQuAD-R (``google-research-datasets/xquad_r``) dropped the sentence breaks: its
candidates come from our splitter, with ids ``{lang}_{sha1(context)[:10]}_{s}``, and so differ
from the released pool; ``--data-dir`` with the released files gives the official one.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

from harness.api import HubSource, LocalSource, TaskSpec, DataFormatError
from xharness_xtreme.sentences import sentence_at, sentence_spans

log = logging.getLogger(__name__)

SAMPLES = Path(__file__).resolve().parent / "samples"
LANGUAGES = ("ar", "de", "el", "en", "es", "hi", "ru", "th", "tr", "vi", "zh")
SQUAD_FILES = {"train": "train-v1.1.json", "dev": "dev-v1.1.json"}


def lareqa_file(split: str, lang: str) -> str:
    return SQUAD_FILES[split] if split in SQUAD_FILES else f"xquad-r/{lang}.json"


def _load_json(path: Path):
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except json.JSONDecodeError as exc:
        raise DataFormatError(path, exc.lineno, f"not valid JSON ({exc.msg})") from None
    return data["data"] if isinstance(data, dict) and "data" in data else data


def _answer_sentence(context: str, spans, answer: dict) -> int | None:
    """The sentence holding the answer: the one where ``answer_start`` lies, if the answer text is
    inside it; None otherwise."""
    start, text = int(answer["answer_start"]), str(answer["text"]).strip()
    index = sentence_at(spans, start)
    if index is None or not text:
        return None
    begin, end = spans[index]
    return index if text in context[begin:end] else None


def pair_examples(articles, lang: str = "en", path: object = "SQuAD") -> list[dict]:
    """SQuAD articles → training pairs ``{query, candidate, candidate_context, candidate_id}``."""
    pairs: list[dict] = []
    skipped = 0
    for a, article in enumerate(articles):
        for p, paragraph in enumerate(article["paragraphs"]):
            context = paragraph["context"]
            spans = sentence_spans(context, lang)
            for qa in paragraph["qas"]:
                answers = qa.get("answers") or []
                s = _answer_sentence(context, spans, answers[0]) if answers else None
                if s is None:
                    skipped += 1
                    continue
                begin, end = spans[s]
                pairs.append({"query": qa["question"], "candidate": context[begin:end], "candidate_context": context,
                              "candidate_id": f"{a}:{p}:{s}"})
    if skipped:
        log.warning("%s: skipped %d question(s) whose answer lies in no single sentence", path, skipped)
    return pairs


def read_squad_pairs(path: Path, split: str, lang: str) -> list[dict]:
    articles = _load_json(path)
    try:
        return pair_examples(articles, lang, path)
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        raise DataFormatError(path, None, f"not SQuAD JSON (missing or bad {exc})") from None


def _breaks(paragraph: dict, lang: str) -> list[tuple[int, int]]:
    given = paragraph.get("sentence_breaks")
    if given is None:
        return sentence_spans(paragraph["context"], lang)
    return [(int(start), int(end)) for start, end in given]


def xquad_r_examples(articles, lang: str) -> list[dict]:
    """XQuAD-R articles of one language → candidates (one per sentence) and queries (one per question)."""
    examples: list[dict] = []
    counter = 0
    for article in articles:
        for paragraph in article["paragraphs"]:
            counter += 1
            context = paragraph["context"]
            spans = _breaks(paragraph, lang)
            answers: list[list[str]] = [[] for _ in spans]
            queries = []
            for qa in paragraph["qas"]:
                if qa.get("answers"):
                    s = sentence_at(spans, int(qa["answers"][0]["answer_start"]))
                    if s is not None:
                        answers[s].append(str(qa["id"]))
                queries.append({"query": qa["question"], "id": str(qa["id"]), "key": str(qa["id"])})
            examples.extend({"candidate": context[begin:end], "candidate_context": context,
                             "id": f"{lang}_{counter}_{s}", "answers": answers[s]}
                            for s, (begin, end) in enumerate(spans))
            examples.extend(queries)
    return examples


def read_xquad_r(path: Path, split: str, lang: str) -> list[dict]:
    articles = _load_json(path)
    try:
        return xquad_r_examples(articles, lang)
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        raise DataFormatError(path, None, f"not XQuAD-R JSON (missing or bad {exc})") from None


def read_lareqa(path: Path, split: str, lang: str) -> list[dict]:
    return read_squad_pairs(path, split, lang) if split in SQUAD_FILES else read_xquad_r(path, split, lang)


def _paragraph_id(context: str) -> str:
    return hashlib.sha1(context.encode("utf-8")).hexdigest()[:10]


def pair_from_hub(row: dict, lang: str) -> dict | None:
    """A rajpurkar/squad row → a training pair (None when its answer lies in no single sentence)."""
    context, answers = row["context"], row["answers"]
    if not answers["answer_start"]:
        return None
    spans = sentence_spans(context, lang)
    s = _answer_sentence(context, spans, {"answer_start": answers["answer_start"][0], "text": answers["text"][0]})
    if s is None:
        return None
    begin, end = spans[s]
    return {"query": row["question"], "candidate": context[begin:end], "candidate_context": context,
            "candidate_id": f"{_paragraph_id(context)}:{s}"}


def xquad_r_from_hub(row: dict, lang: str) -> list[dict]:
    """A google-research-datasets/xquad_r row → its query and the candidates of its paragraph (split
    by our splitter); the answer sentence lists the row's id. Rows of one paragraph repeat its
    candidates with different answers: the kind merges the answers of equal ids."""
    context, answers = row["context"], row["answers"]
    spans = sentence_spans(context, lang)
    s = sentence_at(spans, int(answers["answer_start"][0])) if answers["answer_start"] else None
    paragraph = _paragraph_id(context)
    qid = str(row["id"])
    candidates = [{"candidate": context[begin:end], "candidate_context": context, "id": f"{lang}_{paragraph}_{i}",
                   "answers": [qid] if i == s else []} for i, (begin, end) in enumerate(spans)]
    return [{"query": row["question"], "id": qid, "key": qid}] + candidates


# rajpurkar/squad @ 7b6d24c4…: https://huggingface.co/datasets/rajpurkar/squad/tree/7b6d24c440a36b6815f21b70d25016731768db1f
# (parquet; seen pinned in public GitHub code, stored code index: file ids 70958050843, 59542605032, and as
# the datasets cache folder squad/plain_text/0.0.0/7b6d24c…/ in 55496564768). Default config (plain_text).
SQUAD_HUB = HubSource(path="rajpurkar/squad", splits={"train": "train", "dev": "validation"},
                      revision="7b6d24c440a36b6815f21b70d25016731768db1f", convert=pair_from_hub)

LAREQA = TaskSpec(
    name="lareqa",
    kind="dual_encoder",
    granularity="retrieval",
    description="LAReQA answer-sentence retrieval on XQuAD-R (Roy et al., 2020), trained on SQuAD v1.1",
    languages=LANGUAGES,
    metric="map_at_20",
    train_language="en",
    local=LocalSource(file=lareqa_file, read=read_lareqa, roots=("", "squad", "lareqa")),
    samples=SAMPLES / "lareqa",
    hub=HubSource(path="google-research-datasets/xquad_r", config="{lang}", splits={"test": "validation"},
                  # the merged "Convert dataset to Parquet" commit (c00305ec…, pinned before, still held the
                  # loading script): https://huggingface.co/datasets/google-research-datasets/xquad_r/tree/c6be7814d83f0bf3bfdf6858c2f7bb1d779b6440
                  # (as given in the issue "Data exactly as published"; not re-checked against a stored page)
                  revision="c6be7814d83f0bf3bfdf6858c2f7bb1d779b6440",
                  convert=xquad_r_from_hub, per_split={"train": SQUAD_HUB, "dev": SQUAD_HUB}),
    # XTREME-R scripts/train_lareqa.sh (google-research/xtreme @ e23cf42): lr 2e-5, 3 epochs, batch 4 with
    # 4 accumulation steps, questions 96 tokens, answers 256 (352 in all).
    defaults={"epochs": 3, "lr": 2e-5, "batch_size": 16, "per_device_batch_size": 4, "query_max_length": 96,
              "candidate_max_length": 256, "max_length": 352},
)
