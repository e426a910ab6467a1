"""An encoded split of sentences with one label each, and its padded batches (sentence classification)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch

from lstmlab.data.errors import DataFormatError
from lstmlab.data.vocab.text_vocabs import EncodedTokens, TextVocabs

if TYPE_CHECKING:
    import datasets


class LabelledSentences(torch.utils.data.Dataset):
    """Indexable by sentence; `__getitems__` builds one padded batch: words, mask, labels."""

    def __init__(self, sentences: EncodedTokens, labels: np.ndarray) -> None:
        if len(sentences) != len(labels):
            raise ValueError(f"{len(sentences)} sentences for {len(labels)} labels")
        self.sentences = sentences
        self.labels = labels

    @classmethod
    def from_dataset(cls, dataset: datasets.Dataset, vocabs: TextVocabs, where: str) -> LabelledSentences:
        """Encode a split with columns tokens / label / line; a label the model does not know is an error naming
        the file and line."""
        stoi = vocabs.labels.stoi
        labels = np.empty(len(dataset), dtype=np.int64)
        for position, (label, line) in enumerate(zip(dataset["label"], dataset["line"], strict=True)):
            if label not in stoi:
                raise DataFormatError(where, line, f"label {label!r} is not one of the model's {len(stoi)} labels: "
                                                   f"{' '.join(vocabs.labels.itos)}")
            labels[position] = stoi[label]
        tokens = (row for batch in dataset.iter(batch_size=10_000) for row in batch["tokens"])
        return cls(vocabs.encode_tokens(tokens), labels)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return self.__getitems__([index])

    def __getitems__(self, indices: Sequence[int]) -> dict[str, torch.Tensor]:
        batch = self.sentences.padded(indices, with_chars=False)
        return {**batch, "labels": torch.from_numpy(self.labels[list(indices)]),
                "num_tokens": int(batch["mask"].sum()), "num_positions": batch["mask"].numel()}

    @property
    def lengths(self) -> np.ndarray:
        return self.sentences.lengths

    @property
    def num_tokens(self) -> int:
        return int(self.sentences.forms.offsets[-1])
