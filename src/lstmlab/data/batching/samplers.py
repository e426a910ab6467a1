"""Length-bucketed batching for any task: items of similar length share a batch, so padding stays small.

On CPU, padded batches with masking are faster than packed sequences (docs/cpu_facts.md; `python
bench/cpu_kernels.py`), which makes short padding the thing to optimise. The length key is anything
sortable: a sentence length, or a (premise, hypothesis) length pair for sentence pairs.

Training batches come from a `ResumableDataLoader`, whose place in the epoch is saved in Lightning's checkpoints:
a run resumed from a mid-epoch checkpoint goes on with the next batch of the same order.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from typing import Any

from torch.utils.data import DataLoader, Sampler


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
    shuffle the batches. Without shuffling, all items are sorted by length (evaluation, inference).

    Sharding is explicit (`num_replicas`, `rank`; the data module passes the trainer's): a sampler built
    outside training, such as the one `Tagger.predict` uses, always yields every item. When shuffling
    (training), the last batches repeat so that every rank takes the same number of steps; when not
    (evaluation), each item goes to exactly one rank and nothing is repeated, so metrics count it once.
    """

    def __init__(
        self,
        sampler: EpochSampler,
        lengths: Sequence[Any],
        batch_size: int,
        pool_size: int = 50,
        num_replicas: int = 1,
        rank: int = 0,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        if len(sampler) != len(lengths):
            raise ValueError(f"the sampler has {len(sampler)} items but {len(lengths)} lengths were given")
        if not 0 <= rank < num_replicas:
            raise ValueError(f"rank must be in [0, {num_replicas}), got {rank}")
        self.sampler = sampler
        self.lengths = lengths
        self.batch_size = batch_size
        self.pool_size = pool_size
        self.num_replicas = num_replicas
        self.rank = rank
        self.first_batch = 0  # where the next pass starts; then 0 again (see ResumableDataLoader)

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
        if self.num_replicas > 1:
            if self.sampler.shuffle:
                batches += batches[: len(self) * self.num_replicas - len(batches)]
            batches = batches[self.rank :: self.num_replicas]
        first, self.first_batch = self.first_batch, 0
        yield from batches[first:]

    def __len__(self) -> int:
        batches = -(-len(self.lengths) // self.batch_size)  # pools hold whole batches, so this is exact
        if self.sampler.shuffle:
            return -(-batches // self.num_replicas)
        return len(range(self.rank, batches, self.num_replicas))


class ResumableDataLoader(DataLoader):
    """A DataLoader over a BucketBatchSampler whose place in the epoch, `{"epoch", "batches"}`, travels in
    checkpoints: Lightning's fit loop saves the `state_dict` of a training loader that has one, and on resume hands
    it to `load_state_dict` before the first batch is drawn. The sampler then leaves out the batches the epoch
    already trained on (before any worker loads them), if the resumed epoch is the saved one: a checkpoint at an
    epoch's end resumes at the next epoch's first batch.

    The place counts batches handed to the trainer, here in the main process: workers run ahead of it by their
    prefetched batches, and Lightning takes a batch only to train on it (it prefetches from loaders without a
    length only). tests/e2e/test_mid_epoch_resume.py checks that a resumed run ends where an uninterrupted one does."""

    batch_sampler: BucketBatchSampler

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.place = {"epoch": 0, "batches": 0}  # of the pass under way
        self._restored: dict[str, int] | None = None

    def __iter__(self) -> Iterator[Any]:
        # a generator: this runs at the first batch, after Lightning has set the epoch
        epoch = self.batch_sampler.sampler.epoch
        restored, self._restored = self._restored, None
        first = restored["batches"] if restored and restored["epoch"] == epoch else 0
        self.batch_sampler.first_batch = first
        self.place = {"epoch": epoch, "batches": first}
        for batch in super().__iter__():
            self.place["batches"] += 1
            yield batch

    def state_dict(self) -> dict[str, int]:
        return dict(self.place)

    def load_state_dict(self, state: dict[str, int]) -> None:
        self._restored = {"epoch": int(state["epoch"]), "batches": int(state["batches"])}


def pass_batch(batch: dict) -> dict:
    """The DataLoader's collate function for datasets whose `__getitems__` builds the whole padded batch."""
    return batch
