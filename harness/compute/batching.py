"""Batches padded to their longest member, grouped by length so little is padding.

Training batches come from length-sorted "mega-batches" (a shuffled window of
``batch_size * window`` examples, sorted, cut into batches, batch order shuffled): random
enough for SGD, tight enough that nearly every token is real. Evaluation batches are cut
from the fully sorted data. No torch here: the benchmark and tests use these directly.
"""

from __future__ import annotations

import random
from collections.abc import Sequence


def length_grouped_batches(lengths: Sequence[int], batch_size: int, *, seed: int, window: int = 50) -> list[list[int]]:
    rng = random.Random(seed)
    order = list(range(len(lengths)))
    rng.shuffle(order)
    span = batch_size * window
    batches: list[list[int]] = []
    for start in range(0, len(order), span):
        chunk = sorted(order[start:start + span], key=lambda i: lengths[i], reverse=True)
        batches.extend(chunk[j:j + batch_size] for j in range(0, len(chunk), batch_size))
    rng.shuffle(batches)
    return batches


def sorted_batches(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    order = sorted(range(len(lengths)), key=lambda i: lengths[i], reverse=True)
    return [order[j:j + batch_size] for j in range(0, len(order), batch_size)]


def random_batches(n: int, batch_size: int, *, seed: int) -> list[list[int]]:
    """Plain shuffled batches: the baseline the benchmark compares against."""
    order = list(range(n))
    random.Random(seed).shuffle(order)
    return [order[j:j + batch_size] for j in range(0, n, batch_size)]


def even_shard(batches: list[list[int]], rank: int, world: int) -> list[list[int]]:
    """This process's share of the batches; every process gets the same number.

    Distributed training needs equal step counts on all processes, so the list is topped up
    by repeating batches from its start (as DistributedSampler does for examples).
    """
    if world == 1:
        return batches
    if not batches:
        return []
    missing = (-len(batches)) % world
    topped = batches + [batches[i % len(batches)] for i in range(missing)]
    return topped[rank::world]


def token_efficiency(lengths: Sequence[int], batches: list[list[int]]) -> float:
    """Real tokens divided by tokens after padding each batch to its longest member."""
    real = sum(lengths[i] for b in batches for i in b)
    padded = sum(max(lengths[i] for i in b) * len(b) for b in batches if b)
    return real / padded if padded else 1.0
