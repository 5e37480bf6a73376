"""The sentence_regression kind's object: featurisation, head, loss, predictions and outcomes.

Built only on ``harness.api``: the first-token head (``ClsHead``), row padding
(``encode_rows``), the encoder call (``run_encoder``), the head's dropout (``head_dropout``),
example ids and outcome records. The score is computed from the outcome record, so a report's
paired bootstrap recomputes the correlation exactly on every resample.
"""

from __future__ import annotations

import torch
from torch import nn

from harness.api import (ClsHead, TaskKind, encode_rows, example_ids, head_dropout, kind_settings, make_outcome,
                         outcome_score, run_encoder)

from xharness_sts import KIND_SPEC


def _scale(spec) -> float:
    return float(kind_settings(spec, KIND_SPEC)["score_max"])


class SentenceRegression(TaskKind):
    name = KIND_SPEC.name

    def featurize(self, examples, tokenizer, max_length, spec):
        encoded = tokenizer([e["text"] for e in examples], [e["text_pair"] for e in examples],
                            truncation=True, max_length=max_length)
        types = encoded.get("token_type_ids")
        scale = _scale(spec)
        features = []
        for i, example in enumerate(examples):
            ids = encoded["input_ids"][i]
            feature = {"input_ids": ids, "label": float(example["score"]) / scale, "length": len(ids)}
            if types is not None:
                feature["token_type_ids"] = types[i]
            features.append(feature)
        return features

    def build_head(self, spec, config):
        return ClsHead(config.hidden_size, 1, head_dropout(config))

    def collate(self, features, pad_id):
        types = [f["token_type_ids"] for f in features] if "token_type_ids" in features[0] else None
        batch = encode_rows([f["input_ids"] for f in features], types, pad_id)
        batch["labels"] = torch.tensor([f["label"] for f in features], dtype=torch.float32)
        return batch

    def forward(self, encoder, head, batch):
        return head(run_encoder(encoder, batch))  # (batch, 1)

    def loss(self, logits, labels):
        return nn.functional.mse_loss(logits.float().squeeze(-1), labels.float())

    def predict(self, logits, batch):
        return logits.float().squeeze(-1).tolist()

    def outcome(self, predictions, features, spec, lang, ids=None):
        scale = _scale(spec)
        return make_outcome(spec.name, self.name, lang, spec.metric, example_ids(ids, len(features)),
                            prediction=[p * scale for p in predictions], gold=[f["label"] * scale for f in features])

    def score(self, predictions, features, spec, lang=None):
        """The task's correlation (times 100) on these features: what picks the best checkpoint on dev.

        Where it is undefined (every prediction equal, as early in training) the epoch scores -100,
        the lowest a correlation can be, so it is never chosen over one whose correlation exists."""
        if not features:
            return float("nan")
        value = outcome_score(self.outcome(predictions, features, spec, lang or "dev"))
        return value if value == value else -100.0  # constant predictions (early on) rank lowest, not NaN

    def example_predictions(self, predictions, features, spec):
        scale = _scale(spec)
        return [f"{p * scale:.4f}" for p in predictions]


KIND = SentenceRegression()
