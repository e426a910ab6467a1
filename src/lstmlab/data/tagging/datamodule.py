"""The data module for sequence tagging: CoNLL-U, column files, JSON lines or a hub dataset, one tag per token."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import datasets

from lstmlab.data.datamodule import TextDataModule
from lstmlab.data.tagging.sources import load_tagged_split
from lstmlab.data.tagging.split import TaggedSplit


class TaggingDataModule(TextDataModule):
    """`format` is conllu (`tag_column` upos|xpos), columns (`token_column`, `tag_column` numbers), jsonl or hub
    (`train_path` etc. name the dataset; `tokens_field`/`tags_field` its columns). Other options: TextDataModule."""

    def __init__(
        self,
        *,
        format: str = "conllu",
        tag_column: str | int = "upos",
        token_column: int = 0,
        tokens_field: str = "tokens",
        tags_field: str = "tags",
        hub_config: str | None = None,
        hub_splits: Mapping[str, str] | None = None,
        **options: Any,
    ) -> None:
        super().__init__(**options)
        self.source = {
            "file_format": format, "tag_column": tag_column, "token_column": token_column,
            "tokens_field": tokens_field, "tags_field": tags_field, "hub_config": hub_config,
        }
        self.hub_splits = dict(hub_splits) if hub_splits else {"train": "train", "val": "validation", "test": "test"}

    def read_split(self, split: str, path: str) -> datasets.Dataset:
        hub_split = self.hub_splits.get(split) if self.source["file_format"] == "hub" else None
        return load_tagged_split(path, hub_split=hub_split, cache_dir=self.cache_dir, **self.source)

    def token_rows(self, dataset: datasets.Dataset) -> Iterable[list[str]]:
        return (tokens for batch in dataset.iter(batch_size=10_000) for tokens in batch["tokens"])

    def labels(self, dataset: datasets.Dataset) -> Iterable[str]:
        return (tag for batch in dataset.iter(batch_size=10_000) for tags in batch["tags"] for tag in tags)

    def encode(self, dataset: datasets.Dataset, where: str) -> TaggedSplit:
        return TaggedSplit.from_dataset(dataset, self.vocabs, where)
