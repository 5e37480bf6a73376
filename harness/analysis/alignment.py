"""Cross-lingual alignment of an encoder at every layer, from one forward pass per batch.

The question this module serves: how well does an encoder align a language with English at
each depth (and does intermediate training on English change that)? It measures, on parallel
sentence pairs laid out as Tatoeba's (source line i translates target line i):

* ``embed_all_layers``: pooled, L2-normalised embeddings of every hidden state, with one
  forward pass per batch (``output_hidden_states=True``). Layer ``L`` of the result is what
  ``harness.kinds.retrieval.embed(..., layer=L)`` returns for the same settings: the same
  tokenisation, the same length-sorted batches (hence the same padding), the same pooling and
  normalisation, done layer by layer with the same operations, so the values match bit for bit
  on one device (the forward pass is the same computation; only which states are kept differs).
* ``recall_by_layer``: recall@k of retrieving each source's translation among all targets, with
  the gold's rank taken from ``retrieval.tatoeba_search`` itself, so recall@1 at layer ``L`` is
  exactly the accuracy ``xharness run --target tatoeba --retrieval-layer L`` reports.
* ``translation_gap_by_layer``: a measure that is not retrieval: mean cosine of translation
  pairs minus mean cosine of non-translation pairs.
* ``layer_profile``: all of that for several languages, JSON-ready, with the best layer.

Only analyses import this module (it imports torch at the top); the core's run path does not.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence

import torch

from harness.kinds.retrieval import POOLINGS, hidden_state_batches, pool, tatoeba_search
from harness.common.progress import Reporter


@torch.inference_mode()
def embed_all_layers(accelerator, encoder, tokenizer, texts: list[str], *, pooling: str, batch_size: int,
                     max_length: int, reporter: Reporter, description: str, speed=None) -> torch.Tensor:
    """L2-normalised pooled sentence embeddings of every hidden state, in input order.

    Returns a float32 tensor of shape ``(num_hidden_layers + 1, len(texts), hidden_size)`` on the
    accelerator's device. Index 0 is the embedding layer's output and index ``L`` the output of
    transformer layer ``L``, as the model's ``hidden_states`` count them (and as
    ``--retrieval-layer`` does).

    The texts are tokenised once (truncated to ``max_length`` tokens), cut into length-sorted
    batches of ``batch_size`` (``harness.compute.batching.sorted_batches``), and each batch goes through
    the encoder ONCE with ``output_hidden_states=True`` (under ``accelerator.autocast()``); every
    hidden state is cast to float32 and pooled (``pooling``: "mean" over real tokens, or "cls",
    the first token). With several processes, process ``r`` takes batches ``r, r + n, ...``,
    fills its rows, and the rows are summed across processes (``accelerator.reduce``; every
    process must call this, as for ``retrieval.embed``), so every process returns the whole
    tensor. Each layer is then L2-normalised on its own.

    ``result[L]`` equals ``retrieval.embed(accelerator, encoder, tokenizer, texts, layer=L,
    pooling=pooling, batch_size=batch_size, max_length=max_length, ...)``: same batches, same
    operations, one layer at a time. Batch composition changes padding and so, by float
    rounding, the numbers: to reproduce a ``xharness run`` use its batch size (twice
    ``per_device_batch_size``, 64 by default) and max length (Tatoeba: 512), and embed each side
    of a language in its own call, as the run does.

    Memory: the result holds ``num_hidden_layers + 1`` times what one layer's embeddings hold
    (Tatoeba: 13 × 1000 × 384 floats for e5-small, about 20 MB).
    """
    if pooling not in POOLINGS:
        raise ValueError(f"unknown pooling {pooling!r}")
    encoder.eval()
    config = accelerator.unwrap_model(encoder).config
    num_states = config.num_hidden_layers + 1
    out = torch.zeros(num_states, len(texts), config.hidden_size, device=accelerator.device)
    for where, states, mask in hidden_state_batches(accelerator, encoder, tokenizer, texts, batch_size=batch_size,
                                                    max_length=max_length, reporter=reporter,
                                                    description=description, speed=speed):
        if len(states) != num_states:
            raise ValueError(f"the encoder returned {len(states)} hidden states; its config promises "
                             f"{num_states} (num_hidden_layers + 1)")
        for layer, hidden in enumerate(states):
            out[layer][where] = pool(hidden.float(), mask, pooling)
    if accelerator.num_processes > 1:  # each process filled its own rows; the rest are zeros
        out = accelerator.reduce(out, reduction="sum")
    for layer in range(num_states):  # each layer as retrieval.embed normalises its (texts, hidden) matrix
        out[layer] = torch.nn.functional.normalize(out[layer], dim=-1)
    return out


def _check_pairs(source: torch.Tensor, target: torch.Tensor) -> None:
    if source.dim() != 3 or target.dim() != 3:
        raise ValueError(f"expected (layers, pairs, hidden) tensors, got shapes {tuple(source.shape)} and "
                         f"{tuple(target.shape)}")
    if source.shape != target.shape:
        raise ValueError(f"source {tuple(source.shape)} and target {tuple(target.shape)} differ in shape: "
                         f"aligned pairs need one target per source at every layer")
    if source.shape[1] == 0:
        raise ValueError("no sentence pairs")


def ranks_by_layer(source: torch.Tensor, target: torch.Tensor) -> dict[int, list[int]]:
    """Each source's rank of its gold target (target i for source i), per layer.

    ``source`` and ``target`` are ``(layers, pairs, hidden)`` normalised embeddings (as
    ``embed_all_layers`` returns). The ranks are ``retrieval.tatoeba_search``'s: 1 when the
    search's top-1 (``topk(1)`` of the cosine similarities) is the gold; otherwise 1 + the
    targets scoring strictly above the gold + the other targets tied with it (ties count against
    the gold). So a gold tied at the top is rank 1 exactly when ``topk`` returned it, and
    ``rank == 1`` exactly when a Tatoeba run counts the query right.
    """
    _check_pairs(source, target)
    return {layer: tatoeba_search(source[layer], target[layer])[1] for layer in range(source.shape[0])}


def recall_by_layer(source: torch.Tensor, target: torch.Tensor,
                    ks: Sequence[int] = (1, 5, 10)) -> dict[int, dict[int, float]]:
    """Recall@k in percent per layer: ``{layer: {k: share of sources with gold rank <= k}}``.

    ``source`` and ``target``: ``(layers, pairs, hidden)`` L2-normalised embeddings, source i
    translating target i; every target is a candidate for every source. Ranks as
    ``ranks_by_layer`` (``retrieval.tatoeba_search``): ties with the gold count against it, except
    that a gold the search itself returned first is rank 1. Hence recall@1 at layer L is exactly
    the accuracy of ``xharness run --target tatoeba --retrieval-layer L`` (which counts
    ``topk(1) == i``) on embeddings computed the same way, and recall@k is 100 for any k at least
    the number of pairs. ``ks`` must be positive integers.
    """
    ks = _positive(ks)
    n = source.shape[1] if source.dim() == 3 else 0
    return {layer: {k: 100.0 * sum(1 for r in ranks if r <= k) / n for k in ks}
            for layer, ranks in ranks_by_layer(source, target).items()}


def _positive(ks: Iterable[int]) -> list[int]:
    ks = list(ks)
    if not ks or any(not isinstance(k, int) or isinstance(k, bool) or k < 1 for k in ks):
        raise ValueError(f"ks must be positive integers, got {ks!r}")
    return ks


def pair_cosines_by_layer(source: torch.Tensor, target: torch.Tensor, *, seed: int = 0,
                          samples: int | None = None) -> dict[int, tuple[float, float]]:
    """Per layer: (mean cosine of translation pairs, mean cosine of non-translation pairs).

    Inputs as for ``recall_by_layer`` (normalised, so a dot product is a cosine). Translation
    pairs are (source i, target i). Non-translation pairs, by default (``samples=None``), are ALL
    pairs (source i, target j) with j != i: their mean is computed exactly, without the
    similarity matrix, as ((Σ_i s_i)·(Σ_j t_j) − Σ_i s_i·t_i) / (n (n − 1)), in float64. With
    ``samples=m``, m pairs are drawn instead (i uniform, j uniform among the other n − 1 targets,
    from a torch generator seeded with ``seed``; the same pairs at every layer): for inputs too
    large to care about exactness. ``seed`` is used only then. Needs at least two pairs.
    """
    _check_pairs(source, target)
    n = source.shape[1]
    if n < 2:
        raise ValueError("non-translation pairs need at least two sentence pairs")
    drawn = None
    if samples is not None:
        if samples < 1:
            raise ValueError(f"samples must be positive, got {samples}")
        generator = torch.Generator().manual_seed(seed)
        i = torch.randint(n, (samples,), generator=generator)
        j = (i + 1 + torch.randint(n - 1, (samples,), generator=generator)) % n  # never i
        drawn = (i.to(source.device), j.to(source.device))
    result: dict[int, tuple[float, float]] = {}
    for layer in range(source.shape[0]):
        s, t = source[layer].double(), target[layer].double()
        diagonal = (s * t).sum(dim=1)
        translation = diagonal.mean().item()
        if drawn is None:
            other = ((s.sum(dim=0) @ t.sum(dim=0) - diagonal.sum()) / (n * (n - 1))).item()
        else:
            other = (s[drawn[0]] * t[drawn[1]]).sum(dim=1).mean().item()
        result[layer] = (float(translation), float(other))
    return result


def translation_gap_by_layer(source: torch.Tensor, target: torch.Tensor, *, seed: int = 0,
                             samples: int | None = None) -> dict[int, float]:
    """Per layer: mean cosine of translation pairs minus mean cosine of non-translation pairs.

    Positive when translations sit closer than unrelated sentences; unlike recall it is not
    bounded by a saturating rank criterion and shows how much closer, net of the encoder's
    anisotropy (the high cosine every pair has). Non-translation pairs are all off-diagonal pairs
    (exact, the default) or ``samples`` seeded random ones: see ``pair_cosines_by_layer``.
    """
    return {layer: translation - other for layer, (translation, other)
            in pair_cosines_by_layer(source, target, seed=seed, samples=samples).items()}


def layer_profile(accelerator, encoder, tokenizer, pairs_by_language: dict[str, tuple[list[str], list[str]]], *,
                  pooling: str, batch_size: int, max_length: int, reporter: Reporter,
                  ks: Sequence[int] = (1, 5, 10), speed=None) -> dict:
    """Alignment of each language with its targets at every layer, as one JSON-ready dict.

    ``pairs_by_language`` maps a language to ``(source_texts, target_texts)``, line i of one
    translating line i of the other (Tatoeba: the language's sentences and their English ones).
    Each side is embedded in its own ``embed_all_layers`` call (one forward pass per batch), as a
    Tatoeba run embeds them, so recall@1 at layer L equals that run's accuracy with the same
    ``pooling``, ``batch_size`` (the run's is twice ``per_device_batch_size``) and ``max_length``.
    Recall@1 is always computed (``best_layer`` needs it), whether or not ``ks`` holds 1.

    Returns (every value a plain int, float, str or list; lists indexed by layer, 0 = embeddings)::

        {"num_layers": 12, "pooling": "mean", "batch_size": 64, "max_length": 512, "ks": [1, 5, 10],
         "per_language": {"de": {"pairs": 1000,
                                 "recall": {"1": [13 floats], "5": [...], "10": [...]},  # percent
                                 "gap": [13 floats],                  # translation − other cosine
                                 "translation_cosine": [...], "other_cosine": [...],
                                 "best_layer": 7}},                   # this language's best recall@1
         "mean_recall_at_1": [13 floats],   # over languages
         "best_layer": 7}                   # argmax of mean_recall_at_1 (the shallowest on a tie)

    Non-translation cosines are over all off-diagonal pairs (``pair_cosines_by_layer``).
    """
    ks = _positive(ks)
    if 1 not in ks:
        ks = [1] + ks
    if not pairs_by_language:
        raise ValueError("no languages")
    per_language: dict[str, dict] = {}
    num_states = None
    for lang, (source_texts, target_texts) in pairs_by_language.items():
        if len(source_texts) != len(target_texts):
            raise ValueError(f"{lang}: {len(source_texts)} source sentences but {len(target_texts)} targets")
        options = {"pooling": pooling, "batch_size": batch_size, "max_length": max_length, "reporter": reporter,
                   "speed": speed}
        source = embed_all_layers(accelerator, encoder, tokenizer, list(source_texts), description=f"{lang} side",
                                  **options)
        target = embed_all_layers(accelerator, encoder, tokenizer, list(target_texts),
                                  description=f"{lang}-en side", **options)
        num_states = source.shape[0]
        recall = recall_by_layer(source, target, ks)
        cosines = pair_cosines_by_layer(source, target)
        layers = range(num_states)
        at_1 = [recall[layer][1] for layer in layers]
        per_language[lang] = {
            "pairs": len(source_texts),
            "recall": {str(k): [recall[layer][k] for layer in layers] for k in ks},
            "gap": [cosines[layer][0] - cosines[layer][1] for layer in layers],
            "translation_cosine": [cosines[layer][0] for layer in layers],
            "other_cosine": [cosines[layer][1] for layer in layers],
            "best_layer": at_1.index(max(at_1)),
        }
    mean_at_1 = [sum(p["recall"]["1"][layer] for p in per_language.values()) / len(per_language)
                 for layer in range(num_states)]
    return {"num_layers": num_states - 1, "pooling": pooling, "batch_size": int(batch_size),
            "max_length": int(max_length), "ks": ks, "per_language": per_language,
            "mean_recall_at_1": mean_at_1, "best_layer": mean_at_1.index(max(mean_at_1))}


def set_recall_by_layer(queries: torch.Tensor, candidates: torch.Tensor, relevant: Sequence[Collection[int]],
                        ks: Sequence[int] = (1, 5, 10), chunk: int = 1024) -> dict[int, dict[int, float]]:
    """Recall@k in percent per layer when each query has a set of relevant candidates among others:
    BUCC's gold pairs among its distractor sentences, LAReQA's answer sentences in every language.

    ``queries``: ``(layers, q, hidden)``, ``candidates``: ``(layers, c, hidden)``, normalised;
    ``relevant[i]``: the candidate indices right for query i (queries with none are left out).
    A query's rank is 1 + the candidates that are not relevant and score at least as high as its
    best relevant one (ties count against it); recall@k is the share of queries with rank ≤ k —
    with one relevant candidate a query, the share whose gold is in the top k.
    """
    ks = _positive(ks)
    if queries.dim() != 3 or candidates.dim() != 3 or queries.shape[0] != candidates.shape[0]:
        raise ValueError(f"expected (layers, n, hidden) tensors with equal layers, got {tuple(queries.shape)} "
                         f"and {tuple(candidates.shape)}")
    asked = [i for i, r in enumerate(relevant) if r]
    if not asked:
        raise ValueError("no query has a relevant candidate")
    mask = torch.zeros(len(asked), candidates.shape[1], dtype=torch.bool, device=candidates.device)
    for row, i in enumerate(asked):
        mask[row, list(relevant[i])] = True
    result: dict[int, dict[int, float]] = {}
    for layer in range(queries.shape[0]):
        ranks: list[int] = []
        for start in range(0, len(asked), chunk):
            rows = torch.tensor(asked[start:start + chunk], device=queries.device)
            scores = queries[layer][rows] @ candidates[layer].T
            here = mask[start:start + chunk]
            best = scores.masked_fill(~here, float("-inf")).max(dim=1, keepdim=True).values
            ranks.extend((1 + ((scores >= best) & ~here).sum(dim=1)).tolist())
        result[layer] = {k: 100.0 * sum(1 for r in ranks if r <= k) / len(ranks) for k in ks}
    return result
