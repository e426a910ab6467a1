"""The data module for sequence tagging: CoNLL-U, column files, JSON lines or a hub dataset, one tag per token; or
a Universal Dependencies treebank folder, named once for its three splits."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import datasets

from lstmlab.data.datamodule import TextDataModule
from lstmlab.data.readers.treebank import UPOS_TAGS, TreebankError, treebank_options
from lstmlab.data.tagging.sources import load_tagged_split
from lstmlab.data.tagging.split import TaggedSplit
from lstmlab.data.vocab.vocab import Vocab

log = logging.getLogger(__name__)


class TaggingDataModule(TextDataModule):
    """`format` is conllu (`tag_column` upos|xpos), columns (`token_column`, `tag_column` numbers), jsonl or hub
    (`train_path` etc. name the dataset; `tokens_field`/`tags_field` its columns). `treebank` (a UD treebank's
    folder, or its name under `treebanks_dir`: `treebank.find_treebank`) sets the three paths and, unless `language`
    is given, the language. `tagset` fixes the tags a model predicts, so that a tag no training sentence has (X in
    a small treebank's test split) is scored as a miss instead of refused; None: UD's 17 UPOS tags for a treebank's
    UPOS, else the training split's tags. `aux_columns` (CoNLL-U columns such as feats, xpos): training-only
    targets for a tagger's auxiliary heads, each value as written (`Case=Nom|Number=Sing` is one class), with a
    vocabulary from the training split that the model does not keep. Other options: TextDataModule."""

    def __init__(
        self,
        *,
        treebank: str | None = None,
        treebanks_dir: str | None = None,
        tagset: Sequence[str] | None = None,
        format: str = "conllu",
        tag_column: str | int = "upos",
        token_column: int = 0,
        tokens_field: str = "tokens",
        tags_field: str = "tags",
        hub_config: str | None = None,
        hub_splits: Mapping[str, str] | None = None,
        aux_columns: Sequence[str] = (),
        **options: Any,
    ) -> None:
        if treebank:
            if format != "conllu":
                raise TreebankError(f"data.treebank={treebank} names the CoNLL-U files of all three splits: leave "
                                    f"out data.format={format} (or name files without data.treebank)")
            options = treebank_options(str(treebank), treebanks_dir, str(tag_column), options)
            tagset = tagset or (UPOS_TAGS if tag_column == "upos" else None)
        super().__init__(**options)
        self.tagset = list(tagset) if tagset else None
        self.source = {
            "file_format": format, "tag_column": tag_column, "token_column": token_column,
            "tokens_field": tokens_field, "tags_field": tags_field, "hub_config": hub_config,
            "aux_columns": list(aux_columns),
        }
        self.aux_vocabs: dict[str, Vocab] = {}  # built with the other vocabularies: only a run that trains has them
        self.hub_splits = dict(hub_splits) if hub_splits else {"train": "train", "val": "validation", "test": "test"}

    def data_figures(self) -> dict[str, int]:
        """The training split's size, a column of sweep reports over treebanks of different sizes."""
        return {"train_sentences": len(self.splits["train"])} if "train" in self.splits else {}

    def _build_vocabs(self, train: datasets.Dataset) -> None:
        super()._build_vocabs(train)
        self.aux_vocabs = {
            column: Vocab.build((value for batch in train.iter(batch_size=10_000) for row in batch[column]
                                 for value in row), pad=None, unk=None)
            for column in self.source["aux_columns"]
        }
        for column, vocab in self.aux_vocabs.items():
            log.info("auxiliary tags %s: %d values in training", column, len(vocab))

    def read_split(self, split: str, path: str) -> datasets.Dataset:
        hub_split = self.hub_splits.get(split) if self.source["file_format"] == "hub" else None
        return load_tagged_split(path, hub_split=hub_split, cache_dir=self.cache_dir, **self.source)

    def token_rows(self, dataset: datasets.Dataset) -> Iterable[list[str]]:
        return (tokens for batch in dataset.iter(batch_size=10_000) for tokens in batch["tokens"])

    def labels(self, dataset: datasets.Dataset) -> Iterable[str]:
        if self.tagset:
            return self.tagset  # a training tag outside it is refused by name when the split is encoded
        return (tag for batch in dataset.iter(batch_size=10_000) for tags in batch["tags"] for tag in tags)

    def encode(self, dataset: datasets.Dataset, where: str) -> TaggedSplit:
        return TaggedSplit.from_dataset(dataset, self.vocabs, where, self.aux_vocabs)
