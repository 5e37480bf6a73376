"""Retrieval (Tatoeba, BUCC): no training; sentence embeddings from the encoder, cosine search.

Embeddings are mean-pooled (or first-token) hidden states of one layer. Which layer and which
pooling matter — published numbers swing with them — so both are explicit, recorded settings.
The default layer sits at the depth XTREME used for XLM-R Large (14 of 24 layers), scaled to the
encoder's depth. The nearest-neighbour search runs in chunks, so memory stays bounded for
BUCC-sized inputs, and on the encoder's device (a GPU when there is one).
"""

from __future__ import annotations

import torch

from harness.compute import outcomes
from harness.compute.batching import sorted_batches
from harness.contract.errors import UserError
from harness.kinds.base import pad_rows
from harness.common.progress import Reporter
from harness.compute.speed import encoder_inputs, packed_form, position_start, reads_packed, run_packed, transfer

POOLINGS = ("mean", "cls")


def default_layer(num_layers: int) -> int:
    """Layer 14 of 24 (XTREME's choice for XLM-R Large), at the same relative depth otherwise."""
    return max(1, round(14 * num_layers / 24))


def pool(hidden: torch.Tensor, mask: torch.Tensor, pooling: str) -> torch.Tensor:
    """One layer's sentence vectors (before normalising): "mean" averages the real tokens' states
    (``mask`` is the attention mask), "cls" takes the first token's."""
    if pooling == "mean":
        weights = mask.unsqueeze(-1).float()
        return (hidden * weights).sum(1) / weights.sum(1).clamp(min=1)
    return hidden[:, 0]


def hidden_state_batches(accelerator, encoder, tokenizer, texts: list[str], *, batch_size: int, max_length: int,
                         reporter: Reporter, description: str, speed=None):
    """This process's share of the texts, tokenised once (truncated to ``max_length``), in
    length-sorted batches of ``batch_size``, each through the encoder once with every hidden state:
    yields (row indices, hidden states, attention mask). Process ``r`` of ``n`` takes batches
    ``r, r + n, …``; callers fill their rows and sum across processes. Run it under
    ``torch.inference_mode`` (``embed`` does)."""
    if not texts:
        return
    bare = accelerator.unwrap_model(encoder)
    start = position_start(bare)
    ids = tokenizer(texts, truncation=True, max_length=max_length)["input_ids"]
    batches = sorted_batches([len(row) for row in ids], batch_size)
    mine = batches[accelerator.process_index::accelerator.num_processes]
    with reporter.task(description, total=len(mine)) as advance:
        for indices in mine:
            rows = [ids[i] for i in indices]
            width = max(len(r) for r in rows)
            batch = transfer({"input_ids": pad_rows(rows, tokenizer.pad_token_id, width),
                              "attention_mask": pad_rows([[1] * len(r) for r in rows], 0, width)},
                             accelerator.device, speed, position_start_id=start)
            with accelerator.autocast():
                if packed_form(batch) is not None and reads_packed(bare):
                    states = run_packed(encoder, batch, all_states=True)
                else:
                    states = encoder(**encoder_inputs(encoder, batch), output_hidden_states=True).hidden_states
            yield torch.tensor(indices, device=accelerator.device), states, batch["attention_mask"]
            advance()


@torch.inference_mode()
def embed(accelerator, encoder, tokenizer, texts: list[str], *, layer: int, pooling: str, batch_size: int,
          max_length: int, reporter: Reporter, description: str, speed=None) -> torch.Tensor:
    """L2-normalised sentence embeddings (float32, on the accelerator's device), in input order,
    from length-sorted batches under ``torch.inference_mode``."""
    if pooling not in POOLINGS:
        raise ValueError(f"unknown pooling {pooling!r}")
    encoder.eval()
    out = torch.zeros(len(texts), accelerator.unwrap_model(encoder).config.hidden_size, device=accelerator.device)
    for where, states, mask in hidden_state_batches(accelerator, encoder, tokenizer, texts, batch_size=batch_size,
                                                    max_length=max_length, reporter=reporter,
                                                    description=description, speed=speed):
        out[where] = pool(states[layer].float(), mask, pooling)
    if accelerator.num_processes > 1:  # each process filled its own rows; the rest are zeros
        out = accelerator.reduce(out, reduction="sum")
    return torch.nn.functional.normalize(out, dim=-1)


