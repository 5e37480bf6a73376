"""Extractive span QA (XQuAD, MLQA, TyDiQA-GoldP, SQuAD).

Contexts longer than the maximum length become overlapping windows (stride tokens of overlap);
start and end heads score every token; post-processing takes the best-scoring span over all
windows of a question among the n best starts and ends, no longer than ``max_answer_tokens``
(a task default; 30 sub-word tokens, as in XTREME's SQuAD scripts),
and maps it back to the original context text through the tokenizer's character offsets
(trimmed of the spaces, invisible characters and sentence punctuation that tokens carry along).
A window that does not contain the answer (or a question without one, SQuAD 2.0) is trained to
point at its first token; for SQuAD 2.0 that token's start + end score is the "no answer" score.
"""

from __future__ import annotations

import json

import torch
from torch import nn

from harness.compute import outcomes
from harness.kinds.base import TaskKind, head_dropout, pad_rows, run_encoder
from harness.compute.metrics import (
    mlqa_em_f1, mlqa_normalize, qa_per_question, squad_em_f1, squad_normalize, squad_v2_em_f1, squad_v2_per_question,
)

#: Sentence punctuation and invisible characters that sub-word tokens merge onto the words
#: around them ("》，", "\ufeffWord"); an answer span never starts or ends with one.
_TRIM = " \t\n\r\u00a0\u200b\ufeff。，、；：！？,;:!?"

N_BEST = 20
MAX_ANSWER_TOKENS = 30
STRIDE = 128


class SpanHead(nn.Module):
    def __init__(self, hidden_size: int, dropout: float):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.out_proj = nn.Linear(hidden_size, 2)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.out_proj(self.dropout(hidden))  # (batch, tokens, 2): start and end scores


