"""What every task kind provides, and the padding shared by all of them."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from harness.compute import outcomes
from harness.contract.spec import Example, TaskSpec
from harness.compute.speed import encoder_inputs, packed_form, reads_packed, run_packed

Feature = dict[str, Any]


class TaskKind:
    """Turns examples into features, features into padded batches, hidden states into logits.

    A feature holds token-id lists (``input_ids`` and, where the tokenizer makes them,
    ``token_type_ids``), the ``label`` and ``length`` (the padded length it will need),
    which the length-grouped sampler reads.
    """

    name = ""
    #: whether dev scores of this kind take part in choosing the best checkpoint
    validates = True

    def featurize(self, examples: list[Example], tokenizer, max_length: int, spec: TaskSpec) -> list[Feature]:
        raise NotImplementedError

    def build_head(self, spec: TaskSpec, config) -> nn.Module:
        raise NotImplementedError

    def collate(self, features: list[Feature], pad_id: int) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def forward(self, encoder: nn.Module, head: nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """Return logits of shape (batch, classes or choices)."""
        raise NotImplementedError

    def predict(self, logits: torch.Tensor, batch: dict[str, torch.Tensor]) -> list:
        """One prediction per row of the batch."""
        return logits.argmax(dim=-1).tolist()

    def score(self, predictions: list, features: list[Feature], spec: TaskSpec, lang: str | None = None) -> float:
        """The task's metric in percent (accuracy unless the kind says otherwise)."""
        if not features:
            return float("nan")
        return 100.0 * sum(int(p == f["label"]) for p, f in zip(predictions, features)) / len(features)

    def details(self, predictions: list, features: list[Feature], spec: TaskSpec, lang: str) -> dict[str, float]:
        """Further metrics worth recording per language (F1 and EM for QA, say)."""
        return {}

    def example_predictions(self, predictions: list, features: list[Feature], spec: TaskSpec) -> list[str]:
        """One entry per example, as written in a leaderboard prediction file."""
        return [str(p) for p in predictions]

    def evaluate(self, predictions: list, features: list[Feature], spec: TaskSpec,
                 lang: str) -> tuple[float, dict[str, float], tuple[str, str]]:
        """Score, further metrics and leaderboard file of one test language, in one pass."""
        return self.evaluate_test(predictions, features, spec, lang)[:3]

    def evaluate_test(self, predictions: list, features: list[Feature], spec: TaskSpec, lang: str,
                      ids: list[str] | None = None) -> tuple[float, dict[str, float], tuple[str, str], dict[str, Any]]:
        """As ``evaluate``, plus the per-example outcomes record (``harness.compute.outcomes``).

        The score is computed from the outcomes, so that ``outcomes.score`` of the record written
        beside ``results.json`` gives the reported number exactly, not merely to the last digit.
        """
        outcome = self.outcome(predictions, features, spec, lang, ids)
        return (outcomes.score(outcome), self.details(predictions, features, spec, lang),
                self.prediction_file(predictions, features, spec, lang), outcome)

    def outcome(self, predictions: list, features: list[Feature], spec: TaskSpec, lang: str,
                ids: list[str] | None = None) -> dict[str, Any]:
        """Per-example outcomes of one test language: here whether each prediction is the label.

        ``ids`` are the examples' ids in test-file order (their index when omitted).
        """
        correct = [int(p == f["label"]) for p, f in zip(predictions, features)]
        return outcomes.make(spec.name, self.name, lang, "accuracy", example_ids(ids, len(correct)), correct=correct)

    def prediction_file(self, predictions: list, features: list[Feature], spec: TaskSpec,
                        lang: str) -> tuple[str, str]:
        """(extension, content) of the leaderboard prediction file for one language."""
        return "tsv", "".join(f"{item}\n" for item in self.example_predictions(predictions, features, spec))

    def loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return nn.functional.cross_entropy(logits.float(), labels)


class ClsHead(nn.Module):
    """The RoBERTa-style head on the first token: dropout, dense, tanh, dropout, projection."""

    def __init__(self, hidden_size: int, outputs: int, dropout: float):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.dense = nn.Linear(hidden_size, hidden_size)
        self.out_proj = nn.Linear(hidden_size, outputs)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        x = self.dropout(hidden[:, 0])
        x = torch.tanh(self.dense(x))
        return self.out_proj(self.dropout(x))


def example_ids(ids: list[str] | None, count: int) -> list[str]:
    """The examples' ids, or their indices in test-file order where the data has none."""
    return [str(i) for i in range(count)] if ids is None else [str(i) for i in ids]


def head_dropout(config) -> float:
    """The dropout a task head uses: the backbone config's ``classifier_dropout``, else its
    ``hidden_dropout_prob`` or ``dropout``, else 0.1."""
    for name in ("classifier_dropout", "hidden_dropout_prob", "dropout"):
        value = getattr(config, name, None)
        if isinstance(value, float):
            return value
    return 0.1


def pad_rows(rows: list[list[int]], value: int, width: int) -> torch.Tensor:
    """Integer rows padded with ``value`` to ``width``, as one long tensor (batch, width)."""
    # one tensor construction from padded Python lists beats a per-row copy by a wide margin
    return torch.tensor([row + [value] * (width - len(row)) for row in rows], dtype=torch.long)


def encode_rows(rows: list[list[int]], type_rows: list[list[int]] | None, pad_id: int) -> dict[str, torch.Tensor]:
    """Pad token rows to the longest one and build the attention mask."""
    width = max(len(r) for r in rows)
    batch = {"input_ids": pad_rows(rows, pad_id, width)}
    batch["attention_mask"] = pad_rows([[1] * len(r) for r in rows], 0, width)
    if type_rows is not None:
        batch["token_type_ids"] = pad_rows(type_rows, 0, width)
    return batch


def run_encoder(encoder: nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """The encoder's last hidden states, (batch, width, hidden), for a padded batch; through its
    packed form when the batch carries one (``harness.compute.speed``: unpadded batches), with a mask
    built without reading the device otherwise."""
    if packed_form(batch) is not None and reads_packed(encoder):
        return run_packed(encoder, batch)
    return encoder(**encoder_inputs(encoder, batch)).last_hidden_state
