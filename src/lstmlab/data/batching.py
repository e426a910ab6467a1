"""Length-bucketed batching: sentences of similar length share a batch, so padding stays small.

On CPU padding + masking beats packed sequences (DESIGN.md), which makes short padding the thing to optimise.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence

import torch
import torch.distributed as dist
from torch.utils.data import Sampler

from lstmlab.data.tagging_vocabs import EncodedSentence

TAG_PADDING = -100  # ignored by cross-entropy and by the accuracy metrics


class EpochSampler(Sampler[int]):
    """range(size), shuffled by (seed, epoch) when `shuffle`.

    Lightning calls `set_epoch` on a batch sampler's `.sampler` at every epoch start, resumed runs included,
    so each epoch gets a new order and a resumed run sees the same batches as an uninterrupted one.
    """

    def __init__(self, size: int, shuffle: bool = True, seed: int = 0) -> None:
        self.size = size
        self.shuffle = shuffle
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def random(self) -> random.Random:
        return random.Random(self.seed * 100_003 + self.epoch)

    def __iter__(self) -> Iterator[int]:
        indices = list(range(self.size))
        if self.shuffle:
            self.random().shuffle(indices)
        return iter(indices)

    def __len__(self) -> int:
        return self.size


class BucketBatchSampler(Sampler[list[int]]):
    """Take the sampler's order, cut it into pools of `pool_size` batches, sort each pool by length, batch,
    shuffle the batches. Without shuffling, all sentences are sorted by length (evaluation).

    Under DDP each rank takes every world_size-th batch (the last batches repeat so all ranks step alike).
    """

    def __init__(self, sampler: EpochSampler, lengths: Sequence[int], batch_size: int, pool_size: int = 50) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        if len(sampler) != len(lengths):
            raise ValueError(f"the sampler has {len(sampler)} items but {len(lengths)} lengths were given")
        self.sampler = sampler
        self.lengths = list(lengths)
        self.batch_size = batch_size
        self.pool_size = pool_size
        if dist.is_available() and dist.is_initialized():
            self.rank, self.world_size = dist.get_rank(), dist.get_world_size()
        else:
            self.rank, self.world_size = 0, 1

    def _batches(self) -> list[list[int]]:
        indices = list(self.sampler)
        if not self.sampler.shuffle:
            indices.sort(key=lambda i: self.lengths[i])
            return [indices[i : i + self.batch_size] for i in range(0, len(indices), self.batch_size)]
        pool = self.batch_size * self.pool_size
        batches = []
        for start in range(0, len(indices), pool):
            chunk = sorted(indices[start : start + pool], key=lambda i: self.lengths[i])
            batches += [chunk[i : i + self.batch_size] for i in range(0, len(chunk), self.batch_size)]
        self.sampler.random().shuffle(batches)
        return batches

    def __iter__(self) -> Iterator[list[int]]:
        # a generator, so the order is drawn at the first batch: Lightning creates the iterator before it calls
        # set_epoch, and an order drawn eagerly would belong to the previous epoch
        batches = self._batches()
        if self.world_size > 1:
            per_rank = -(-len(batches) // self.world_size)
            batches += batches[: per_rank * self.world_size - len(batches)]
            batches = batches[self.rank :: self.world_size]
        yield from batches

    def __len__(self) -> int:
        batches = -(-len(self.lengths) // self.batch_size)  # pools hold whole batches, so this is exact
        return -(-batches // self.world_size)


def collate_sentences(sentences: Sequence[EncodedSentence]) -> dict[str, torch.Tensor]:
    """Pad to the longest sentence and word of the batch; `mask` is True on real tokens."""
    batch_size = len(sentences)
    max_tokens = max(len(s.words) for s in sentences)
    max_chars = max(s.chars.shape[1] for s in sentences)
    words = torch.zeros(batch_size, max_tokens, dtype=torch.long)
    chars = torch.zeros(batch_size, max_tokens, max_chars, dtype=torch.long)
    mask = torch.zeros(batch_size, max_tokens, dtype=torch.bool)
    tags = torch.full((batch_size, max_tokens), TAG_PADDING, dtype=torch.long)
    for row, sentence in enumerate(sentences):
        length, width = sentence.chars.shape
        words[row, :length] = sentence.words
        chars[row, :length, :width] = sentence.chars
        mask[row, :length] = True
        if sentence.tags is not None:
            tags[row, :length] = sentence.tags
    return {"words": words, "chars": chars, "mask": mask, "tags": tags}
