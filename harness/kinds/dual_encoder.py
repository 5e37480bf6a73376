"""Trained dual-encoder retrieval (LAReQA, Mewsli-X).

Queries and candidates are encoded by the one shared encoder and pooled (first token or mean,
optionally L2-normalised); training minimises the in-batch softmax loss: each query's own
candidate is the right class among every candidate of the batch, the logits being ``scale``
times the dot products. A candidate that appears twice in a batch (two SQuAD questions share an
answer sentence) is masked out of the other query's negatives rather than counted as wrong.
Evaluation ranks a candidate pool for every query and scores the top ``top_k``.

Examples (what a reader yields):

* training pair: ``{"query": str, "candidate": str}``, optionally ``"candidate_id"`` (same id,
  same candidate); a split of pairs is ranked against its own distinct candidates;
* query: ``{"query": str, "id": str, "relevant": [candidate ids]}`` and/or ``"key": str``;
* candidate: ``{"candidate": str, "id": str}``, optionally ``"answers": [keys]``: relevant to
  every query whose ``key`` is listed (LAReQA: an answer sentence lists the question ids it
  answers, in every language, so a question's right answers are found across languages).
  A candidate (or a pair's candidate) may carry ``"candidate_context"``: it is encoded with its
  context as a text pair (LAReQA encodes an answer sentence with its paragraph, as XTREME-R
  trains it).

The kind's settings (``harness.kinds.BUILTIN``; tasks override them in ``defaults``, users with
``--setting``) reach it through the task spec's ``defaults`` (see ``runners.with_kind_settings``).
"""

from __future__ import annotations

import json
from typing import Any

import torch
from torch import nn

from harness.compute import metrics, outcomes
from harness.compute.batching import sorted_batches
from harness.kinds.base import TaskKind, pad_rows
from harness.compute.speed import (PACKED, Speed, encoder_inputs, position_start, reads_packed, run_packed_ids,
                           transfer)

POOLINGS = ("cls", "mean")
#: Query-by-candidate scores computed at once: 2**26 float32 = 256 MiB (64 queries against a
#: million candidates, 1024 against up to 65,536).
SCORES_PER_CHUNK = 2 ** 26


def kind_settings(spec) -> dict[str, Any]:
    from harness.kinds import kind_spec

    settings = dict(kind_spec("dual_encoder").settings)
    settings.update({k: v for k, v in spec.defaults.items() if k in settings})
    return settings


class DualHead(nn.Module):
    """How hidden states become embeddings (pooling, normalisation) and embeddings logits: a
    scale on the dot products, trainable when ``learn_scale`` (XTREME-R's starts at 100)."""

    def __init__(self, pooling: str, normalize: bool, scale: float, learn_scale: bool = False):
        super().__init__()
        if pooling not in POOLINGS:
            raise ValueError(f"unknown pooling {pooling!r}")
        self.pooling, self.normalize = pooling, bool(normalize)
        value = torch.tensor(float(scale))
        if learn_scale:
            self.scale = nn.Parameter(value)
        else:
            self.register_buffer("scale", value)

    def embed(self, encoder: nn.Module, ids: torch.Tensor, mask: torch.Tensor,
              types: torch.Tensor | None = None) -> torch.Tensor:
        if getattr(ids, PACKED, None) is not None and reads_packed(encoder):  # unpadded (harness.compute.speed)
            hidden = run_packed_ids(encoder, ids)
        else:
            inputs = {"input_ids": ids, "attention_mask": mask}
            if types is not None:  # a (sentence, paragraph) pair on a model with segment embeddings (mBERT)
                inputs["token_type_ids"] = types
            hidden = encoder(**encoder_inputs(encoder, inputs)).last_hidden_state
        if self.pooling == "cls":
            pooled = hidden[:, 0]
        else:
            weights = mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1)
        pooled = pooled.float()
        return nn.functional.normalize(pooled, dim=-1) if self.normalize else pooled


