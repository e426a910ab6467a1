"""The data module for natural language inference: sentence pairs with an entailment label (SNLI, MultiNLI, SICK-E)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import datasets

from lstmlab.data.datamodule import TextDataModule
from lstmlab.data.errors import DataFormatError
from lstmlab.data.nli.pair_split import PairSplit
from lstmlab.data.nli.sources import load_nli_split

log = logging.getLogger(__name__)


class NLIDataModule(TextDataModule):
    """`format` is jsonl, tsv (a header names the columns: SNLI's .txt, SICK), infersent (`<folder>/<split>` for
    s1/s2/labels files) or hub (`train_path` etc. name the dataset, `hub_splits` its splits). `premise_field`,
    `hypothesis_field` and `label_field` name the columns; `tokenizer` is rule (raw text) or whitespace (tokenized
    files). Pairs without a gold label are dropped and counted; any label outside `label_names` is an error.
    Other options: TextDataModule."""

    def __init__(
        self,
        *,
        format: str = "jsonl",
        premise_field: str = "sentence1",
        hypothesis_field: str = "sentence2",
        label_field: str = "gold_label",
        tokenizer: str = "rule",
        label_names: Sequence[str] = ("entailment", "neutral", "contradiction"),
        hub_config: str | None = None,
        hub_splits: Mapping[str, str] | None = None,
        **options: Any,
    ) -> None:
        super().__init__(**options)
        self.source = {
            "file_format": format, "premise_field": premise_field, "hypothesis_field": hypothesis_field,
            "label_field": label_field, "tokenizer": tokenizer, "hub_config": hub_config,
        }
        self.label_names = [str(name).lower() for name in label_names]
        self.hub_splits = dict(hub_splits) if hub_splits else {"train": "train", "val": "validation", "test": "test"}
        self.dropped: dict[str, int] = {}  # pairs without a gold label, per split

    def read_split(self, split: str, path: str) -> datasets.Dataset:
        hub_split = self.hub_splits.get(split) if self.source["file_format"] == "hub" else None
        dataset = load_nli_split(path, hub_split=hub_split, cache_dir=self.cache_dir, **self.source)
        self._check_labels(dataset, path)
        labelled = dataset.filter(lambda labels: [label != "" for label in labels], input_columns="label",
                                  batched=True)
        self.dropped[split] = len(dataset) - len(labelled)
        if not self.dropped[split]:
            return dataset  # a filtered dataset reads through an index mapping: slower on every later pass
        log.info("%s: dropped %d of %d pairs without a gold label (%s)", split, self.dropped[split], len(dataset),
                 path)
        return labelled.flatten_indices()

    def _check_labels(self, dataset: datasets.Dataset, where: str) -> None:
        """Every label must be a known class: a typo must not become a class of its own, nor vanish."""
        known = {*self.label_names, ""}  # "": no gold label, dropped and counted
        for batch in dataset.select_columns(["label", "line"]).iter(batch_size=10_000):
            for label, line in zip(batch["label"], batch["line"], strict=True):
                if label not in known:
                    raise DataFormatError(where, line, f"unknown label {label!r}: expected one of "
                                                       f"{' '.join(self.label_names)} (set data.label_names)")

    def token_rows(self, dataset: datasets.Dataset) -> Iterable[list[str]]:
        for batch in dataset.iter(batch_size=10_000):
            yield from batch["premise"]
            yield from batch["hypothesis"]

    def labels(self, dataset: datasets.Dataset) -> Iterable[str]:
        return self.label_names  # every class, even one the training split lacks, in a fixed order

    def encode(self, dataset: datasets.Dataset, where: str) -> PairSplit:
        return PairSplit.from_dataset(dataset, self.vocabs, where)
