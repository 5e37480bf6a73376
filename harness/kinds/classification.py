"""Sentence and sentence-pair classification (PAWS-X, XNLI, MNLI, QQP …)."""

from __future__ import annotations

import torch

from harness.kinds.base import ClsHead, TaskKind, encode_rows, head_dropout, run_encoder


class Classification(TaskKind):
    name = "classification"

    def featurize(self, examples, tokenizer, max_length, spec):
        texts = [e["text"] for e in examples]
        pairs = [e.get("text_pair") for e in examples]
        has_pairs = any(p is not None for p in pairs)
        encoded = tokenizer(texts, [p or "" for p in pairs] if has_pairs else None,
                            truncation=True, max_length=max_length)
        types = encoded.get("token_type_ids")
        features = []
        for i, example in enumerate(examples):
            ids = encoded["input_ids"][i]
            feature = {"input_ids": ids, "label": int(example["label"]), "length": len(ids)}
            if types is not None:
                feature["token_type_ids"] = types[i]
            features.append(feature)
        return features

    def build_head(self, spec, config):
        return ClsHead(config.hidden_size, len(spec.labels), head_dropout(config))

    def example_predictions(self, predictions, features, spec):
        return [spec.labels[p] for p in predictions]

    def collate(self, features, pad_id):
        types = [f["token_type_ids"] for f in features] if "token_type_ids" in features[0] else None
        batch = encode_rows([f["input_ids"] for f in features], types, pad_id)
        batch["labels"] = torch.tensor([f["label"] for f in features], dtype=torch.long)
        return batch

    def forward(self, encoder, head, batch):
        return head(run_encoder(encoder, batch))


KIND = Classification()
