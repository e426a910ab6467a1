"""The data module for sentence classification: one label per sentence (SST-2, MR, TREC, or a TSV file)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import datasets

from lstmlab.data.classification.labelled_sentences import LabelledSentences
from lstmlab.data.classification.sources import load_classification_split
from lstmlab.data.datamodule import TextDataModule


class ClassificationDataModule(TextDataModule):
    """`format` is tsv (`text<TAB>label` files) or senteval (`task` names a SentEval single-sentence task; the
    paths name its folder). `test_split` cuts a fixed test share (drawn with `test_split_seed`, whatever the run's
    seed) out of a task that has no test split. The classes are `label_names` when given (any other label is an
    error), else every label of the training split, sorted. Other options: TextDataModule."""

    def __init__(
        self,
        *,
        format: str = "tsv",
        task: str | None = None,
        tokenizer: str = "whitespace",
        test_split: float = 0.0,
        test_split_seed: int = 0,
        label_names: Sequence[str] | None = None,
        **options: Any,
    ) -> None:
        super().__init__(**options)
        self.source = {"file_format": format, "task": task, "tokenizer": tokenizer, "test_share": test_split,
                       "split_seed": test_split_seed}
        self.label_names = None if label_names is None else [str(name) for name in label_names]

    def read_split(self, split: str, path: str) -> datasets.Dataset:
        return load_classification_split(path, split, cache_dir=self.cache_dir, **self.source)

    def token_rows(self, dataset: datasets.Dataset) -> Iterable[list[str]]:
        return (tokens for batch in dataset.iter(batch_size=10_000) for tokens in batch["tokens"])

    def labels(self, dataset: datasets.Dataset) -> Iterable[str]:
        return self.label_names or sorted(set(dataset["label"]))

    def encode(self, dataset: datasets.Dataset, where: str) -> LabelledSentences:
        return LabelledSentences.from_dataset(dataset, self.vocabs, where)
