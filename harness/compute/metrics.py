"""Metrics, computed exactly as XTREME's official scorer computes them.

Pure Python (no heavy imports), so ``xharness score`` runs anywhere. Each function follows
the definition XTREME's ``evaluate.py`` uses (seqeval 1.2.2 for tagging, the SQuAD v1.1 script
for XQuAD and TyDiQA, MLQA's script for MLQA, set F1 over id pairs for BUCC) down to the order
of floating-point operations, so the numbers agree to the last digit, not just to two decimals.
"""

from __future__ import annotations

import bisect
import re
import string
import sys
import unicodedata
from collections import Counter
from collections.abc import Callable, Collection, Sequence
from functools import lru_cache

# -- classification and retrieval ---------------------------------------------------------


def accuracy(labels: Sequence[str], predictions: Sequence[str]) -> dict[str, float]:
    correct = sum(int(p == gold) for p, gold in zip(predictions, labels))
    return {"accuracy": correct / len(predictions) * 100}


def pair_f1(labels: Sequence[str], predictions: Sequence[str]) -> dict[str, float]:
    """BUCC: precision/recall/F1 of the set of predicted tab-separated id pairs."""
    gold = {tuple(line.split("\t")) for line in labels}
    found = {tuple(line.split("\t")) for line in predictions}
    correct = len(gold & found)
    if correct == 0:
        return {"f1": 0.0, "precision": 0.0, "recall": 0.0}
    precision, recall = correct / len(found), correct / len(gold)
    f1 = 2 * precision * recall / (precision + recall)
    return {"f1": f1 * 100, "precision": precision * 100, "recall": recall * 100}


def pair_counts(sources: Sequence[str], labels: Sequence[str],
                predictions: Sequence[str]) -> list[tuple[str, int, int, int]]:
    """BUCC per source sentence: (id, tp, fp, fn) of its predicted pairs against the gold set.

    One row per distinct id of ``sources`` (every source id a pair can name), in their order;
    the rows sum to ``pair_f1``'s set counts |gold ∩ found|, |found − gold| and |gold − found|.
    """
    gold = {tuple(line.split("\t")) for line in labels}
    found = {tuple(line.split("\t")) for line in predictions}
    counts = {source: [0, 0, 0] for source in sources}
    for pair in found:
        counts[pair[0]][0 if pair in gold else 1] += 1
    for pair in gold - found:
        counts[pair[0]][2] += 1
    return [(source, *c) for source, c in counts.items()]


# -- tagging: seqeval's chunking (its default, non-strict mode) -----------------------------

def _chunk_ends(prev_tag: str, tag: str, prev_type: str, type_: str) -> bool:
    if prev_tag in ("E", "S"):
        return True
    if prev_tag in ("B", "I") and tag in ("B", "S", "O"):
        return True
    return prev_tag not in ("O", ".") and prev_type != type_


def _chunk_starts(prev_tag: str, tag: str, prev_type: str, type_: str) -> bool:
    if tag in ("B", "S"):
        return True
    if prev_tag in ("E", "S", "O") and tag in ("E", "I"):
        return True
    return tag not in ("O", ".") and prev_type != type_


def entities(sentences: Sequence[Sequence[str]]) -> set[tuple[str, int, int]]:
    """Chunks (type, first, last) over the sentences joined with an ``O`` after each.

    As in seqeval, a tag's first character is its position marker and the rest after the
    first ``-`` its type, so an ``I-`` tag after ``O`` starts an entity, and tags without a
    prefix (UD's ``NOUN``, ``SCONJ``…) are read character-wise exactly as seqeval reads them.
    """
    flat = [tag for sentence in sentences for tag in [*sentence, "O"]]
    found: set[tuple[str, int, int]] = set()
    prev_tag, prev_type, begin = "O", "", 0
    for i, chunk in enumerate([*flat, "O"]):
        tag = chunk[0]
        type_ = chunk[1:].split("-", maxsplit=1)[-1] or "_"
        if _chunk_ends(prev_tag, tag, prev_type, type_):
            found.add((prev_type, begin, i - 1))
        if _chunk_starts(prev_tag, tag, prev_type, type_):
            begin = i
        prev_tag, prev_type = tag, type_
    return found


