"""The data module for sequence tagging: CoNLL-U, column files, JSON lines or a hub dataset, one tag per token; or
a Universal Dependencies treebank folder, named once for its three splits."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import datasets

from lstmlab.data.datamodule import TextDataModule
from lstmlab.data.tagging.sources import load_tagged_split
from lstmlab.data.tagging.split import TaggedSplit
from lstmlab.data.tagging.treebank import UPOS_TAGS, TreebankError, find_treebank


class TaggingDataModule(TextDataModule):
    """`format` is conllu (`tag_column` upos|xpos), columns (`token_column`, `tag_column` numbers), jsonl or hub
    (`train_path` etc. name the dataset; `tokens_field`/`tags_field` its columns). `treebank` (a UD treebank's
    folder, or its name under `treebanks_dir`: `treebank.find_treebank`) sets the three paths and, unless `language`
    is given, the language. `tagset` fixes the tags a model predicts, so that a tag no training sentence has (X in
    a small treebank's test split) is scored as a miss instead of refused; None: UD's 17 UPOS tags for a treebank's
    UPOS, else the training split's tags. Other options: TextDataModule."""

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
        **options: Any,
    ) -> None:
        if treebank:
            options = self._treebank_options(str(treebank), treebanks_dir, format, str(tag_column), options)
            tagset = tagset or (UPOS_TAGS if tag_column == "upos" else None)
        super().__init__(**options)
        self.tagset = list(tagset) if tagset else None
        self.source = {
            "file_format": format, "tag_column": tag_column, "token_column": token_column,
            "tokens_field": tokens_field, "tags_field": tags_field, "hub_config": hub_config,
        }
        self.hub_splits = dict(hub_splits) if hub_splits else {"train": "train", "val": "validation", "test": "test"}

    @staticmethod
    def _treebank_options(treebank: str, treebanks_dir: str | None, file_format: str, tag_column: str,
                          options: dict[str, Any]) -> dict[str, Any]:
        """`options` with the treebank's split paths and language; refused where they say otherwise."""
        given = [f"data.{key}" for key in ("train_path", "val_path", "test_path") if options.get(key)]
        if given or file_format != "conllu":
            also = ", ".join(given) if given else f"data.format={file_format}"
            raise TreebankError(f"data.treebank={treebank} names the CoNLL-U files of all three splits: leave out "
                                f"{also} (or name files without data.treebank)")
        found = find_treebank(treebank, tag_column, Path(treebanks_dir) if treebanks_dir else None)
        language = options.get("language") or found.language
        if language is None:
            raise TreebankError(f"treebank folder {found.folder}: its files ({found.name}-ud-*) do not start with a "
                                "language code (tr_imst-ud-train.conllu); set data.language=<ISO 639 code>")
        paths = {f"{split}_path": str(path) for split, path in found.paths.items()}
        return {**options, **paths, "language": language}

    def data_figures(self) -> dict[str, int]:
        """The training split's size, a column of sweep reports over treebanks of different sizes."""
        return {"train_sentences": len(self.splits["train"])} if "train" in self.splits else {}

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
        return TaggedSplit.from_dataset(dataset, self.vocabs, where)
