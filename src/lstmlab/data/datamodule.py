"""The LightningDataModule every text task builds on: splits from files or the hub (parsed once, cached by
`datasets`), vocabularies from the training split only, pretrained vectors, length-bucketed loaders.

A task's data module says how to read a split, which labels it has, and how to encode it into a dataset
whose `__getitems__` returns a padded batch with a `num_tokens` count; everything else lives here.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Protocol

import datasets
import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader

from lstmlab.data.batching.samplers import BucketBatchSampler, EpochSampler, ResumableDataLoader, pass_batch
from lstmlab.data.vocab.pretrained_vectors import MatchedVectors, PretrainedVectors, match_vectors
from lstmlab.data.vocab.text_vocabs import TextVocabs

log = logging.getLogger(__name__)

SPLITS = ("train", "val", "test")


class EncodedSplit(Protocol):
    lengths: np.ndarray  # the bucketing key of each item
    num_tokens: int

    def __len__(self) -> int: ...
    def __getitems__(self, indices: list[int]) -> dict: ...


class TextDataModule(L.LightningDataModule):
    """Pass `vocabs` (from a trained model) to evaluate; otherwise they are built from the train split.
    `language` (an ISO 639 code; None: English) is saved with the vocabularies, so the model knows its language."""

    def __init__(
        self,
        train_path: str | None = None,
        val_path: str | None = None,
        test_path: str | None = None,
        val_split: float = 0.0,
        val_split_seed: int | None = None,
        vectors: PretrainedVectors | Mapping | None = None,
        lowercase: bool = True,
        min_word_freq: int = 1,
        max_word_length: int = 30,
        batch_size: int = 32,
        eval_batch_size: int = 128,
        pool_size: int = 50,
        num_workers: int = 0,
        seed: int | None = 0,
        cache_dir: str | None = None,
        vocabs: TextVocabs | None = None,
        language: str | None = None,
    ) -> None:
        super().__init__()
        if val_path and val_split:
            raise ValueError("set either data.val_path or data.val_split (a share of train held out), not both")
        self.paths = {"train": train_path, "val": val_path, "test": test_path}
        self.val_split = val_split
        self.val_split_seed = val_split_seed  # None: the run's seed draws the held-out share
        self.vectors_spec = PretrainedVectors(**vectors) if isinstance(vectors, Mapping) else vectors
        self.lowercase = lowercase
        self.min_word_freq = min_word_freq
        self.max_word_length = max_word_length
        self.batch_size = batch_size
        self.eval_batch_size = eval_batch_size
        self.pool_size = pool_size
        self.num_workers = num_workers
        self.seed = 0 if seed is None else seed
        self.cache_dir = cache_dir
        self.vocabs = vocabs
        self.language = language
        self.matched_vectors: MatchedVectors | None = None  # until a network takes them (`pretrained_rows`)
        self.vector_keys: set[str] = set()  # the training keys matched to the vectors file, to match them again
        self.trainable_words: int | None = None  # word rows a network trains; the rest come frozen from vectors
        self.splits: dict[str, EncodedSplit] = {}

    # --- what a task's data module provides -------------------------------------------------------------
    def read_split(self, split: str, path: str) -> datasets.Dataset:
        """The split as a `datasets.Dataset` (cached Arrow), with line numbers for error messages."""
        raise NotImplementedError

    def token_rows(self, dataset: datasets.Dataset) -> Iterable[list[str]]:
        """Every token sequence of a split (both sentences of a pair), for the vocabularies."""
        raise NotImplementedError

    def labels(self, dataset: datasets.Dataset) -> Iterable[str] | None:
        """Every label of the training split (tags, classes), or None for a task without labels."""
        raise NotImplementedError

    def encode(self, dataset: datasets.Dataset, where: str) -> EncodedSplit:
        raise NotImplementedError

    # --- shared --------------------------------------------------------------------------------------------
    def setup(self, stage: str | None = None) -> None:
        needed = {"fit": ("train", "val"), "validate": ("val",), "test": ("test",), "predict": ("test",)}
        for split in needed.get(stage or "", SPLITS):
            if split not in self.splits and (split != "val" or self.paths["val"]):
                self._setup_split(split)

    def _setup_split(self, split: str) -> None:
        path = self.paths[split]
        if not path:
            raise ValueError(f"no {split} data: set data.{split}_path")
        dataset = self.read_split(split, str(path))
        held_out = None
        if split == "train" and self.val_split:
            seed = self.seed if self.val_split_seed is None else self.val_split_seed
            parts = dataset.train_test_split(test_size=self.val_split, seed=seed, shuffle=True)
            dataset, held_out = parts["train"], parts["test"]
        if self.vocabs is None:
            if split != "train":
                raise ValueError("vocabularies come from the train split: set data.train_path or pass vocabs")
            self._build_vocabs(dataset)
        self._store(split, self.encode(dataset, str(path)))
        if held_out is not None:
            self._store("val", self.encode(held_out, str(path)))

    def _build_vocabs(self, train: datasets.Dataset) -> None:
        forms = TextVocabs.count_forms(self.token_rows(train))
        extra: list[str] = []
        spec = self.vectors_spec
        if spec is not None and spec.path:
            keys: Counter[str] = Counter()
            for form, count in forms.items():
                keys[form.lower() if self.lowercase else form] += count
            # words too rare for a trainable row can still get a frozen one from the file
            trainable = {key for key, count in keys.items() if count >= self.min_word_freq}
            self.vector_keys = trainable
            self.matched_vectors = match_vectors(spec, trainable, self.lowercase)
            extra = self.matched_vectors.extra_words
        self.vocabs = TextVocabs.build(
            forms, self.labels(train), min_word_freq=self.min_word_freq, extra_words=extra,
            lowercase=self.lowercase, max_word_length=self.max_word_length, language=self.language or "en",
        )
        self.trainable_words = len(self.vocabs.words) - len(extra)
        labels = self.vocabs.labels
        log.info("vocabularies: %d words (%d from training, the rest from the vectors file and frozen), "
                 "%d characters%s", len(self.vocabs.words), self.trainable_words, len(self.vocabs.chars),
                 "" if labels is None else f", {len(labels)} labels ({' '.join(labels.itos)})")

    def data_figures(self) -> dict[str, int]:
        """What a run's metrics.json records of its data, for sweep reports (a task's data module says; none here)."""
        return {}

    def _store(self, split: str, encoded: EncodedSplit) -> None:
        self.splits[split] = encoded
        log.info("%s: %d items, %d tokens", split, len(encoded), encoded.num_tokens)

    def pretrained_rows(self) -> tuple[torch.Tensor, torch.Tensor] | None:
        """(row indices in the word vocabulary, vectors) for the words the pretrained file has. Handed over, not
        kept: the network copies them into its embedding, so a second copy here would only hold memory through the
        whole run (80 MB for GloVe 6B 50d). A later call (another network from the same data) reads the file again."""
        if self.matched_vectors is None and self.vector_keys:
            self.matched_vectors = match_vectors(self.vectors_spec, self.vector_keys, self.lowercase)
        matched, self.matched_vectors = self.matched_vectors, None
        return None if matched is None else matched.rows(self.vocabs.words)

    def _shards(self) -> tuple[int, int]:
        """(number of ranks, this rank) of the trainer that uses this data module; (1, 0) outside one."""
        trainer = self.trainer
        return (trainer.world_size, trainer.global_rank) if trainer is not None else (1, 0)

    def _loader(self, split: str, train: bool) -> DataLoader:
        encoded = self.splits[split]
        replicas, rank = self._shards()
        sampler = BucketBatchSampler(
            EpochSampler(len(encoded), shuffle=train, seed=self.seed), encoded.lengths,
            self.batch_size if train else self.eval_batch_size, pool_size=self.pool_size,
            num_replicas=replicas, rank=rank,
        )
        # its own generator (only workers' seeds come from it): a DataLoader draws from torch's global one each time it
        # starts a pass, which would shift every dropout mask of a run resumed mid-epoch by one draw
        loader = ResumableDataLoader if train else DataLoader
        return loader(encoded, batch_sampler=sampler, collate_fn=pass_batch, num_workers=self.num_workers,
                      persistent_workers=self.num_workers > 0, generator=torch.Generator().manual_seed(self.seed))

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", train=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", train=False) if "val" in self.splits else []

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", train=False)
