"""An encoded sentence-pair split (premise, hypothesis, label) and its padded batches."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch

from lstmlab.data.errors import DataFormatError
from lstmlab.data.text_vocabs import EncodedTokens, TextVocabs

if TYPE_CHECKING:
    import datasets

LENGTH_KEY_BASE = 1 << 16  # premise length * base + hypothesis length: one sortable integer per pair


class PairSplit(torch.utils.data.Dataset):
    """Indexable by pair; `__getitems__` builds one padded batch of premises and one of hypotheses."""

    def __init__(self, premises: EncodedTokens, hypotheses: EncodedTokens, labels: np.ndarray) -> None:
        self.premises = premises
        self.hypotheses = hypotheses
        self.labels = labels

    @classmethod
    def from_dataset(cls, dataset: datasets.Dataset, vocabs: TextVocabs, where: str) -> PairSplit:
        """Encode a split with columns premise / hypothesis / label / line; a label the model does not know
        is an error naming the file and line."""
        labels = np.empty(len(dataset), dtype=np.int64)
        stoi = vocabs.labels.stoi
        hypotheses: list[list[str]] = []

        def premises() -> Iterable[list[str]]:  # one pass: hypotheses and labels are collected as premises stream
            position = 0
            for batch in dataset.iter(batch_size=10_000):
                for premise, hypothesis, label, line in zip(batch["premise"], batch["hypothesis"], batch["label"],
                                                            batch["line"], strict=True):
                    if label not in stoi:
                        raise DataFormatError(where, line, f"label {label!r} is not one of the model's "
                                                           f"{len(stoi)} labels: {' '.join(vocabs.labels.itos)}")
                    labels[position] = stoi[label]
                    position += 1
                    hypotheses.append(hypothesis)
                    yield premise

        encoded_premises = vocabs.encode_tokens(premises())
        return cls(encoded_premises, vocabs.encode_tokens(hypotheses), labels)

    def __len__(self) -> int:
        return len(self.premises)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return self.__getitems__([index])

    def __getitems__(self, indices: Sequence[int]) -> dict[str, torch.Tensor]:
        premise = self.premises.padded(indices, with_chars=False)
        hypothesis = self.hypotheses.padded(indices, with_chars=False)
        num_tokens = int(premise["mask"].sum() + hypothesis["mask"].sum())
        return {
            "premise_words": premise["words"], "premise_mask": premise["mask"],
            "hypothesis_words": hypothesis["words"], "hypothesis_mask": hypothesis["mask"],
            "labels": torch.from_numpy(self.labels[list(indices)]),
            "num_tokens": num_tokens, "num_positions": premise["mask"].numel() + hypothesis["mask"].numel(),
        }

    @property
    def lengths(self) -> np.ndarray:
        """Bucketing key: pairs sorted by premise length, then hypothesis length, pad little on both sides."""
        return self.premises.lengths * LENGTH_KEY_BASE + np.minimum(self.hypotheses.lengths, LENGTH_KEY_BASE - 1)

    @property
    def num_tokens(self) -> int:
        return int(self.premises.forms.offsets[-1] + self.hypotheses.forms.offsets[-1])
