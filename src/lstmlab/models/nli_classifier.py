"""InferSent's NLI network (Conneau et al. 2017): one shared sentence encoder for premise u and hypothesis v, the
features [u, v, |u - v|, u * v], and a multi-layer perceptron over three classes. The encoder is what is kept:
`embed` turns token ids into sentence vectors, for `SentenceEncoder`, the embed CLI and transfer tasks."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from lstmlab.models.network import Network
from lstmlab.models.sentence_encoders import RecurrentOptions, build_encoder
from lstmlab.modules.word_embedding import WordEmbedding

OOV_POLICIES = ("drop", "unk")


@dataclass
class NLIConfig:
    num_words: int  # word vocabulary size, from the data module (<pad>, <unk>, training words, vectors-only words)
    num_classes: int  # label vocabulary size (SNLI: 3), from the data module
    word_dim: int = 50  # word vector width; must match the vectors file
    encoder: str = "bilstm_max"  # see models.sentence_encoders.ENCODERS
    hidden_size: int = 512  # per direction for the recurrent encoders
    num_layers: int = 1  # stacked recurrent layers of the encoder
    cell: str | None = None  # rnn | gru | lstm; None: the encoder name's (bilstm_max: lstm, bigru_last: gru)
    bidirectional: bool | None = None  # None: the encoder name's
    peephole: bool = False  # LSTM variant: the gates also read the cell state (Gers & Schmidhuber 2000)
    coupled_gates: bool = False  # LSTM variant: input gate = 1 - forget gate
    chrono_init: int | None = None  # gate biases for memories of up to this many steps (LSTM, GRU)
    classifier_hidden: int = 512  # units of each hidden layer of the MLP
    classifier_layers: int = 1  # hidden layers of the MLP; 0 is a linear classifier
    activation: str = "tanh"  # tanh | relu
    dropout: float = 0.0  # probability, on the classifier's inputs and hidden layers
    word_dropout: float = 0.0  # dropout on the word vectors the encoder reads (not in InferSent; helps small data)
    freeze_embeddings: bool = True  # InferSent keeps GloVe fixed
    oov: str = "drop"  # words without a pretrained vector: "drop" them (the paper) or read them as <unk>
    trainable_words: int | None = None  # rows from this one on (words only the vectors file has) stay frozen

    def __post_init__(self) -> None:
        if self.oov not in OOV_POLICIES:
            raise ValueError(f"model.net.oov must be one of {OOV_POLICIES}, got {self.oov!r}")
        if self.activation not in ("tanh", "relu"):
            raise ValueError(f"model.net.activation must be tanh or relu, got {self.activation!r}")


def kept_first(keep: torch.Tensor) -> torch.Tensor:
    """order [B, T]: the positions where `keep` is True, in order, then the others, in order (a stable sort of
    ~keep), built from cumulative sums and a scatter, which ONNX exports (a stable argsort it does not)."""
    kept = keep.long().cumsum(dim=1)
    dropped = (~keep).long().cumsum(dim=1)
    target = torch.where(keep, kept - 1, kept[:, -1:] + dropped - 1)  # where each input position goes
    positions = torch.arange(keep.shape[1], device=keep.device).expand_as(target)
    return torch.empty_like(target).scatter_(1, target, positions)


class NLIClassifier(Network, kind="nli", config_type=NLIConfig):
    def __init__(self, config: NLIConfig) -> None:
        super().__init__(config)
        self.words = WordEmbedding(config.num_words, config.word_dim, trainable_rows=config.trainable_words)
        if config.freeze_embeddings:
            self.words.embedding.weight.requires_grad_(False)
        # which rows hold a pretrained vector (all but <pad> and <unk> until vectors are loaded): the OOV policy
        has_vector = torch.ones(config.num_words, dtype=torch.bool)
        has_vector[[self.words.padding_index, self.words.unk_index]] = False
        self.register_buffer("has_vector", has_vector)
        self.word_dropout = nn.Dropout(config.word_dropout)
        recurrent = RecurrentOptions(config.cell, config.bidirectional, config.peephole, config.coupled_gates,
                                     config.chrono_init)
        self.encoder = build_encoder(config.encoder, config.word_dim, config.hidden_size, config.num_layers,
                                     recurrent)
        layers: list[nn.Module] = []
        width = 4 * self.encoder.output_dim
        for _ in range(config.classifier_layers):
            layers += [nn.Dropout(config.dropout), nn.Linear(width, config.classifier_hidden),
                       nn.Tanh() if config.activation == "tanh" else nn.ReLU()]
            width = config.classifier_hidden
        layers += [nn.Dropout(config.dropout), nn.Linear(width, config.num_classes)]
        self.classifier = nn.Sequential(*layers)

    @property
    def embedding_dim(self) -> int:
        return self.encoder.output_dim

    @torch.no_grad()
    def load_pretrained(self, rows: torch.Tensor, vectors: torch.Tensor) -> None:
        self.words.load_pretrained(rows, vectors)
        self.has_vector.zero_()
        self.has_vector[rows] = True
        if self.config.freeze_embeddings:  # a fixed random <unk> would be noise: unknown words read as zeros
            self.words.embedding.weight[self.words.unk_index].zero_()

    def known_words(self, words: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Apply the OOV policy: (words, mask, order). With `drop`, the words without a vector are removed and the
        rest moved to the front, `order[b, i]` being the input position of word i; a sentence of unknown words
        only keeps them, as <unk>. With `unk`, they become <unk> in place."""
        unknown = mask & ~self.has_vector[words]
        order = torch.arange(words.shape[1], device=words.device).expand_as(words)
        if self.config.oov == "drop":
            keep = mask & ~unknown
            keep = keep | (mask & ~keep.any(dim=1, keepdim=True))  # a sentence of unknown words only: all kept
            order = kept_first(keep)
            words, mask = words.gather(1, order), keep.gather(1, order)
            unknown = unknown.gather(1, order) & mask
        words = words.masked_fill(unknown, self.words.unk_index).masked_fill(~mask, self.words.padding_index)
        return words, mask, order

    def embed(self, words: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Token ids [B, T] and mask -> sentence vectors [B, embedding_dim]."""
        words, mask, _ = self.known_words(words, mask)
        return self.encoder(self.word_dropout(self.words(words)), mask)

    def forward(self, premise_words: torch.Tensor, premise_mask: torch.Tensor,
                hypothesis_words: torch.Tensor, hypothesis_mask: torch.Tensor) -> torch.Tensor:
        """Class scores [B, num_classes] for (premise, hypothesis) pairs."""
        u = self.embed(premise_words, premise_mask)
        v = self.embed(hypothesis_words, hypothesis_mask)
        return self.classifier(torch.cat([u, v, (u - v).abs(), u * v], dim=-1))

    def loss(self, scores: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(scores.float(), labels)