#: similarity scores held at once by a search (256 MiB of float32): queries are taken in blocks of
#: this many divided by the number of keys, so memory stays bounded whatever the corpus size
#: (BUCC's 100,000 × 100,000 search holds 671 × 100,000 scores at a time, not 40 GB).
SCORES_PER_BLOCK = 2 ** 26


def block_rows(keys: int, chunk: int | None = None) -> int:
    """Queries per block: ``chunk`` when given, else as many as ``SCORES_PER_BLOCK`` allows."""
    return chunk if chunk is not None else max(1, SCORES_PER_BLOCK // max(1, keys))


def top_k(queries: torch.Tensor, keys: torch.Tensor, k: int = 1,
          chunk: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Cosine scores and indices of each query's ``k`` nearest keys (inputs normalised).

    Queries are processed in blocks (``block_rows``), on the inputs' device, so memory is
    O(block × len(keys)), not O(len(queries) × len(keys)).
    """
    chunk = block_rows(keys.shape[0], chunk)
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


def tatoeba_search(source: torch.Tensor, target: torch.Tensor, chunk: int | None = None) -> tuple[list[int], list[int]]:
    """Each source's prediction (as ``tatoeba_accuracy``) and the rank of its gold target (line i).

    Rank 1 means the search retrieved the gold sentence; otherwise it is 1 + the targets scoring
    above it + those tied with it (a tie the search broke the other way counts against it), so
    that ``rank == 1`` exactly when the prediction is right.
    """
    chunk = block_rows(target.shape[0], chunk)
    predicted: list[int] = []
    ranks: list[int] = []
    for start in range(0, source.shape[0], chunk):
        similarity = source[start:start + chunk] @ target.T
        rows = torch.arange(similarity.shape[0], device=similarity.device)
        best = similarity.topk(1, dim=1).indices[:, 0]
        gold = similarity[rows, rows + start].unsqueeze(1)
        above = (similarity > gold).sum(dim=1)
        tied = (similarity == gold).sum(dim=1) - 1
        right = best == rows + start
        ranks.extend(torch.where(right, torch.ones_like(above), 1 + above + tied).tolist())
        predicted.extend(best.tolist())
    return predicted, ranks


def test_ids(data, lang: str) -> list[str]:
    """The test examples' own ids where the data has them, else their index."""
    return [str(example.get("id", index)) for index, example in enumerate(data.load("test", lang))]


class Retrieval:
    """An untrained kind: ``evaluate_language`` returns (predictions, details, outcomes) of one language."""

    name = "retrieval"

    def prediction_text(self, prediction: int, spec) -> str:
        return str(prediction)

    def evaluate_language(self, accelerator, encoder, tokenizer, data, lang: str, options: dict):
        """Tatoeba for one language: each sentence's nearest English one; outcomes with the gold's rank."""
        pairs = data.load("test", lang)
        source = embed(accelerator, encoder, tokenizer, [p["source"] for p in pairs], description=f"{lang} side",
                       **options)
        target = embed(accelerator, encoder, tokenizer, [p["target"] for p in pairs], description=f"{lang}-en side",
                       **options)
        predicted, ranks = tatoeba_search(source, target)
        outcome = outcomes.make(data.spec.name, data.spec.kind, lang, "accuracy", test_ids(data, lang),
                                correct=[int(p == i) for i, p in enumerate(predicted)], extra={"rank": ranks})
        return predicted, {}, outcome


KIND = Retrieval()


# -- bitext mining (BUCC) --------------------------------------------------------------------

def margin_candidates(source: torch.Tensor, target: torch.Tensor, k: int = 4,
                      chunk: int | None = None) -> list[tuple[int, int, float]]:
    """Candidate pairs by ratio margin (Artetxe & Schwenk, 2019), best match in both directions.

    margin(x, y) = cos(x, y) / ((mean cos of x's k nearest targets + mean cos of y's k nearest
    sources) / 2). Each source proposes its best target among its k nearest, each target its
    best source; candidates are taken in descending score, each sentence used at most once.
    Everything up to that last greedy pass runs on the inputs' device, in bounded blocks, and
    is read back in one transfer.
    """
    fwd_scores, fwd_index = top_k(source, target, k=k, chunk=chunk)
    bwd_scores, bwd_index = top_k(target, source, k=k, chunk=chunk)
    fwd_mean, bwd_mean = fwd_scores.mean(dim=1), bwd_scores.mean(dim=1)
    fwd_margin = fwd_scores / ((fwd_mean.unsqueeze(1) + bwd_mean[fwd_index]) / 2)
    bwd_margin = bwd_scores / ((bwd_mean.unsqueeze(1) + fwd_mean[bwd_index]) / 2)
    fwd_best, fwd_at = fwd_margin.max(dim=1)
    bwd_best, bwd_at = bwd_margin.max(dim=1)
    device = source.device
    sources = torch.cat([torch.arange(source.shape[0], device=device), bwd_index.gather(1, bwd_at[:, None])[:, 0]])
    targets = torch.cat([fwd_index.gather(1, fwd_at[:, None])[:, 0], torch.arange(target.shape[0], device=device)])
    scores = torch.cat([fwd_best, bwd_best])
    # best first; equal scores keep their order (forward proposals first, by index)
    order = torch.sort(scores, descending=True, stable=True).indices
    pairs = zip(sources[order].tolist(), targets[order].tolist(), scores[order].tolist())
    used_source, used_target, kept = set(), set(), []
    for i, j, score in pairs:
        if i not in used_source and j not in used_target:
            used_source.add(i)
            used_target.add(j)
            kept.append((i, j, score))
    return kept


def best_threshold(candidates: list[tuple[str, str, float]], gold: set[tuple[str, str]]) -> float:
    """The score threshold that maximises F1 of the candidates above it against ``gold``.

    Candidates are taken best first; the threshold lies halfway between the last kept
    candidate's score and the next one's.
    """
    ranked = sorted(candidates, key=lambda c: -c[2])
    best_f1, threshold, correct = 0.0, float("inf"), 0
    for n, (src, tgt, score) in enumerate(ranked, start=1):
        correct += (src, tgt) in gold
        if correct == 0:
            continue
        precision, recall = correct / n, correct / len(gold)
        f1 = 2 * precision * recall / (precision + recall)
        if f1 > best_f1:
            best_f1 = f1
            threshold = (score + ranked[n][2]) / 2 if n < len(ranked) else score - 1e-6
    return threshold


class BitextMining:
    name = "bitext_mining"

    def prediction_text(self, prediction: tuple[str, str], spec) -> str:
        return "\t".join(prediction)

    def evaluate_language(self, accelerator, encoder, tokenizer, data, lang: str, options: dict):
        """BUCC for one language: threshold from the dev split's gold, pairs mined on test.

        Returns the mined pairs, the details and the outcomes (per source sentence tp/fp/fn of its
        mined pairs; None when the test split has no gold).
        """
        from harness.compute.metrics import pair_counts, pair_f1

        def candidates(split: str):
            (corpus,) = data.load(split, lang)
            source = embed(accelerator, encoder, tokenizer, [t for _, t in corpus["source"]],
                           description=f"{lang} {split}", **options)
            target = embed(accelerator, encoder, tokenizer, [t for _, t in corpus["target"]],
                           description=f"en {split}", **options)
            mined = margin_candidates(source, target, k=4)
            return corpus, [(corpus["source"][i][0], corpus["target"][j][0], score) for i, j, score in mined]

        dev, dev_candidates = candidates("dev")
        if not dev["gold"]:
            raise UserError(f"{data.spec.name} {lang}: the dev (sample) split has no gold pairs, so no threshold "
                            f"can be chosen; add its .gold file")
        threshold = best_threshold(dev_candidates, set(dev["gold"]))
        test, test_candidates = candidates("test")
        mined = [(src, tgt) for src, tgt, score in test_candidates if score > threshold]
        detail: dict = {"threshold": threshold, "dev_f1": pair_f1(["\t".join(g) for g in dev["gold"]],
                        ["\t".join(p[:2]) for p in dev_candidates if p[2] > threshold])["f1"],
                        "mined": len(mined)}
        if test["gold"] is None:
            return mined, detail, None
        gold, found = ["\t".join(g) for g in test["gold"]], ["\t".join(p) for p in mined]
        result = pair_f1(gold, found)
        detail.update(precision=result["precision"], recall=result["recall"])
        counts = pair_counts([ident for ident, _ in test["source"]], gold, found)
        outcome = outcomes.make(data.spec.name, data.spec.kind, lang, "f1_counts", [c[0] for c in counts],
                                tp=[c[1] for c in counts], fp=[c[2] for c in counts], fn=[c[3] for c in counts],
                                extra={"mined": [list(pair) for pair in mined]})
        return mined, detail, outcome


BITEXT_MINING = BitextMining()
