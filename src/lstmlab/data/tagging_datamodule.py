"""LightningDataModule for sequence tagging: splits from files or the hub, vocabularies from train, bucketed batches."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

import datasets
import lightning as L
import torch
from torch.utils.data import DataLoader

from lstmlab.data.batching import BucketBatchSampler, EpochSampler, collate_sentences
from lstmlab.data.errors import DataFormatError
from lstmlab.data.tagging_sources import load_tagged_split
from lstmlab.data.tagging_vocabs import EncodedSentence, TaggingVocabs
from lstmlab.data.vectors import WordVectors, load_word_vectors

log = logging.getLogger(__name__)


@dataclass
class PretrainedVectors:
    """Vectors to initialise word embeddings with; `max_words` caps a huge file (GloVe files are frequency-sorted)."""

    path: str
    extend_vocab: bool = True
    max_words: int | None = None


def encode_split(dataset: datasets.Dataset, vocabs: TaggingVocabs, where: str) -> list[EncodedSentence]:
    """Encode every sentence; a tag the vocabulary lacks is an error that names the file and line."""
    encoded = []
    for row in dataset:
        try:
            encoded.append(vocabs.encode(row["tokens"], row["tags"]))
        except KeyError:
            position = next(i for i, tag in enumerate(row["tags"]) if tag not in vocabs.tags)
            known = " ".join(vocabs.tags.itos)
            raise DataFormatError(
                where, row["lines"][position],
                f"tag {row['tags'][position]!r} of word {row['tokens'][position]!r} is not one of the "
                f"{len(vocabs.tags)} tags learned from the training split: {known}",
            ) from None
    return encoded


class TaggingDataModule(L.LightningDataModule):
    """Pass `vocabs` (from a trained model) to evaluate or tag; otherwise they are built from the train split."""

    def __init__(
        self,
        train_path: str | None = None,
        val_path: str | None = None,
        test_path: str | None = None,
        val_split: float = 0.0,
        format: str = "conllu",
        tag_column: str | int = "upos",
        token_column: int = 0,
        tokens_field: str = "tokens",
        tags_field: str = "tags",
        hub_config: str | None = None,
        hub_splits: Mapping[str, str] | None = None,
        vectors: PretrainedVectors | Mapping | None = None,
        lowercase: bool = True,
        min_word_freq: int = 1,
        max_word_length: int = 30,
        batch_size: int = 32,
        eval_batch_size: int = 128,
        pool_size: int = 50,
        num_workers: int = 0,
        seed: int = 12345,
        cache_dir: str | None = None,
        vocabs: TaggingVocabs | None = None,
    ) -> None:
        super().__init__()
        self.paths = {"train": train_path, "val": val_path, "test": test_path}
        if val_path and val_split:
            raise ValueError("set either data.val_path or data.val_split (a share of train held out), not both")
        self.val_split = val_split
        self.source = {
            "file_format": format, "tag_column": tag_column, "token_column": token_column,
            "tokens_field": tokens_field, "tags_field": tags_field, "hub_config": hub_config, "cache_dir": cache_dir,
        }
        self.hub_splits = dict(hub_splits) if hub_splits else {"train": "train", "val": "validation", "test": "test"}
        self.vectors_spec = PretrainedVectors(**vectors) if isinstance(vectors, Mapping) else vectors
        self.lowercase = lowercase
        self.min_word_freq = min_word_freq
        self.max_word_length = max_word_length
        self.batch_size = batch_size
        self.eval_batch_size = eval_batch_size
        self.pool_size = pool_size
        self.num_workers = num_workers
        self.seed = seed
        self.vocabs = vocabs
        self.pretrained: WordVectors | None = None
        self.splits: dict[str, list[EncodedSentence]] = {}

    def _load(self, split: str) -> tuple[datasets.Dataset, str]:
        path = self.paths[split]
        if not path:
            raise ValueError(f"no {split} data: set data.{split}_path")
        hub_split = self.hub_splits.get(split) if self.source["file_format"] == "hub" else None
        return load_tagged_split(path, hub_split=hub_split, **self.source), str(path)

    def _build_vocabs(self, train: datasets.Dataset) -> None:
        extra: list[str] = []
        spec = self.vectors_spec
        if spec is not None and spec.path:
            wanted = None if spec.extend_vocab else {
                w.lower() if self.lowercase else w for tokens in train["tokens"] for w in tokens
            }
            self.pretrained = load_word_vectors(spec.path, wanted=wanted, max_words=spec.max_words)
            if spec.extend_vocab:
                extra = self.pretrained.words
        self.vocabs = TaggingVocabs.build(
            zip(train["tokens"], train["tags"], strict=True), min_word_freq=self.min_word_freq,
            extra_words=extra, lowercase=self.lowercase, max_word_length=self.max_word_length,
        )
        log.info("vocabularies: %d words, %d characters, %d tags (%s)", len(self.vocabs.words),
                 len(self.vocabs.chars), len(self.vocabs.tags), " ".join(self.vocabs.tags.itos))

    def setup(self, stage: str | None = None) -> None:
        needed = {"fit": ("train", "val"), "validate": ("val",), "test": ("test",), "predict": ("test",)}
        for split in needed.get(stage or "", ("train", "val", "test")):
            if split not in self.splits and (split != "val" or self.paths["val"]):
                self._setup_split(split)

    def _setup_split(self, split: str) -> None:
        dataset, where = self._load(split)
        held_out = None
        if split == "train" and self.val_split:
            parts = dataset.train_test_split(test_size=self.val_split, seed=self.seed, shuffle=True)
            dataset, held_out = parts["train"], parts["test"]
        if self.vocabs is None:
            if split != "train":
                raise ValueError("vocabularies come from the train split: set data.train_path or pass vocabs")
            self._build_vocabs(dataset)
        self._store(split, encode_split(dataset, self.vocabs, where))
        if held_out is not None:
            self._store("val", encode_split(held_out, self.vocabs, where))

    def _store(self, split: str, sentences: list[EncodedSentence]) -> None:
        self.splits[split] = sentences
        log.info("%s: %d sentences, %d tokens", split, len(sentences), sum(len(s.words) for s in sentences))

    @property
    def net_sizes(self) -> dict[str, int]:
        """The vocabulary sizes a tagging network is built with."""
        return {"num_words": len(self.vocabs.words), "num_chars": len(self.vocabs.chars),
                "num_tags": len(self.vocabs.tags)}

    def pretrained_rows(self) -> tuple[torch.Tensor, torch.Tensor] | None:
        """(row indices in the word vocabulary, vectors) for the words the pretrained file has."""
        if self.pretrained is None:
            return None
        rows = [self.vocabs.words.stoi.get(w) for w in self.pretrained.words]
        keep = [i for i, r in enumerate(rows) if r is not None]
        return torch.tensor([rows[i] for i in keep]), torch.from_numpy(self.pretrained.vectors[keep])

    def _loader(self, split: str, train: bool) -> DataLoader:
        sentences = self.splits[split]
        sampler = BucketBatchSampler(
            EpochSampler(len(sentences), shuffle=train, seed=self.seed), [len(s.words) for s in sentences],
            self.batch_size if train else self.eval_batch_size, pool_size=self.pool_size,
        )
        return DataLoader(sentences, batch_sampler=sampler, collate_fn=collate_sentences,
                          num_workers=self.num_workers, persistent_workers=self.num_workers > 0)

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", train=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", train=False) if "val" in self.splits else []

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", train=False)
