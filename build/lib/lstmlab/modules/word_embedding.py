"""Word embeddings with pretrained initialisation, frozen extension rows and word dropout."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

_CHUNK = 1 << 16  # rows copied per step by load_pretrained, so a 2M-row copy needs no 2M-row temporaries


class WordEmbedding(nn.Module):
    """Word dropout replaces a token by the unknown id with probability `word_dropout` while training,
    so the network learns to fall back on character features for rare and unseen words.

    Rows from `trainable_rows` on (words added from a pretrained file, which never occur in training batches and
    would only ever get zero gradients) are a frozen buffer: saved with the model, but without gradient or
    optimizer state, so a 2M-word extension costs its vectors once instead of four times (weights, gradient and
    two Adam moments). None makes every row trainable.
    """

    def __init__(self, num_words: int, dim: int, padding_index: int = 0, unk_index: int = 1,
                 word_dropout: float = 0.0, trainable_rows: int | None = None) -> None:
        super().__init__()
        trainable = num_words if trainable_rows is None else trainable_rows
        if not (max(padding_index, unk_index) < trainable <= num_words):
            raise ValueError(f"trainable_rows must hold the padding and unknown rows and be at most num_words "
                             f"({num_words}), got {trainable_rows}")
        self.embedding = nn.Embedding(trainable, dim, padding_idx=padding_index)
        nn.init.normal_(self.embedding.weight, std=dim**-0.5)
        with torch.no_grad():
            self.embedding.weight[padding_index].zero_()
        frozen = torch.empty(num_words - trainable, dim).normal_(std=dim**-0.5) if trainable < num_words else None
        self.register_buffer("frozen", frozen)
        self.trainable_rows = trainable
        self.unk_index = unk_index
        self.padding_index = padding_index
        self.word_dropout = word_dropout

    @property
    def dim(self) -> int:
        return self.embedding.embedding_dim

    @property
    def weight(self) -> torch.Tensor:
        """The whole table, trainable rows then frozen ones: a copy when there are frozen rows, for inspection."""
        if self.frozen is None:
            return self.embedding.weight
        return torch.cat([self.embedding.weight, self.frozen])

    @torch.no_grad()
    def load_pretrained(self, rows: torch.Tensor, vectors: torch.Tensor) -> None:
        """Copy `vectors` into the given vocabulary rows; the other rows keep their random initialisation,
        rescaled to the pretrained vectors' standard deviation so both kinds of rows start alike."""
        if vectors.shape[1] != self.dim:
            raise ValueError(f"pretrained vectors have dim {vectors.shape[1]}, the embedding has {self.dim}")
        if len(rows) != len(vectors):
            raise ValueError(f"{len(rows)} rows for {len(vectors)} pretrained vectors")
        parts = [self.embedding.weight] + ([self.frozen] if self.frozen is not None else [])
        std = vectors.float().std().item() if vectors.numel() > 1 else math.nan
        if math.isfinite(std) and std > 0:
            for part in parts:
                part.mul_(std * self.dim**0.5)
        weight = self.embedding.weight
        for start in range(0, len(rows), _CHUNK):
            chunk_rows = rows[start : start + _CHUNK].to(weight.device)
            chunk = vectors[start : start + _CHUNK].to(weight.device, weight.dtype)
            if self.frozen is None:
                weight[chunk_rows] = chunk
                continue
            inside = chunk_rows < self.trainable_rows
            weight[chunk_rows[inside]] = chunk[inside]
            self.frozen[chunk_rows[~inside] - self.trainable_rows] = chunk[~inside]
        weight[self.padding_index].zero_()

    def forward(self, words: torch.Tensor) -> torch.Tensor:
        if self.training and self.word_dropout > 0:
            drop = torch.rand(words.shape, device=words.device) < self.word_dropout
            words = words.masked_fill(drop & (words != self.padding_index), self.unk_index)
        if self.frozen is None:
            return self.embedding(words)
        # gather from both tables with ids clamped into each, then pick; no per-step concatenation of the tables
        trained = self.embedding(words.clamp(max=self.trainable_rows - 1))
        frozen = F.embedding((words - self.trainable_rows).clamp(min=0), self.frozen)
        return torch.where((words < self.trainable_rows).unsqueeze(-1), trained, frozen)
