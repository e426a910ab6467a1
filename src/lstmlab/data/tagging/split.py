"""An encoded tagging split (sentences with one tag per token) and its padded batches."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch

from lstmlab.data.batching.ragged import Ragged, RaggedBuilder
from lstmlab.data.errors import DataFormatError
from lstmlab.data.vocab.text_vocabs import EncodedTokens, TextVocabs

if TYPE_CHECKING:  # datasets takes a second to import, and tagging raw text never needs it
    import datasets

TAG_PADDING = -100  # ignored by cross-entropy and by the accuracy metrics


class TaggedSplit(torch.utils.data.Dataset):
    """Indexable by sentence; `__getitems__` turns a list of sentence indices into one padded batch, which
    the DataLoader fetches in a single call (its collate function then passes the batch through)."""

    def __init__(self, tokens: EncodedTokens, tags: Ragged | None) -> None:
        self.tokens = tokens
        self.tags = tags

    @classmethod
    def from_dataset(cls, dataset: datasets.Dataset, vocabs: TextVocabs, where: str) -> TaggedSplit:
        """Encode a split with columns tokens / tags / lines; an unknown tag names the file and line."""
        tags = RaggedBuilder()
        labels = vocabs.labels

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

        return cls(vocabs.encode_tokens(token_rows()), tags.build())

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
        tags = torch.full(batch["words"].shape, TAG_PADDING, dtype=torch.long)
        if self.tags is not None:
            flat = np.concatenate([self.tags[i] for i in indices])
            tags[batch["mask"]] = torch.from_numpy(flat.astype(np.int64))
        batch["tags"] = tags
        batch["num_tokens"] = int(batch["mask"].sum())
        batch["num_positions"] = batch["mask"].numel()
        return batch

    @property
    def lengths(self) -> np.ndarray:
        return self.tokens.lengths

    @property
    def num_tokens(self) -> int:
        return int(self.tokens.forms.offsets[-1])

