"""A many-to-one sequence classifier: embed the tokens, run a recurrent encoder, take its state after the last
real token (or a pooled state), a linear layer on top. The encoder is any of `sentence_encoders` (InferSent's),
with its cell, direction and LSTM variants from the config, so `encoder=lstm cell=rnn` is a tanh RNN's last state.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from lstmlab.models.network import Network
from lstmlab.models.sentence_encoders import RecurrentOptions, build_encoder
from lstmlab.modules.dropout import Dropout
from lstmlab.modules.word_embedding import WordEmbedding


@dataclass
class ClassifierConfig:
    num_words: int  # word vocabulary size, from the data module (<pad>, <unk>, training words, vectors-only words)
    num_classes: int  # label vocabulary size, from the data module
    word_dim: int = 50  # must match the vectors file when the data has one
    encoder: str = "bilstm_last"  # see models.sentence_encoders.ENCODERS: *_last, bilstm_max, bilstm_mean, ...
    hidden_size: int = 150  # per direction
    num_layers: int = 1  # stacked recurrent layers of the encoder
    cell: str | None = None  # rnn | gru | lstm; None: the encoder name's (bilstm_last: lstm)
    bidirectional: bool | None = None  # None: the encoder name's
    peephole: bool = False  # LSTM variant: the gates also read the cell state (Gers & Schmidhuber 2000)
    coupled_gates: bool = False  # LSTM variant: input gate = 1 - forget gate
    chrono_init: int | None = None  # gate biases for memories of up to this many steps (LSTM, GRU)
    dropout: float = 0.5  # probability, on the word vectors and on the sentence vector
    word_dropout: float = 0.0  # probability that a whole word is replaced by <unk> while training
    freeze_embeddings: bool = False  # keep the word vectors fixed (the pretrained ones as loaded)
    trainable_words: int | None = None  # rows from this one on (words only the vectors file has) stay frozen


class SequenceClassifier(Network, kind="classifier", config_type=ClassifierConfig):
    def __init__(self, config: ClassifierConfig) -> None:
        super().__init__(config)
        self.words = WordEmbedding(config.num_words, config.word_dim, word_dropout=config.word_dropout,
                                   trainable_rows=config.trainable_words)
        if config.freeze_embeddings:
            self.words.embedding.weight.requires_grad_(False)
        recurrent = RecurrentOptions(config.cell, config.bidirectional, config.peephole, config.coupled_gates,
                                     config.chrono_init)
        self.encoder = build_encoder(config.encoder, config.word_dim, config.hidden_size, config.num_layers,
                                     recurrent)
        self.dropout = Dropout(config.dropout)
        self.output = nn.Linear(self.encoder.output_dim, config.num_classes)

    def load_pretrained(self, rows: torch.Tensor, vectors: torch.Tensor) -> None:
        self.words.load_pretrained(rows, vectors)

    def forward(self, words: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Class scores [B, num_classes] for token ids [B, T] (mask True on real tokens)."""
        sentence = self.encoder(self.dropout(self.words(words)), mask)
        return self.output(self.dropout(sentence))

    def loss(self, scores: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(scores.float(), labels)
