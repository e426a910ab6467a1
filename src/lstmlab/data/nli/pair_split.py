"""An encoded sentence-pair split (premise, hypothesis, label) and its padded batches."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch

from lstmlab.data.errors import DataFormatError
from lstmlab.data.vocab.text_vocabs import EncodedTokens, TextVocabs

if TYPE_CHECKING:
    import datasets

LENGTH_KEY_BASE = 1 << 16
PREMISE_LENGTH_BIN = 3  # premises grouped by length // 3, then sorted by hypothesis length: less padding


class PairSplit(torch.utils.data.Dataset):
    """Indexable by pair; `__getitems__` builds one padded batch of premises and one of hypotheses. Both sentences
    of every pair are encoded in one pass into one table (row 2i the premise of pair i, row 2i + 1 its hypothesis),
    so encoding holds no list of sentences and a word form shared by premises and hypotheses is stored once."""

    def __init__(self, sentences: EncodedTokens, labels: np.ndarray) -> None:
        if len(sentences) != 2 * len(labels):
            raise ValueError(f"{len(sentences)} sentences for {len(labels)} pairs")
        self.sentences = sentences
        self.labels = labels

    @classmethod
    def from_dataset(cls, dataset: datasets.Dataset, vocabs: TextVocabs, where: str) -> PairSplit:
        """Encode a split with columns premise / hypothesis / label / line; a label the model does not know
        is an error naming the file and line."""
        labels = np.empty(len(dataset), dtype=np.int64)
        stoi = vocabs.labels.stoi

        def sentences() -> Iterable[list[str]]:  # one pass: labels are encoded as the sentences stream by
            position = 0
            for batch in dataset.iter(batch_size=10_000):
                for premise, hypothesis, label, line in zip(batch["premise"], batch["hypothesis"], batch["label"],
                                                            batch["line"], strict=True):
                    if label not in stoi:
                        raise DataFormatError(where, line, f"label {label!r} is not one of the model's "
                                                           f"{len(stoi)} labels: {' '.join(vocabs.labels.itos)}")
                    labels[position] = stoi[label]
                    position += 1
                    yield premise
                    yield hypothesis

        return cls(vocabs.encode_tokens(sentences()), labels)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return self.__getitems__([index])

    def __getitems__(self, indices: Sequence[int]) -> dict[str, torch.Tensor]:
        premise = self.sentences.padded([2 * i for i in indices], with_chars=False)
        hypothesis = self.sentences.padded([2 * i + 1 for i in indices], with_chars=False)
        num_tokens = int(premise["mask"].sum() + hypothesis["mask"].sum())
        return {
            "premise_words": premise["words"], "premise_mask": premise["mask"],
            "hypothesis_words": hypothesis["words"], "hypothesis_mask": hypothesis["mask"],
            "labels": torch.from_numpy(self.labels[list(indices)]),
            "num_tokens": num_tokens, "num_positions": premise["mask"].numel() + hypothesis["mask"].numel(),
        }

    @property
    def lengths(self) -> np.ndarray:
        """Bucketing key: pairs grouped by premise length (in bins), then sorted by hypothesis length, so both
        sides of a batch pad little."""
        lengths = self.sentences.lengths
        return lengths[0::2] // PREMISE_LENGTH_BIN * LENGTH_KEY_BASE + np.minimum(lengths[1::2], LENGTH_KEY_BASE - 1)

    @property
    def num_tokens(self) -> int:
        return int(self.sentences.forms.offsets[-1])