def entity_counts(labels: Sequence[Sequence[str]], predictions: Sequence[Sequence[str]]) -> list[tuple[int, int, int]]:
    """Per sentence (tp, fp, fn) of entities, exactly as ``seqeval_prf`` counts them.

    The entities are read off the whole corpus at once, as seqeval reads them, and each is
    given to the sentence it starts in: seqeval's chunker can carry a chunk over the ``O`` it
    puts between sentences (a prefix-less one-letter tag such as UD's ``X`` has the ``O``'s
    type), so chunking each sentence on its own would not always give its counts. The sums over
    sentences are seqeval's |gold ∩ found|, |found − gold| and |gold − found|.
    """
    starts = []
    position = 0
    for sentence in labels:
        starts.append(position)
        position += len(sentence) + 1  # the O after each sentence
    gold, found = entities(labels), entities(predictions)
    counts = [[0, 0, 0] for _ in labels]

    def sentence_of(entity: tuple[str, int, int]) -> int:
        return bisect.bisect_right(starts, entity[1]) - 1

    for entity in found:
        counts[sentence_of(entity)][0 if entity in gold else 1] += 1
    for entity in gold - found:
        counts[sentence_of(entity)][2] += 1
    return [tuple(c) for c in counts]


def seqeval_prf(labels: Sequence[Sequence[str]], predictions: Sequence[Sequence[str]]) -> dict[str, float]:
    """Micro precision, recall and F1 over entities, in percent (seqeval 1.2.2 defaults)."""
    gold, found = entities(labels), entities(predictions)
    correct = len(gold & found)
    precision = correct / len(found) if found else 0.0
    recall = correct / len(gold) if gold else 0.0
    denominator = precision + recall
    f1 = 2 * precision * recall / (denominator if denominator else 1.0)
    return {"f1": f1 * 100, "precision": precision * 100, "recall": recall * 100}


# -- extractive QA ---------------------------------------------------------------------------

_ASCII_PUNCTUATION = set(string.punctuation)


def squad_normalize(text: str) -> str:
    """SQuAD v1.1: lower case, drop ASCII punctuation, English articles and extra spaces."""
    text = "".join(ch for ch in text.lower() if ch not in _ASCII_PUNCTUATION)
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


@lru_cache(maxsize=1)
def _unicode_punctuation() -> frozenset[str]:
    return frozenset(chr(i) for i in range(sys.maxunicode) if unicodedata.category(chr(i)).startswith("P")) | frozenset(
        string.punctuation)


#: MLQA's article lists per answer language (Lewis et al., 2020, evaluation script).
_MLQA_ARTICLES = {
    "en": r"\b(a|an|the)\b",
    "es": r"\b(un|una|unos|unas|el|la|los|las)\b",
    "vi": r"\b(của|là|cái|chiếc|những)\b",
    "de": r"\b(ein|eine|einen|einem|eines|einer|der|die|das|den|dem|des)\b",
    "ar": r"\sال^|ال",
    "hi": None,
    "zh": None,
}
_MLQA_MIXED_SEGMENTATION = {"zh"}
_CJK = re.compile(r"[\u4e00-\u9fa5]")


def _mixed_segmentation(text: str, punctuation: frozenset[str]) -> list[str]:
    """Chinese characters and punctuation become tokens of their own; the rest splits on spaces."""
    tokens: list[str] = []
    pending = ""
    for char in text:
        if _CJK.search(char) or char in punctuation:
            tokens.extend(pending.split())
            pending = ""
            tokens.append(char)
        else:
            pending += char
    tokens.extend(pending.split())
    return tokens


