"""Retrieval (Tatoeba, BUCC): no training; sentence embeddings from the encoder, cosine search.

Embeddings are mean-pooled (or first-token) hidden states of one layer. Which layer and which
pooling matter — published numbers swing with them — so both are explicit, recorded settings.
The default layer sits at the depth XTREME used for XLM-R Large (14 of 24 layers), scaled to the
encoder's depth. The nearest-neighbour search runs in chunks, so memory stays bounded for
BUCC-sized inputs, and on the encoder's device (a GPU when there is one).
"""

from __future__ import annotations

import torch

from harness.batching import sorted_batches
from harness.progress import Reporter

POOLINGS = ("mean", "cls")


def default_layer(num_layers: int) -> int:
    """Layer 14 of 24 (XTREME's choice for XLM-R Large), at the same relative depth otherwise."""
    return max(1, round(14 * num_layers / 24))


@torch.no_grad()
def embed(accelerator, encoder, tokenizer, texts: list[str], *, layer: int, pooling: str, batch_size: int,
          max_length: int, reporter: Reporter, description: str) -> torch.Tensor:
    """L2-normalised sentence embeddings (float32, on the accelerator's device), in input order."""
    if pooling not in POOLINGS:
        raise ValueError(f"unknown pooling {pooling!r}")
    encoder.eval()
    encoded = tokenizer(texts, truncation=True, max_length=max_length)
    ids = encoded["input_ids"]
    batches = sorted_batches([len(row) for row in ids], batch_size)
    mine = batches[accelerator.process_index::accelerator.num_processes]
    hidden_size = encoder.config.hidden_size
    out = torch.zeros(len(texts), hidden_size, device=accelerator.device)
    with reporter.task(description, total=len(mine)) as advance:
        for indices in mine:
            rows = [ids[i] for i in indices]
            width = max(len(r) for r in rows)
            input_ids = torch.tensor([r + [tokenizer.pad_token_id] * (width - len(r)) for r in rows],
                                     device=accelerator.device)
            mask = torch.tensor([[1] * len(r) + [0] * (width - len(r)) for r in rows], device=accelerator.device)
            with accelerator.autocast():
                states = encoder(input_ids=input_ids, attention_mask=mask, output_hidden_states=True).hidden_states
            hidden = states[layer].float()
            if pooling == "mean":
                weights = mask.unsqueeze(-1).float()
                pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1)
            else:
                pooled = hidden[:, 0]
            out[torch.tensor(indices, device=accelerator.device)] = pooled
            advance()
    if accelerator.num_processes > 1:  # each process filled its own rows; the rest are zeros
        out = accelerator.reduce(out, reduction="sum")
    return torch.nn.functional.normalize(out, dim=-1)


def top_k(queries: torch.Tensor, keys: torch.Tensor, k: int = 1, chunk: int = 4096) -> tuple[torch.Tensor, torch.Tensor]:
    """Cosine scores and indices of each query's ``k`` nearest keys (inputs normalised).

    Queries are processed ``chunk`` at a time, so memory is O(chunk × len(keys)), not
    O(len(queries) × len(keys)).
    """
    k = min(k, keys.shape[0])
    scores, indices = [], []
    for start in range(0, queries.shape[0], chunk):
        similarity = queries[start:start + chunk] @ keys.T
        best = similarity.topk(k, dim=1)
        scores.append(best.values)
        indices.append(best.indices)
    return torch.cat(scores), torch.cat(indices)


def tatoeba_accuracy(source: torch.Tensor, target: torch.Tensor) -> tuple[float, list[int]]:
    """Source i should retrieve target i: accuracy in percent, and each source's prediction."""
    _, indices = top_k(source, target, k=1)
    predicted = indices[:, 0].tolist()
    correct = sum(int(p == i) for i, p in enumerate(predicted))
    return 100.0 * correct / len(predicted), predicted


class Retrieval:
    name = "retrieval"

    def prediction_text(self, prediction: int, spec) -> str:
        return str(prediction)


KIND = Retrieval()
