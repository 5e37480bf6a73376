"""Length-grouped batching: every example once per epoch, equal shards, little padding."""

import random

from harness.compute.batching import (even_shard, length_grouped_batches, random_batches, sorted_batches,
                              token_efficiency)


def _lengths(n=3000, seed=0):
    rng = random.Random(seed)
    return [max(5, int(rng.lognormvariate(3.5, 0.5))) for _ in range(n)]


def test_each_example_exactly_once_and_order_changes_with_seed():
    lengths = _lengths()
    for make in (lambda: length_grouped_batches(lengths, 32, seed=1), lambda: sorted_batches(lengths, 32)):
        flat = [i for batch in make() for i in batch]
        assert sorted(flat) == list(range(len(lengths)))
    assert length_grouped_batches(lengths, 32, seed=1) != length_grouped_batches(lengths, 32, seed=2)
    assert length_grouped_batches(lengths, 32, seed=1) == length_grouped_batches(lengths, 32, seed=1)


def test_grouping_pads_far_less_than_random_batches():
    lengths = _lengths()
    grouped = token_efficiency(lengths, length_grouped_batches(lengths, 32, seed=0))
    shuffled = token_efficiency(lengths, random_batches(len(lengths), 32, seed=0))
    fixed = sum(lengths) / (max(lengths) * len(lengths))
    assert grouped >= 0.95 > shuffled > fixed


def test_even_shard_gives_every_process_the_same_number_of_batches():
    batches = [[i] for i in range(7)]
    shards = [even_shard(batches, rank, 3) for rank in range(3)]
    assert [len(s) for s in shards] == [3, 3, 3]
    assert {b[0] for s in shards for b in s} == set(range(7))  # nothing dropped; two batches repeated
    assert even_shard(batches, 0, 1) == batches