def mlqa_normalize(text: str, lang: str) -> str:
    """MLQA's language-aware normalisation: Unicode punctuation, the language's articles,
    and character segmentation for Chinese."""
    if lang not in _MLQA_ARTICLES:
        raise ValueError(f"MLQA's scorer knows no answer language {lang!r}")
    punctuation = _unicode_punctuation()
    text = "".join(ch for ch in text.lower() if ch not in punctuation)
    if _MLQA_ARTICLES[lang]:
        text = re.sub(_MLQA_ARTICLES[lang], " ", text)
    tokens = _mixed_segmentation(text, punctuation) if lang in _MLQA_MIXED_SEGMENTATION else text.split()
    return " ".join(t for t in tokens if t.strip() != "")


def _token_f1(prediction: str, truth: str) -> float:
    predicted, gold = prediction.split(), truth.split()
    same = sum((Counter(predicted) & Counter(gold)).values())
    if same == 0:
        return 0
    precision, recall = 1.0 * same / len(predicted), 1.0 * same / len(gold)
    return (2 * precision * recall) / (precision + recall)


def qa_em_f1(dataset: list[dict], predictions: dict[str, str], normalize: Callable[[str], str]) -> dict[str, float]:
    """Exact match and token F1 over SQuAD-format ``dataset`` (its ``data`` list).

    Every question counts; one without a prediction scores 0, as in the official scripts.
    """
    exact = f1 = total = 0.0
    for article in dataset:
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                total += 1
                if qa["id"] not in predictions:
                    continue
                prediction = normalize(predictions[qa["id"]])
                truths = [normalize(answer["text"]) for answer in qa["answers"]]
                exact += max(prediction == truth for truth in truths)
                f1 += max(_token_f1(prediction, truth) for truth in truths)
    return {"exact_match": 100.0 * exact / total, "f1": 100.0 * f1 / total}


def qa_per_question(dataset: list[dict], predictions: dict[str, str],
                    normalize: Callable[[str], str]) -> list[tuple[str, float, int]]:
    """(id, F1 in 0–1, exact match 0/1) of every question, in order, as ``qa_em_f1`` scores each;
    a question without a prediction scores 0 and 0."""
    scored = []
    for article in dataset:
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                if qa["id"] not in predictions:
                    scored.append((qa["id"], 0, 0))
                    continue
                prediction = normalize(predictions[qa["id"]])
                truths = [normalize(answer["text"]) for answer in qa["answers"]]
                scored.append((qa["id"], max(_token_f1(prediction, truth) for truth in truths),
                               int(max(prediction == truth for truth in truths))))
    return scored


def squad_v2_per_question(dataset: list[dict], predictions: dict[str, str]) -> list[tuple[str, float, int]]:
    """(id, F1 in 0–1, exact match 0/1) per question id, as ``squad_v2_em_f1`` scores each (its
    scores are kept by id, so a repeated id counts once, with its last entry, as there)."""
    scores: dict[str, tuple[float, int]] = {}
    for article in dataset:
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                golds = [a["text"] for a in qa["answers"] if squad_normalize(a["text"])] or [""]
                if qa["id"] not in predictions:
                    scores[qa["id"]] = (0.0, 0)
                    continue
                predicted = squad_normalize(predictions[qa["id"]])
                scores[qa["id"]] = (max(_v2_f1(predicted, squad_normalize(g)) for g in golds),
                                    int(max(squad_normalize(g) == predicted for g in golds)))
    return [(ident, f1, em) for ident, (f1, em) in scores.items()]


def squad_em_f1(dataset: list[dict], predictions: dict[str, str], lang: str | None = None) -> dict[str, float]:
    return qa_em_f1(dataset, predictions, squad_normalize)


def mlqa_em_f1(dataset: list[dict], predictions: dict[str, str], lang: str) -> dict[str, float]:
    return qa_em_f1(dataset, predictions, lambda text: mlqa_normalize(text, lang))



