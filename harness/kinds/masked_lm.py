"""Masked language modelling, the paper's "continued multilingual MLM" during intermediate training.

Each batch masks 15 % of the real (non-special, non-padding) tokens anew: 80 % of those become the
mask token, 10 % a random token, 10 % stay as they are; the loss is cross-entropy on them only
(BERT's recipe, as XLM-R uses it). The head's output layer shares its weights with the
encoder's input embeddings. MLM is not used to choose the best checkpoint.
"""

from __future__ import annotations

import torch
from torch import nn

from harness.kinds.base import TaskKind, pad_rows, run_encoder

IGNORE = -100
MASK_RATE, REPLACE_WITH_MASK, REPLACE_WITH_RANDOM = 0.15, 0.8, 0.1


class MLMHead(nn.Module):
    def __init__(self, hidden_size: int, vocab_size: int, eps: float = 1e-5):
        super().__init__()
        self.dense = nn.Linear(hidden_size, hidden_size)
        self.norm = nn.LayerNorm(hidden_size, eps=eps)
        self.decoder = nn.Linear(hidden_size, vocab_size)

    def tie_to(self, embeddings: nn.Embedding) -> None:
        self.decoder.weight = embeddings.weight

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.norm(nn.functional.gelu(self.dense(hidden))))


def mask_tokens(ids: torch.Tensor, maskable: torch.Tensor, mask_id: int, vocab_size: int,
                generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(inputs, labels): BERT's 15 % / 80-10-10 masking over the ``maskable`` positions."""
    chosen = (torch.rand(ids.shape, generator=generator) < MASK_RATE) & maskable
    if not chosen.any():  # every batch teaches something
        first = maskable.nonzero()[0]
        chosen[tuple(first)] = True
    labels = torch.where(chosen, ids, torch.full_like(ids, IGNORE))
    draw = torch.rand(ids.shape, generator=generator)
    inputs = ids.clone()
    inputs[chosen & (draw < REPLACE_WITH_MASK)] = mask_id
    randomised = chosen & (draw >= REPLACE_WITH_MASK) & (draw < REPLACE_WITH_MASK + REPLACE_WITH_RANDOM)
    inputs[randomised] = torch.randint(vocab_size, ids.shape, generator=generator)[randomised]
    return inputs, labels


class MaskedLM(TaskKind):
    name = "masked_lm"
    validates = False

    def featurize(self, examples, tokenizer, max_length, spec):
        if tokenizer.mask_token_id is None:
            from harness.contract.errors import UserError

            raise UserError("--mlm needs a tokenizer with a mask token; this backbone's has none")
        encoded = tokenizer([e["text"] for e in examples], truncation=True, max_length=max_length,
                            return_special_tokens_mask=True)
        return [{"input_ids": ids, "special": special, "length": len(ids), "mask_id": tokenizer.mask_token_id,
                 "vocab": len(tokenizer), "label": None}
                for ids, special in zip(encoded["input_ids"], encoded["special_tokens_mask"]) if len(ids) > 2]

    def build_head(self, spec, config):
        return MLMHead(config.hidden_size, config.vocab_size, getattr(config, "layer_norm_eps", 1e-5))

    def collate(self, features, pad_id):
        rows = [f["input_ids"] for f in features]
        width = max(len(r) for r in rows)
        ids = pad_rows(rows, pad_id, width)
        maskable = pad_rows([[1 - s for s in f["special"]] for f in features], 0, width).bool()
        inputs, labels = mask_tokens(ids, maskable, features[0]["mask_id"], features[0]["vocab"])
        return {"input_ids": inputs, "attention_mask": pad_rows([[1] * len(r) for r in rows], 0, width),
                "labels": labels}

    def forward(self, encoder, head, batch):
        return head(run_encoder(encoder, batch))

    def loss(self, logits, labels):
        return nn.functional.cross_entropy(logits.float().flatten(0, 1), labels.flatten(), ignore_index=IGNORE)


KIND = MaskedLM()
