"""Word embeddings with pretrained initialisation and word dropout."""

from __future__ import annotations

import torch
from torch import nn


class WordEmbedding(nn.Module):
    """Word dropout replaces a token by the unknown id with probability `word_dropout` while training,
    so the network learns to fall back on character features for rare and unseen words.
    """

    def __init__(self, num_words: int, dim: int, padding_index: int = 0, unk_index: int = 1,
                 word_dropout: float = 0.0) -> None:
        super().__init__()
        self.embedding = nn.Embedding(num_words, dim, padding_idx=padding_index)
        nn.init.normal_(self.embedding.weight, std=dim**-0.5)
        with torch.no_grad():
            self.embedding.weight[padding_index].zero_()
        self.unk_index = unk_index
        self.padding_index = padding_index
        self.word_dropout = word_dropout

    @property
    def dim(self) -> int:
        return self.embedding.embedding_dim

    @torch.no_grad()
    def load_pretrained(self, rows: torch.Tensor, vectors: torch.Tensor) -> None:
        """Copy `vectors` into the given vocabulary rows; the other rows keep their random initialisation,
        rescaled to the pretrained vectors' standard deviation so both kinds of rows start alike."""
        if vectors.shape[1] != self.dim:
            raise ValueError(f"pretrained vectors have dim {vectors.shape[1]}, the embedding has {self.dim}")
        weight = self.embedding.weight
        weight.mul_(vectors.std().item() * self.dim**0.5)
        weight[rows] = vectors.to(weight.dtype)
        weight[self.padding_index].zero_()

    def forward(self, words: torch.Tensor) -> torch.Tensor:
        if self.training and self.word_dropout > 0:
            drop = torch.rand(words.shape, device=words.device) < self.word_dropout
            words = words.masked_fill(drop & (words != self.padding_index), self.unk_index)
        return self.embedding(words)