def squad_v2_em_f1(dataset: list[dict], predictions: dict[str, str], lang: str | None = None) -> dict[str, float]:
    """SQuAD 2.0: unanswerable questions are right when the prediction is empty.

    As the official v2.0 script: gold answers that normalise to nothing are dropped, a question
    left with none has the single gold answer ""; F1 between two empty token lists is 1 and
    between an empty and a non-empty one 0; a missing prediction scores 0. Also reports the
    scores over answerable (``HasAns_``) and unanswerable (``NoAns_``) questions.
    """
    scores: dict[str, tuple[float, float, bool]] = {}
    for article in dataset:
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                golds = [a["text"] for a in qa["answers"] if squad_normalize(a["text"])] or [""]
                has_answer = golds != [""]
                if qa["id"] not in predictions:
                    scores[qa["id"]] = (0.0, 0.0, has_answer)
                    continue
                predicted = squad_normalize(predictions[qa["id"]])
                exact = max(float(squad_normalize(g) == predicted) for g in golds)
                f1 = max(_v2_f1(predicted, squad_normalize(g)) for g in golds)
                scores[qa["id"]] = (exact, f1, has_answer)

    def mean(index: int, subset) -> float:
        values = [s[index] for s in scores.values() if subset(s)]
        return 100.0 * sum(values) / len(values) if values else 0.0

    result = {"exact_match": mean(0, lambda s: True), "f1": mean(1, lambda s: True)}
    for name, keep in (("HasAns", lambda s: s[2]), ("NoAns", lambda s: not s[2])):
        if any(keep(s) for s in scores.values()):
            result[f"{name}_exact"] = mean(0, keep)
            result[f"{name}_f1"] = mean(1, keep)
    return result


def _v2_f1(prediction: str, truth: str) -> float:
    predicted, gold = prediction.split(), truth.split()
    if not predicted or not gold:
        return float(predicted == gold)
    return _token_f1(prediction, truth)


# -- ranking (LAReQA, Mewsli-X) --------------------------------------------------------------
#
# Each query comes with its candidates ranked best first (ids, as many as were kept, at least k)
# and the set of its relevant candidate ids. Ties in the scores are broken before these see the
# list (``harness.kinds.dual_encoder.top_k_ranked``: higher score first, then pool order), so
# every function here reads one fixed ranking.

def average_precision_at_k(ranked: Sequence[str], relevant: Collection[str], k: int = 20) -> float:
    """AP@k in [0, 1]: the mean, over the relevant items, of precision at each rank ≤ k that holds
    one; the sum is divided by min(k, number of relevant items), so a query whose relevant items
    all lead the list scores 1 even when it has more of them than k."""
    if k < 1:
        raise ValueError(f"k must be at least 1, not {k}")
    if not relevant:
        return 0.0
    hits, total = 0, 0.0
    for rank, candidate in enumerate(ranked[:k], start=1):
        if candidate in relevant:
            hits += 1
            total += hits / rank
    return total / min(k, len(relevant))


def reciprocal_rank_at_k(ranked: Sequence[str], relevant: Collection[str], k: int = 20) -> float:
    """1 / rank of the first relevant item if it is within the first k, else 0 (MRR@k per query).
    With one relevant item per query this equals AP@k."""
    for rank, candidate in enumerate(ranked[:k], start=1):
        if candidate in relevant:
            return 1.0 / rank
    return 0.0


def recall_at_k(ranked: Sequence[str], relevant: Collection[str], k: int) -> float:
    """Share of the relevant items found among the first k."""
    if not relevant:
        return 0.0
    return sum(1 for candidate in ranked[:k] if candidate in relevant) / len(relevant)


def accuracy_at_1(ranked: Sequence[str], relevant: Collection[str]) -> float:
    """1 if the top-ranked item is relevant, else 0 (precision@1)."""
    return 1.0 if ranked and ranked[0] in relevant else 0.0


def map_at_k(rankings: Sequence[Sequence[str]], relevants: Sequence[Collection[str]], k: int = 20) -> float:
    """mAP@k in percent over queries."""
    if not rankings:
        return float("nan")
    return 100.0 * sum(average_precision_at_k(r, g, k) for r, g in zip(rankings, relevants)) / len(rankings)
