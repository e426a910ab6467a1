"""Length-bucketed batching."""

from __future__ import annotations

import random

import torch
from lightning.fabric.utilities.data import _set_sampler_epoch
from torch.utils.data import DataLoader

from lstmlab.data.batching.ragged import Ragged
from lstmlab.data.batching.samplers import BucketBatchSampler, EpochSampler
from lstmlab.data.tagging.split import TAG_PADDING, TaggedSplit
from lstmlab.data.vocab.text_vocabs import TextVocabs


def lengths(n=1000, seed=0):
    rng = random.Random(seed)
    return [rng.randint(1, 60) for _ in range(n)]


def padding(batches, sizes):
    real = sum(sizes[i] for b in batches for i in b)
    return 1 - real / sum(len(b) * max(sizes[i] for i in b) for b in batches)


def bucket(sizes, batch_size, shuffle=True, seed=0, num_replicas=1, rank=0):
    return BucketBatchSampler(EpochSampler(len(sizes), shuffle=shuffle, seed=seed), sizes, batch_size,
                              num_replicas=num_replicas, rank=rank)


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


def test_training_ranks_take_equal_steps_and_repeat_only_the_remainder():
    """330 items in 11 batches of 32 over 2 ranks: 6 steps each, so exactly one batch is repeated."""
    sizes = lengths(330)
    shares = [list(bucket(sizes, 32, seed=3, num_replicas=2, rank=rank)) for rank in range(2)]
    assert [len(share) for share in shares] == [6, 6] == [len(bucket(sizes, 32, num_replicas=2, rank=r))
                                                        for r in range(2)]
    batches = [tuple(b) for share in shares for b in share]
    assert len(set(batches)) == 11  # 12 batches taken, 11 distinct: one repeat to even the steps out
    assert {i for b in batches for i in b} == set(range(len(sizes)))
    rank0, rank1 = ({i for b in share for i in b} for share in shares)
    overlap = rank0 & rank1
    assert len(overlap) <= 32  # at most the repeated batch is shared


def test_evaluation_shards_are_disjoint_and_cover_every_item_once():
    """Validation/test under DDP: no item repeats, so metrics count every sentence exactly once."""
    sizes = lengths(330)
    shares = [list(bucket(sizes, 32, shuffle=False, num_replicas=2, rank=rank)) for rank in range(2)]
    flat = [i for share in shares for b in share for i in b]
    assert sorted(flat) == list(range(len(sizes)))  # each index exactly once over both ranks
    assert [len(share) for share in shares] == [6, 5]
    assert [len(bucket(sizes, 32, shuffle=False, num_replicas=2, rank=r)) for r in range(2)] == [6, 5]


def test_sampler_built_outside_training_never_shards():
    """A sampler without explicit replicas yields everything, even inside a process group."""
    sizes = lengths(100)
    assert sorted(i for b in bucket(sizes, 7, shuffle=False) for i in b) == list(range(100))


def test_pair_lengths_bucket_by_both_sentences():
    pairs = [(3, 9), (3, 2), (1, 1), (3, 5)]
    batches = list(bucket(pairs, 2, shuffle=False))
    assert batches == [[2, 1], [3, 0]]


def test_tagged_split_pads_masks_and_counts():
    vocabs = TextVocabs.build(TextVocabs.count_forms([["a", "bb"]]), ["X", "Y"])
    split = TaggedSplit(vocabs.encode_tokens([["a", "bb"], ["bb"]]), Ragged.from_rows([[0, 1], [1]]))
    batch = split.__getitems__([0, 1])
    assert batch["words"].shape == (2, 2) and batch["chars"].shape == (2, 2, 2)
    assert batch["mask"].tolist() == [[True, True], [True, False]]
    assert batch["tags"].tolist() == [[0, 1], [1, TAG_PADDING]]
    assert batch["words"].tolist() == [[vocabs.words.index("a"), vocabs.words.index("bb")],
                                       [vocabs.words.index("bb"), 0]]
    assert batch["chars"][0, 1].tolist() == vocabs.chars.encode(["b", "b"])
    assert batch["chars"][0, 0].tolist() == [vocabs.chars.index("a"), 0]
    assert torch.equal(batch["chars"][1, 1], torch.zeros(2, dtype=torch.long))
    assert (batch["num_tokens"], batch["num_positions"]) == (3, 4)


def test_ragged_rows_round_trip():
    rows = [[1, 2], [], [3, 4, 5]]
    ragged = Ragged.from_rows(rows)
    assert [ragged[i].tolist() for i in range(len(ragged))] == rows
    assert ragged.lengths.tolist() == [2, 0, 3] and ragged.nbytes == 5 * 4 + 4 * 8