class SpanQA(TaskKind):
    name = "span_qa"

    def featurize(self, examples, tokenizer, max_length, spec):
        stride = min(STRIDE, max_length // 2)
        encoded = tokenizer([e["question"] for e in examples], [e["context"] for e in examples],
                            truncation="only_second", max_length=max_length, stride=stride,
                            return_overflowing_tokens=True, return_offsets_mapping=True)
        features = []
        for row, ids in enumerate(encoded["input_ids"]):
            index = encoded["overflow_to_sample_mapping"][row]
            example = examples[index]
            sequence = encoded.sequence_ids(row)
            offsets = [tuple(o) if s == 1 else None for o, s in zip(encoded["offset_mapping"][row], sequence)]
            start_token = end_token = 0
            answers = example.get("answers") or []
            if answers:
                start_char = answers[0]["answer_start"]
                end_char = start_char + len(answers[0]["text"])
                inside = [i for i, o in enumerate(offsets) if o is not None]
                if inside and offsets[inside[0]][0] <= start_char and offsets[inside[-1]][1] >= end_char:
                    start_token = next(i for i in inside if offsets[i][1] > start_char)
                    end_token = next(i for i in reversed(inside) if offsets[i][0] < end_char)
            features.append({"input_ids": ids, "length": len(ids), "example": index, "offsets": offsets,
                             "start": start_token, "end": end_token, "label": None, "qa": example})
        return features

    def build_head(self, spec, config):
        return SpanHead(config.hidden_size, head_dropout(config))

    def collate(self, features, pad_id):
        rows = [f["input_ids"] for f in features]
        width = max(len(r) for r in rows)
        return {"input_ids": pad_rows(rows, pad_id, width),
                "attention_mask": pad_rows([[1] * len(r) for r in rows], 0, width),
                "labels": torch.tensor([[f["start"], f["end"]] for f in features], dtype=torch.long)}

    def forward(self, encoder, head, batch):
        return head(run_encoder(encoder, batch))

    def loss(self, logits, labels):
        logits = logits.float()
        start = nn.functional.cross_entropy(logits[..., 0], labels[:, 0])
        end = nn.functional.cross_entropy(logits[..., 1], labels[:, 1])
        return (start + end) / 2

    def predict(self, logits, batch):
        """Per window: the n best starts and ends (with scores), and the no-answer score (first token)."""
        logits = logits.float().masked_fill(batch["attention_mask"].unsqueeze(-1) == 0, float("-inf"))
        k = min(N_BEST, logits.shape[1])
        starts, ends = logits[..., 0].topk(k, dim=1), logits[..., 1].topk(k, dim=1)
        null = (logits[:, 0, 0] + logits[:, 0, 1]).tolist()
        return [(list(zip(starts.indices[r].tolist(), starts.values[r].tolist())),
                 list(zip(ends.indices[r].tolist(), ends.values[r].tolist())), null[r])
                for r in range(logits.shape[0])]

    def answers(self, predictions, features, examples_count: int, contexts: list[str],
                max_answer_tokens: int = MAX_ANSWER_TOKENS, allow_no_answer: bool = False) -> list[str]:
        """The best span over every window of each question, as text of the original context.

        With ``allow_no_answer`` (SQuAD 2.0) the answer is empty when the lowest no-answer score
        over the question's windows beats the best span's score.
        """
        best: dict[int, tuple[float, str]] = {}
        null: dict[int, float] = {}
        for feature, (starts, ends, *rest) in zip(features, predictions):
            if rest:
                null[feature["example"]] = min(null.get(feature["example"], float("inf")), rest[0])
            offsets = feature["offsets"]
            for s, s_score in starts:
                if s >= len(offsets) or offsets[s] is None:
                    continue
                for e, e_score in ends:
                    if e >= len(offsets) or offsets[e] is None or e < s or e - s + 1 > max_answer_tokens:
                        continue
                    score = s_score + e_score
                    if feature["example"] not in best or score > best[feature["example"]][0]:
                        text = contexts[feature["example"]][offsets[s][0]:offsets[e][1]].strip(_TRIM)
                        best[feature["example"]] = (score, text)
        if allow_no_answer:
            return ["" if i not in best or null.get(i, float("-inf")) > best[i][0] else best[i][1]
                    for i in range(examples_count)]
        return [best.get(i, (0.0, ""))[1] for i in range(examples_count)]

    def _answered(self, predictions, features, spec) -> tuple[list[dict], dict[str, str]]:
        """The SQuAD-format dataset of the questions (in test-file order) and the answer to each id."""
        examples = {f["example"]: f["qa"] for f in features}
        ordered = [examples[i] for i in sorted(examples)]
        count = max(examples, default=-1) + 1
        answers = self.answers(predictions, features, count, [examples.get(i, {}).get("context", "") for i in range(count)],
                               int(spec.defaults.get("max_answer_tokens", MAX_ANSWER_TOKENS)),
                               allow_no_answer=spec.metric == "squad_v2")
        by_id = {examples[i]["id"]: answers[i] for i in sorted(examples)}
        dataset = [{"paragraphs": [{"qas": [{"id": e["id"], "answers": e["answers"]} for e in ordered]}]}]
        return dataset, by_id

    def _evaluate(self, predictions, features, spec, lang):
        dataset, by_id = self._answered(predictions, features, spec)
        return _metric(dataset, by_id, spec, lang), by_id

    def score(self, predictions, features, spec, lang=None):
        """XTREME's QA score: the mean of F1 and exact match (percent)."""
        result, _ = self._evaluate(predictions, features, spec, lang)
        return (result["f1"] + result["exact_match"]) / 2

    def details(self, predictions, features, spec, lang):
        result, _ = self._evaluate(predictions, features, spec, lang)
        return result

    def prediction_file(self, predictions, features, spec, lang):
        _, by_id = self._evaluate(predictions, features, spec, lang)
        return "json", json.dumps(by_id, ensure_ascii=False, indent=1) + "\n"

    def outcome(self, predictions, features, spec, lang, ids=None):
        dataset, by_id = self._answered(predictions, features, spec)
        return _outcome(dataset, by_id, spec, lang)

    def evaluate_test(self, predictions, features, spec, lang, ids=None):
        # post-processing (n-best spans over every window) runs once for all four results;
        # the questions' own ids name the outcomes
        dataset, by_id = self._answered(predictions, features, spec)
        outcome = _outcome(dataset, by_id, spec, lang)
        return (outcomes.score(outcome), _metric(dataset, by_id, spec, lang),
                ("json", json.dumps(by_id, ensure_ascii=False, indent=1) + "\n"), outcome)


def _metric(dataset: list[dict], by_id: dict[str, str], spec, lang: str | None) -> dict[str, float]:
    """F1 and EM (percent) as the task's official script computes them."""
    if spec.metric == "mlqa":
        return mlqa_em_f1(dataset, by_id, lang or spec.train_language)
    if spec.metric == "squad_v2":
        return squad_v2_em_f1(dataset, by_id)
    return squad_em_f1(dataset, by_id)


def _outcome(dataset: list[dict], by_id: dict[str, str], spec, lang: str | None) -> dict:
    """Per question F1 (0–1) and EM (0/1), each as the task's metric scores that question."""
    if spec.metric == "mlqa":
        answer_lang = lang or spec.train_language
        scored = qa_per_question(dataset, by_id, lambda text: mlqa_normalize(text, answer_lang))
    elif spec.metric == "squad_v2":
        scored = squad_v2_per_question(dataset, by_id)
    else:
        scored = qa_per_question(dataset, by_id, squad_normalize)
    return outcomes.make(spec.name, "span_qa", lang or spec.train_language, "qa", [q[0] for q in scored],
                         f1=[q[1] for q in scored], em=[q[2] for q in scored])


KIND = SpanQA()
