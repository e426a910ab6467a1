"""An encoded tagging split (sentences with one tag per token) and its padded batches."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch

from lstmlab.data.batching.ragged import Ragged, RaggedBuilder
from lstmlab.data.errors import DataFormatError
from lstmlab.data.vocab.text_vocabs import EncodedTokens, TextVocabs
from lstmlab.data.vocab.vocab import Vocab

if TYPE_CHECKING:  # datasets takes a second to import, and tagging raw text never needs it
    import datasets

TAG_PADDING = -100  # ignored by cross-entropy and by the accuracy metrics


class TaggedSplit(torch.utils.data.Dataset):
    """Indexable by sentence; `__getitems__` turns a list of sentence indices into one padded batch, which
    the DataLoader fetches in a single call (its collate function then passes the batch through)."""

    def __init__(self, tokens: EncodedTokens, tags: Ragged | None, aux: dict[str, Ragged] | None = None) -> None:
        self.tokens = tokens
        self.tags = tags
        self.aux = aux or {}  # training-only targets of auxiliary heads, by column (feats, xpos)

    @classmethod
    def from_dataset(
        cls, dataset: datasets.Dataset, vocabs: TextVocabs, where: str, aux_vocabs: Mapping[str, Vocab] | None = None
    ) -> TaggedSplit:
        """Encode a split with columns tokens / tags / lines; an unknown tag names the file and line. Each column of
        `aux_vocabs` is encoded too, a value its vocabulary lacks (seen only outside training) as TAG_PADDING."""
        tags = RaggedBuilder()
        labels = vocabs.labels
        aux_vocabs = aux_vocabs or {}
        aux = {column: RaggedBuilder() for column in aux_vocabs}

        def token_rows() -> Iterable[list[str]]:  # one pass: tags are encoded as the tokens stream by
            for batch in dataset.iter(batch_size=10_000):
                for tokens, sentence_tags, lines in zip(batch["tokens"], batch["tags"], batch["lines"], strict=True):
                    try:
                        tags.append([labels.stoi[tag] for tag in sentence_tags])
                    except KeyError as error:
                        position = sentence_tags.index(error.args[0])
                        raise DataFormatError(
                            where, lines[position],
                            f"tag {error.args[0]!r} of word {tokens[position]!r} is not one of the {len(labels)} "
                            f"tags of the model (the training split's, or data.tagset): {' '.join(labels.itos)}",
                        ) from None
                    yield tokens
                for column, vocab in aux_vocabs.items():
                    for row in batch[column]:
                        aux[column].append([vocab.stoi.get(value, TAG_PADDING) for value in row])

        encoded = vocabs.encode_tokens(token_rows())
        return cls(encoded, tags.build(), {column: builder.build() for column, builder in aux.items()})

    @classmethod
    def from_token_lists(cls, token_lists: Iterable[Sequence[str]], vocabs: TextVocabs) -> TaggedSplit:
        """Untagged sentences (raw text to tag)."""
        return cls(vocabs.encode_tokens(token_lists), None)

    def __len__(self) -> int:
        return len(self.tokens)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return self.__getitems__([index])

    def __getitems__(self, indices: Sequence[int]) -> dict[str, torch.Tensor]:
        batch = self.tokens.padded(indices)
        batch["tags"] = self._padded(self.tags, indices, batch["mask"])
        if self.aux:
            batch["aux"] = {column: self._padded(rows, indices, batch["mask"]) for column, rows in self.aux.items()}
        batch["num_tokens"] = int(batch["mask"].sum())
        batch["num_positions"] = batch["mask"].numel()
        return batch

    @staticmethod
    def _padded(rows: Ragged | None, indices: Sequence[int], mask: torch.Tensor) -> torch.Tensor:
        """Rows `indices` as a [B, T] tensor, TAG_PADDING past each row's end (everywhere when there are none)."""
        padded = torch.full(mask.shape, TAG_PADDING, dtype=torch.long)
        if rows is not None:
            padded[mask] = torch.from_numpy(np.concatenate([rows[i] for i in indices]).astype(np.int64))
        return padded

    @property
    def lengths(self) -> np.ndarray:
        return self.tokens.lengths

    @property
    def num_tokens(self) -> int:
        return int(self.tokens.forms.offsets[-1])

