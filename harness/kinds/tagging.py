"""Token tagging (UDPOS, PAN-X, CCG): one tag per word.

The first sub-word of each word carries the word's label; the other sub-words are ignored by
the loss (-100). Two settings of the kind (``--setting NAME=VALUE``, in the run's key, its
record and the feature cache's key; docs/udpos.md):

* ``label_piece``: ``first`` (XTREME's featurisation, the default) labels the first sub-word,
  even a bare "▁" that XLM-R's sentencepiece puts before most Chinese and Japanese words;
  ``first_nonempty`` labels the word's first sub-word that is not bare whitespace (the first
  one when all are).
* ``ud_tokens``: ``fused`` (the default) tags the words a reader gives in ``words``/``tags``
  (UDPOS: XTREME's fused multi-word tokens); ``split`` reads an example's ``split_words``/
  ``split_tags`` where it has them (UDPOS: the treebank's syntactic words, "zu dem" for "zum").
 A sentence longer than the maximum length is cut into consecutive windows of
whole words, so every word is predicted (nothing is truncated). Predictions are mapped back from
windows to words, and scored with seqeval F1 as XTREME scores them.
"""

from __future__ import annotations

import torch
from torch import nn

from harness.compute import outcomes
from harness.contract.errors import UserError
from harness.kinds.base import TaskKind, example_ids, head_dropout, pad_rows, run_encoder
from harness.compute.metrics import entity_counts, seqeval_prf

IGNORE = -100
OTHER = "<other>"


def labels_from_training(examples: list[dict], min_count: int) -> tuple[str, ...]:
    """An open tag set (CCG supertags): tags seen ``min_count`` times or more, most frequent first,
    and one label for all the others."""
    counts: dict[str, int] = {}
    for example in examples:
        for tag in example["tags"]:
            counts[tag] = counts.get(tag, 0) + 1
    kept = sorted((t for t, c in counts.items() if c >= min_count), key=lambda t: (-counts[t], t))
    return (*kept, OTHER)


class TokenHead(nn.Module):
    def __init__(self, hidden_size: int, outputs: int, dropout: float):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.out_proj = nn.Linear(hidden_size, outputs)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.out_proj(self.dropout(hidden))


def _word_pieces(tokenizer, words: list[str]) -> list[list[int]]:
    """Sub-word ids of each word as it reads inside a sentence (a word never vanishes)."""
    encoded = tokenizer(words, is_split_into_words=True, add_special_tokens=False)
    pieces: list[list[int]] = [[] for _ in words]
    for position, word in enumerate(encoded.word_ids()):
        if word is not None:
            pieces[word].append(encoded["input_ids"][position])
    return [p if p else [tokenizer.unk_token_id] for p in pieces]


def _label_offsets(tokenizer, pieces: list[list[int]], setting: str, blank: dict[int, bool]) -> list[int]:
    """Which sub-word of each word carries its label: 0, or with ``first_nonempty`` the first that
    decodes to more than whitespace (0 when none does); ``blank`` caches the decoding per id."""
    if setting == "first":
        return [0] * len(pieces)
    offsets = []
    for word in pieces:
        for index, piece in enumerate(word):
            if piece not in blank:
                blank[piece] = not tokenizer.decode([piece]).strip()
            if not blank[piece]:
                offsets.append(index)
                break
        else:
            offsets.append(0)
    return offsets


def _words_and_tags(example: dict, ud_tokens: str) -> tuple[list[str], list[str]]:
    """The words the run tags: a reader's ``split_words`` with ``ud_tokens=split``, where it gives them."""
    if ud_tokens == "split" and "split_words" in example:
        return example["split_words"], example["split_tags"]
    return example["words"], example["tags"]


def _special_frame(tokenizer) -> tuple[list[int], list[int]]:
    """The special tokens the tokenizer puts before and after a single sequence."""
    bare = tokenizer("a", add_special_tokens=False)["input_ids"]
    framed = tokenizer("a")["input_ids"]
    for start in range(len(framed) - len(bare) + 1):
        if framed[start:start + len(bare)] == bare:
            return framed[:start], framed[start + len(bare):]
    raise ValueError("cannot find where the tokenizer puts its special tokens")


