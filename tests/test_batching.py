"""Length-bucketed batching."""

from __future__ import annotations

import random

import torch
from lightning.fabric.utilities.data import _set_sampler_epoch
from torch.utils.data import DataLoader

from lstmlab.data.batching import TAG_PADDING, BucketBatchSampler, EpochSampler, collate_sentences
from lstmlab.data.tagging_vocabs import TaggingVocabs


def lengths(n=1000, seed=0):
    rng = random.Random(seed)
    return [rng.randint(1, 60) for _ in range(n)]


def padding(batches, sizes):
    real = sum(sizes[i] for b in batches for i in b)
    return 1 - real / sum(len(b) * max(sizes[i] for i in b) for b in batches)


def bucket(sizes, batch_size, shuffle=True, seed=0):
    return BucketBatchSampler(EpochSampler(len(sizes), shuffle=shuffle, seed=seed), sizes, batch_size)


def test_every_index_once_deterministic_per_epoch_and_little_padding():
    sizes = lengths()
    sampler = bucket(sizes, 32, seed=7)
    first = list(sampler)
    assert sorted(i for b in first for i in b) == list(range(len(sizes)))
    assert len(first) == len(sampler) == 32
    assert list(sampler) == first
    sampler.sampler.set_epoch(1)
    assert list(sampler) != first
    unsorted = [list(range(i, min(i + 32, len(sizes)))) for i in range(0, len(sizes), 32)]
    assert padding(first, sizes) < 0.1 < padding(unsorted, sizes)


def test_lightning_epoch_hook_reaches_the_sampler():
    """Lightning calls set_epoch on `dataloader.batch_sampler.sampler`: every epoch must get new batches."""
    sizes = lengths(200)
    loader = DataLoader(list(range(200)), batch_sampler=bucket(sizes, 16, seed=1))
    orders = []
    for epoch in range(3):
        _set_sampler_epoch(loader, epoch)
        orders.append([batch.tolist() for batch in loader])
    assert orders[0] != orders[1] != orders[2]
    _set_sampler_epoch(loader, 1)
    assert [batch.tolist() for batch in loader] == orders[1]
    early = iter(loader)  # Lightning makes the iterator first, then sets the epoch
    _set_sampler_epoch(loader, 2)
    assert [batch.tolist() for batch in early] == orders[2]


def test_evaluation_order_is_by_length():
    sizes = lengths(100)
    batches = list(bucket(sizes, 10, shuffle=False))
    flat = [i for b in batches for i in b]
    assert [sizes[i] for i in flat] == sorted(sizes)


def test_ranks_get_disjoint_equal_shares():
    sizes = lengths(330)
    shares = []
    for rank in range(2):
        sampler = bucket(sizes, 32, seed=3)
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
