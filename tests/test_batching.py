"""Length-bucketed batching."""

from __future__ import annotations

import random

import torch

from lstmlab.data.batching import TAG_PADDING, BucketBatchSampler, collate_sentences
from lstmlab.data.tagging_vocabs import TaggingVocabs


def lengths(n=1000, seed=0):
    rng = random.Random(seed)
    return [rng.randint(1, 60) for _ in range(n)]


def padding(batches, sizes):
    real = sum(sizes[i] for b in batches for i in b)
    return 1 - real / sum(len(b) * max(sizes[i] for i in b) for b in batches)


def test_every_index_once_deterministic_per_epoch_and_little_padding():
    sizes = lengths()
    sampler = BucketBatchSampler(sizes, batch_size=32, seed=7)
    first = list(sampler)
    assert sorted(i for b in first for i in b) == list(range(len(sizes)))
    assert len(first) == len(sampler) == 32
    assert list(sampler) == first
    sampler.set_epoch(1)
    assert list(sampler) != first
    unsorted = [list(range(i, min(i + 32, len(sizes)))) for i in range(0, len(sizes), 32)]
    assert padding(first, sizes) < 0.1 < padding(unsorted, sizes)


def test_evaluation_order_is_by_length():
    sizes = lengths(100)
    batches = list(BucketBatchSampler(sizes, batch_size=10, shuffle=False))
    flat = [i for b in batches for i in b]
    assert [sizes[i] for i in flat] == sorted(sizes)


def test_ranks_get_disjoint_equal_shares():
    sizes = lengths(330)
    shares = []
    for rank in range(2):
        sampler = BucketBatchSampler(sizes, batch_size=32, seed=3)
        sampler.rank, sampler.world_size = rank, 2
        shares.append(list(sampler))
        assert len(shares[-1]) == len(sampler) == 6
    covered = {i for share in shares for b in share for i in b}
    assert covered == set(range(len(sizes)))


def test_collate_pads_and_masks():
    vocabs = TaggingVocabs.build([(["a", "bb"], ["X", "Y"])])
    batch = collate_sentences([vocabs.encode(["a", "bb"], ["X", "Y"]), vocabs.encode(["bb"], ["Y"])])
    assert batch["words"].shape == (2, 2) and batch["chars"].shape == (2, 2, 2)
    assert batch["mask"].tolist() == [[True, True], [True, False]]
    assert batch["tags"].tolist() == [[0, 1], [1, TAG_PADDING]]
    assert torch.equal(batch["chars"][1, 1], torch.zeros(2, dtype=torch.long))
