"""Multiple choice (HellaSwag, Cosmos QA, CommonsenseQA …).

Each (context, choice) pair is encoded on its own; a scorer on the first token gives one
number per choice and a softmax over the choices gives the answer.
"""

from __future__ import annotations

import json

import torch

from harness.kinds.base import ClsHead, TaskKind, encode_rows, head_dropout, run_encoder
from harness.compute.speed import carry_hints


class MultipleChoice(TaskKind):
    name = "multiple_choice"

    def featurize(self, examples, tokenizer, max_length, spec):
        firsts, seconds = [], []
        for example in examples:
            if len(example["choices"]) != spec.num_choices:
                raise ValueError(f"{spec.name}: an example has {len(example['choices'])} choices, "
                                 f"expected {spec.num_choices}")
            for choice in example["choices"]:
                firsts.append(example["context"])
                seconds.append(choice)
        encoded = tokenizer(firsts, seconds, truncation=True, max_length=max_length)
        types = encoded.get("token_type_ids")
        n = spec.num_choices
        features = []
        for i, example in enumerate(examples):
            rows = encoded["input_ids"][i * n:(i + 1) * n]
            feature = {"input_ids": rows, "label": int(example["label"]), "length": max(len(r) for r in rows)}
            if types is not None:
                feature["token_type_ids"] = types[i * n:(i + 1) * n]
            features.append(feature)
        return features

    def build_head(self, spec, config):
        return ClsHead(config.hidden_size, 1, head_dropout(config))

    def collate(self, features, pad_id):
        n = len(features[0]["input_ids"])
        rows = [row for f in features for row in f["input_ids"]]
        types = [row for f in features for row in f["token_type_ids"]] if "token_type_ids" in features[0] else None
        flat = encode_rows(rows, types, pad_id)
        batch = {k: v.view(len(features), n, -1) for k, v in flat.items()}
        batch["labels"] = torch.tensor([f["label"] for f in features], dtype=torch.long)
        return batch

    def forward(self, encoder, head, batch):
        size, choices = batch["input_ids"].shape[:2]
        flat = carry_hints(batch, {k: v.flatten(0, 1) for k, v in batch.items() if k != "labels"})
        return head(run_encoder(encoder, flat)).view(size, choices)


    def prediction_file(self, predictions, features, spec, lang):
        """One label a line; or, when the task's defaults say ``"prediction_format": "jsonl"``, one
        ``{"idx": i, "label": p}`` object a line (XTREME-R's XCOPA submission files)."""
        if spec.defaults.get("prediction_format") == "jsonl":
            return "jsonl", "".join(json.dumps({"idx": i, "label": int(p)}) + "\n" for i, p in enumerate(predictions))
        return super().prediction_file(predictions, features, spec, lang)


KIND = MultipleChoice()