class Tagging(TaskKind):
    name = "tagging"

    def featurize(self, examples, tokenizer, max_length, spec):
        label_ids = {tag: i for i, tag in enumerate(spec.labels)}
        prefix, suffix = _special_frame(tokenizer)
        lead, budget = len(prefix), max(1, max_length - len(prefix) - len(suffix))
        ud_tokens = spec.defaults.get("ud_tokens", "fused")
        label_piece = spec.defaults.get("label_piece", "first")
        blank: dict[int, bool] = {}
        features = []
        for index, example in enumerate(examples):
            words, tags = _words_and_tags(example, ud_tokens)
            unknown = sorted(set(tags) - set(label_ids))
            if unknown and OTHER in label_ids:  # an open tag set: rare tags share one label
                tags = [t if t in label_ids else OTHER for t in tags]
            elif unknown:
                raise UserError(f"{spec.name}: tag(s) {', '.join(unknown)} are not among the task's labels")
            pieces = _word_pieces(tokenizer, words)
            offsets = _label_offsets(tokenizer, pieces, label_piece, blank)
            start = 0
            while start < len(words):
                ids: list[int] = []
                labels: list[int] = []
                end = start
                while end < len(words) and (not ids or len(ids) + len(pieces[end]) <= budget):
                    word = pieces[end][:budget]  # a single over-long word keeps its first pieces
                    ids.extend(word)
                    at = min(offsets[end], len(word) - 1)
                    labels.extend([IGNORE] * at + [label_ids[tags[end]]] + [IGNORE] * (len(word) - 1 - at))
                    end += 1
                full = prefix + ids + suffix
                row_labels = [IGNORE] * lead + labels + [IGNORE] * len(suffix)
                features.append({"input_ids": full, "labels": row_labels, "length": len(full), "example": index,
                                 "first_word": start, "label": None})
                start = end
        return features

    def build_head(self, spec, config):
        return TokenHead(config.hidden_size, len(spec.labels), head_dropout(config))

    def collate(self, features, pad_id):
        rows = [f["input_ids"] for f in features]
        width = max(len(r) for r in rows)
        return {"input_ids": pad_rows(rows, pad_id, width),
                "attention_mask": pad_rows([[1] * len(r) for r in rows], 0, width),
                "labels": pad_rows([f["labels"] for f in features], IGNORE, width)}

    def forward(self, encoder, head, batch):
        return head(run_encoder(encoder, batch))

    def loss(self, logits, labels):
        return nn.functional.cross_entropy(logits.float().flatten(0, 1), labels.flatten(), ignore_index=IGNORE)

    def predict(self, logits, batch):
        best = logits.argmax(dim=-1)
        words = batch["labels"] != IGNORE
        return [best[row][words[row]].tolist() for row in range(best.shape[0])]

    def _sentences(self, predictions, features, spec) -> tuple[list[list[str]], list[list[str]]]:
        """Gold and predicted tags per example, with windows joined back into sentences."""
        gold: dict[int, list[str]] = {}
        found: dict[int, list[str]] = {}
        for feature, predicted in sorted(zip(features, predictions), key=lambda fp: (fp[0]["example"],
                                                                                   fp[0]["first_word"])):
            row = feature["labels"]
            gold.setdefault(feature["example"], []).extend(spec.labels[t] for t in row if t != IGNORE)
            found.setdefault(feature["example"], []).extend(spec.labels[t] for t in predicted)
        order = sorted(gold)
        return [gold[i] for i in order], [found[i] for i in order]

    def score(self, predictions, features, spec, lang=None):
        """seqeval F1 (as XTREME scores UDPOS and PAN-X), or per-word accuracy when the task's
        metric is ``accuracy`` (CCG supertagging)."""
        gold, found = self._sentences(predictions, features, spec)
        if spec.metric == "accuracy":
            pairs = [(g, f) for gs, fs in zip(gold, found) for g, f in zip(gs, fs)]
            return 100.0 * sum(g == f for g, f in pairs) / len(pairs) if pairs else float("nan")
        return seqeval_prf(gold, found)["f1"]

    def details(self, predictions, features, spec, lang):
        if spec.metric == "accuracy":
            return {}
        gold, found = self._sentences(predictions, features, spec)
        return seqeval_prf(gold, found)

    def outcome(self, predictions, features, spec, lang, ids=None):
        return self._outcome(*self._sentences(predictions, features, spec), spec, lang, ids)

    def _outcome(self, gold, found, spec, lang, ids):
        """Per sentence seqeval's entity tp/fp/fn; per word whether it is right for an
        ``accuracy`` tagging metric (its score is a mean over words, so words are the examples)."""
        sentence_ids = example_ids(ids, len(gold))
        if spec.metric == "accuracy":
            words = [(f"{ident}:{n}", int(g == f)) for ident, gs, fs in zip(sentence_ids, gold, found)
                     for n, (g, f) in enumerate(zip(gs, fs))]
            return outcomes.make(spec.name, self.name, lang, "accuracy", [w for w, _ in words],
                                 correct=[c for _, c in words])
        counts = entity_counts(gold, found)
        return outcomes.make(spec.name, self.name, lang, "f1_counts", sentence_ids, tp=[c[0] for c in counts],
                             fp=[c[1] for c in counts], fn=[c[2] for c in counts])

    def evaluate_test(self, predictions, features, spec, lang, ids=None):
        # windows are joined back into sentences once for the score, the details and the file
        gold, found = self._sentences(predictions, features, spec)
        outcome = self._outcome(gold, found, spec, lang, ids)
        details = {} if spec.metric == "accuracy" else seqeval_prf(gold, found)
        return outcomes.score(outcome), details, ("tsv", "".join(f"{item}\n" for item in _lines(found))), outcome

    def example_predictions(self, predictions, features, spec):
        _, found = self._sentences(predictions, features, spec)
        return _lines(found)


def _lines(found: list[list[str]]) -> list[str]:
    return ["\n".join(tags) + "\n" for tags in found]  # the writer's newline leaves a blank line


KIND = Tagging()