def _pad(rows: list[list[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(r) for r in rows)
    return pad_rows(rows, pad_id, width), pad_rows([[1] * len(r) for r in rows], 0, width)


def _pad_types(rows: list[list[int] | None]) -> torch.Tensor | None:
    """Token-type rows padded with 0, or None when the tokenizer made none."""
    if any(r is None for r in rows):
        return None
    return pad_rows(rows, 0, max(len(r) for r in rows))


def top_k_ranked(scores: torch.Tensor, k: int) -> list[list[int]]:
    """Each row's k best column indices, best first; equal scores in pool (column) order.

    ``topk`` alone leaves the order of equal scores unspecified; here a tie is always broken
    towards the candidate that comes first in the pool, including at the k-th place. The top k are
    put in that order for all rows at once; a row with a tie across the cut (more candidates at the
    k-th score than places left) takes them from the pool in order, row by row.
    """
    k = min(k, scores.shape[1])
    if k == 0:
        return [[] for _ in range(scores.shape[0])]
    values, indices = scores.topk(k, dim=1)
    by_index, permutation = indices.sort(dim=1)  # pool order first, then a stable sort on the score
    order = (-values.gather(1, permutation)).argsort(dim=1, stable=True)
    ranked = by_index.gather(1, order).tolist()
    kth = values[:, -1:]
    for row in ((scores >= kth).sum(dim=1) > k).nonzero().flatten().tolist():
        better = (scores[row] > kth[row]).nonzero().flatten().tolist()
        better.sort(key=lambda j, r=scores[row]: (-float(r[j]), j))
        level = (scores[row] == kth[row]).nonzero().flatten().tolist()[: k - len(better)]
        ranked[row] = better + level
    return ranked


class DualEncoder(TaskKind):
    name = "dual_encoder"
    #: the encoder inputs of a training batch, for ``harness.compute.speed.transfer``
    encoder_input_keys = (("query_ids", "query_mask", None), ("candidate_ids", "candidate_mask", "candidate_types"))

    # -- features --------------------------------------------------------------------------
    def featurize(self, examples, tokenizer, max_length, spec):
        settings = kind_settings(spec)
        query_length = min(int(settings["query_max_length"]), max_length)
        candidate_length = min(int(settings["candidate_max_length"]), max_length)
        queries = [e["query"] for e in examples if "query" in e]
        with_context = [e for e in examples if "candidate" in e]
        candidates = [e["candidate"] for e in with_context]
        contexts = [e.get("candidate_context") for e in with_context]
        query_ids = tokenizer(queries, truncation=True, max_length=query_length)["input_ids"] if queries else []
        candidate_ids: list[list[int]] = []
        candidate_types: list[list[int]] | None = None
        if candidates and all(c is not None for c in contexts):  # (sentence, paragraph) as a pair (LAReQA)
            encoded = tokenizer(candidates, contexts, truncation="longest_first", max_length=candidate_length)
            candidate_ids, candidate_types = encoded["input_ids"], encoded.get("token_type_ids")
        elif candidates:
            plain = [c if x is None else f"{c} {x}" for c, x in zip(candidates, contexts)]
            candidate_ids = tokenizer(plain, truncation=True, max_length=candidate_length)["input_ids"]
        features, qi, ci = [], 0, 0
        for index, example in enumerate(examples):
            feature: dict[str, Any] = {}
            if "query" in example:
                feature["query_ids"] = query_ids[qi]
                qi += 1
            if "candidate" in example:
                feature["candidate_ids"] = candidate_ids[ci]
                if candidate_types is not None:
                    feature["candidate_types"] = candidate_types[ci]
                ci += 1
            if "query" in example and "candidate" in example:  # a training pair
                feature["candidate_id"] = str(example.get("candidate_id", example["candidate"]))
                feature["length"] = len(feature["query_ids"]) + len(feature["candidate_ids"])
            elif "query" in example:
                feature.update(id=str(example.get("id", index)), relevant=[str(r) for r in example.get("relevant", ())],
                               key=example.get("key"), length=len(feature["query_ids"]))
            elif "candidate" in example:
                feature.update(id=str(example.get("id", index)), answers=[str(a) for a in example.get("answers", ())],
                               length=len(feature["candidate_ids"]))
            else:
                raise ValueError(f"{spec.name}: an example has neither a query nor a candidate")
            feature["label"] = 0
            features.append(feature)
        return features

    def build_head(self, spec, config):
        settings = kind_settings(spec)
        return DualHead(settings["pooling"], settings["normalize"], settings["scale"], settings["learn_scale"])

    # -- training ---------------------------------------------------------------------------
    def collate(self, features, pad_id):
        queries, query_mask = _pad([f["query_ids"] for f in features], pad_id)
        candidates, candidate_mask = _pad([f["candidate_ids"] for f in features], pad_id)
        numbered: dict[str, int] = {}
        keys = torch.tensor([numbered.setdefault(f["candidate_id"], len(numbered)) for f in features])
        batch = {"query_ids": queries, "query_mask": query_mask, "candidate_ids": candidates,
                 "candidate_mask": candidate_mask, "same_candidate": keys[:, None] == keys[None, :],
                 "labels": torch.arange(len(features), dtype=torch.long)}
        types = _pad_types([f.get("candidate_types") for f in features])
        if types is not None:
            batch["candidate_types"] = types
        return batch

    def forward(self, encoder, head, batch):
        queries = head.embed(encoder, batch["query_ids"], batch["query_mask"])
        candidates = head.embed(encoder, batch["candidate_ids"], batch["candidate_mask"], batch.get("candidate_types"))
        logits = head.scale * queries @ candidates.T
        duplicate = batch["same_candidate"] & ~torch.eye(len(logits), dtype=torch.bool, device=logits.device)
        return logits.masked_fill(duplicate, torch.finfo(logits.dtype).min)

    # -- ranking ------------------------------------------------------------------------------
    @torch.inference_mode()
    def _encode(self, accelerator, model, task: str, rows: list[tuple[list[int], list[int] | None]], *,
                batch_size: int, pad_id: int, reporter, description: str) -> torch.Tensor:
        """Embeddings of ``(token ids, token types or None)`` rows, in order, computed across processes."""
        unwrapped = accelerator.unwrap_model(model)
        encoder, head = unwrapped.encoder, unwrapped.heads[task]
        was_training = unwrapped.training
        unwrapped.eval()
        # packed where the encoder's kernel reads packed rows (FlashAttention), pinned on a GPU
        moving = Speed(unpadded=reads_packed(encoder), pin_memory=accelerator.device.type == "cuda")
        start = position_start(encoder)
        out = None
        batches = sorted_batches([len(r[0]) for r in rows], batch_size)
        mine = batches[accelerator.process_index::accelerator.num_processes]
        with reporter.task(description, total=len(mine)) as advance:
            for indices in mine:
                ids, mask = _pad([rows[i][0] for i in indices], pad_id)
                types = _pad_types([rows[i][1] for i in indices])
                batch = {"input_ids": ids, "attention_mask": mask}
                if types is not None:
                    batch["token_type_ids"] = types
                batch = transfer(batch, accelerator.device, moving, position_start_id=start)
                with accelerator.autocast():
                    vectors = head.embed(encoder, batch["input_ids"], batch["attention_mask"],
                                         batch.get("token_type_ids"))
                if out is None:
                    out = torch.zeros(len(rows), vectors.shape[1], device=accelerator.device)
                out[torch.tensor(indices, device=accelerator.device)] = vectors
                advance()
        if out is None:  # this process had no batch (fewer batches than processes)
            hidden = unwrapped.encoder.config.hidden_size
            out = torch.zeros(len(rows), hidden, device=accelerator.device)
        if accelerator.num_processes > 1:  # each process filled its own rows; the rest are zeros
            out = accelerator.reduce(out, reduction="sum")
        unwrapped.train(was_training)
        return out

    @staticmethod
    def _pool_of(features: list[dict]) -> tuple[list[str], list[tuple[list[int], list[int] | None]]]:
        """(ids, token rows) of the distinct candidates among ``features`` (a pair's or a candidate's)."""
        ids, rows, seen = [], [], set()
        for feature in features:
            if "query_ids" in feature and "candidate_ids" in feature:
                ident = feature["candidate_id"]
            elif "candidate_ids" in feature:
                ident = feature["id"]
            else:
                continue
            if ident not in seen:
                seen.add(ident)
                ids.append(ident)
                rows.append((feature["candidate_ids"], feature.get("candidate_types")))
        return ids, rows

    def _ranked(self, accelerator, model, task, features, pool_ids, candidates, *, top_k, batch_size, pad_id,
                reporter, description) -> list:
        """Predictions aligned with ``features``: each query's top-k pool ids, None for a candidate."""
        asking = [i for i, f in enumerate(features) if "query_ids" in f]
        predictions: list = [None] * len(features)
        if not asking:
            return predictions
        queries = self._encode(accelerator, model, task, [(features[i]["query_ids"], None) for i in asking],
                               batch_size=batch_size, pad_id=pad_id, reporter=reporter,
                               description=f"{description}: {len(asking)} queries")
        step = max(1, min(1024, SCORES_PER_CHUNK // max(1, len(pool_ids))))  # bounded memory for a 1M pool
        for start in range(0, len(asking), step):
            for offset, order in enumerate(top_k_ranked(queries[start:start + step] @ candidates.T, top_k)):
                predictions[asking[start + offset]] = [pool_ids[j] for j in order]
        return predictions

    def predict_features(self, accelerator, model, task: str, features: list[dict], *, batch_size: int, pad_id: int,
                         reporter, description: str, spec=None) -> list:
        """One prediction per feature: a query's (or pair's) ranked candidate ids; None for a candidate.

        The split's own distinct candidates are the pool (a dev split of training pairs is ranked
        against its own candidates); as many are kept per query as the task's ``top_k`` setting.
        """
        top_k = int(kind_settings(spec)["top_k"]) if spec is not None else 20
        pool_ids, pool_rows = self._pool_of(features)
        candidates = self._encode(accelerator, model, task, pool_rows, batch_size=batch_size, pad_id=pad_id,
                                  reporter=reporter, description=f"{description}: {len(pool_rows)} candidates")
        return self._ranked(accelerator, model, task, features, pool_ids, candidates, top_k=top_k,
                            batch_size=batch_size, pad_id=pad_id, reporter=reporter, description=description)

    def predict_tests(self, accelerator, model, task: str, tests: dict[str, list[dict]], pool: list[dict],
                      *, batch_size: int, pad_id: int, reporter, spec) -> dict[str, list]:
        """Every test language's queries ranked against one pool, the candidates of all languages,
        encoded once."""
        pool_ids, pool_rows = self._pool_of([f for f in pool if "query_ids" not in f])
        candidates = self._encode(accelerator, model, task, pool_rows, batch_size=batch_size, pad_id=pad_id,
                                  reporter=reporter, description=f"{spec.name} test: {len(pool_rows)} candidates")
        top_k = int(kind_settings(spec)["top_k"])
        return {lang: self._ranked(accelerator, model, task, features, pool_ids, candidates, top_k=top_k,
                                   batch_size=batch_size, pad_id=pad_id, reporter=reporter,
                                   description=f"{spec.name} test {lang}")
                for lang, features in tests.items()}

    # -- scoring -------------------------------------------------------------------------------
    @staticmethod
    def relevance(features: list[dict], pool: list[dict] | None = None) -> list[set[str]]:
        """Each query's relevant candidate ids (pairs: their own candidate), aligned with ``features``
        (an empty set for a candidate)."""
        by_key: dict[str, set[str]] = {}
        for feature in pool if pool is not None else features:
            if "candidate_ids" in feature and "query_ids" not in feature:
                for key in feature.get("answers", ()):
                    by_key.setdefault(key, set()).add(feature["id"])
        relevant = []
        for feature in features:
            if "query_ids" in feature and "candidate_ids" in feature:
                relevant.append({feature["candidate_id"]})
            elif "query_ids" in feature:
                found = set(feature["relevant"])
                if feature.get("key") is not None:
                    found |= by_key.get(str(feature["key"]), set())
                relevant.append(found)
            else:
                relevant.append(set())
        return relevant

    def _queries(self, predictions, features, pool=None):
        relevant = self.relevance(features, pool)
        return [(f, p, r) for f, p, r in zip(features, predictions, relevant) if "query_ids" in f]

    def score(self, predictions, features, spec, lang=None):
        k = int(kind_settings(spec)["top_k"])
        queries = self._queries(predictions, features)
        return metrics.map_at_k([p for _, p, _ in queries], [r for _, _, r in queries], k)

    def evaluate_test(self, predictions, features, spec, lang, ids=None, pool=None):
        """mAP@k from the outcomes (one AP@k per query), MRR@k and recall@1/k as details, and the
        ranked ids as the prediction file. ``ids`` is ignored: the queries carry their own."""
        k = int(kind_settings(spec)["top_k"])
        queries = self._queries(predictions, features, pool)
        ranked = [p for _, p, _ in queries]
        relevant = [r for _, _, r in queries]
        ap = [metrics.average_precision_at_k(p, r, k) for p, r in zip(ranked, relevant)]
        reciprocal = [metrics.reciprocal_rank_at_k(p, r, k) for p, r in zip(ranked, relevant)]
        outcome = outcomes.make(spec.name, self.name, lang, "mean", [f["id"] for f, _, _ in queries], value=ap,
                                extra={"reciprocal_rank": reciprocal,
                                       "relevant": [len(r) for r in relevant]})
        n = max(1, len(queries))
        details = {f"mrr_at_{k}": 100.0 * sum(reciprocal) / n,
                   "recall_at_1": 100.0 * sum(metrics.recall_at_k(p, r, 1) for p, r in zip(ranked, relevant)) / n,
                   f"recall_at_{k}": 100.0 * sum(metrics.recall_at_k(p, r, k) for p, r in zip(ranked, relevant)) / n,
                   "accuracy_at_1": 100.0 * sum(metrics.accuracy_at_1(p, r) for p, r in zip(ranked, relevant)) / n}
        return outcomes.score(outcome), details, self.prediction_file(predictions, features, spec, lang), outcome

    def prediction_file(self, predictions, features, spec, lang):
        """``{query id: [its top-k candidate ids, best first]}``: XTREME-R's Mewsli-X submission
        format, which ``xharness score`` reads for LAReQA too."""
        ranked = {f["id"]: list(p) for f, p in zip(features, predictions) if "query_ids" in f}
        return "json", json.dumps(ranked, ensure_ascii=False) + "\n"


KIND = DualEncoder()
