"""The sentence encoders of InferSent (Conneau et al. 2017, section 3.2), plus a bag of word vectors.

All share one interface: word vectors x [B, T, I] and mask [B, T] (True on real words, a prefix of each row) in,
one vector per sentence [B, output_dim] out. Padding never reaches the result, so a sentence's vector does not
depend on the batch it is in (InferSent's released V1 max-pooled over padding, and its vectors changed with batch
composition). A sentence with no word gives zeros.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from lstmlab.modules.masked_rnn import MaskedRNN
from lstmlab.modules.pooling import masked_max, masked_mean

ENCODERS: dict[str, type[SentenceEncoderModule]] = {}


@dataclass(frozen=True)
class RecurrentOptions:
    """The recurrent layers of an encoder: `cell` and `bidirectional` None take the encoder name's own
    (`bigru_last`: a bidirectional GRU), so `encoder=bilstm_max cell=gru` is a BiGRU with max pooling."""

    cell: str | None = None  # rnn | gru | lstm; None: the encoder name's
    bidirectional: bool | None = None  # None: the encoder name's
    peephole: bool = False  # LSTM variant: the gates also read the cell state (Gers & Schmidhuber 2000)
    coupled_gates: bool = False  # LSTM variant: input gate = 1 - forget gate
    chrono_init: int | None = None  # gate biases for memories of up to this many steps (recurrent_cells.chrono_init_)


class SentenceEncoderModule(nn.Module):
    """A subclass registers under each of its `names` (the config's `model.net.encoder`); a recurrent one maps
    each name to its default (cell, bidirectional)."""

    names: ClassVar[tuple[str, ...]] = ()
    recurrent_defaults: ClassVar[dict[str, tuple[str, bool]]] = {}
    output_dim: int

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        for name in cls.names:
            ENCODERS[name] = cls

    def __init__(self, name: str, input_dim: int, hidden_size: int, num_layers: int = 1,
                 recurrent: RecurrentOptions = RecurrentOptions()) -> None:
        super().__init__()
        if name not in self.recurrent_defaults and recurrent != RecurrentOptions():
            raise ValueError(f"model.net.cell / bidirectional / peephole / coupled_gates / chrono_init apply to "
                             f"recurrent encoders; {name!r} has no recurrent layer")

    def recurrent_layers(self, name: str, input_dim: int, hidden_size: int, num_layers: int,
                         recurrent: RecurrentOptions) -> MaskedRNN:
        cell, bidirectional = self.recurrent_defaults[name]
        return MaskedRNN(input_dim, hidden_size, num_layers, cell=recurrent.cell or cell,
                         bidirectional=bidirectional if recurrent.bidirectional is None else recurrent.bidirectional,
                         peephole=recurrent.peephole, coupled_gates=recurrent.coupled_gates,
                         chrono_init=recurrent.chrono_init)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


def build_encoder(name: str, input_dim: int, hidden_size: int, num_layers: int = 1,
                  recurrent: RecurrentOptions = RecurrentOptions()) -> SentenceEncoderModule:
    if name not in ENCODERS:
        raise ValueError(f"unknown sentence encoder {name!r}; choose one of {sorted(ENCODERS)}")
    return ENCODERS[name](name, input_dim, hidden_size, num_layers, recurrent)


class RecurrentLast(SentenceEncoderModule):
    """LSTM / GRU reading the sentence left to right, its state after the last word (`lstm`, `gru`); the
    bidirectional variant concatenates the backward state after the first word (`bigru_last`, `bilstm_last`)."""

    names = ("lstm", "gru", "bigru_last", "bilstm_last")
    recurrent_defaults = {"lstm": ("lstm", False), "gru": ("gru", False), "bigru_last": ("gru", True),
                          "bilstm_last": ("lstm", True)}

    def __init__(self, name: str, input_dim: int, hidden_size: int, num_layers: int = 1,
                 recurrent: RecurrentOptions = RecurrentOptions()) -> None:
        super().__init__(name, input_dim, hidden_size, num_layers, recurrent)
        self.rnn = self.recurrent_layers(name, input_dim, hidden_size, num_layers, recurrent)
        self.output_dim = self.rnn.output_dim

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.rnn(x, mask, return_final=True)[1]


class BiLSTMPooling(SentenceEncoderModule):
    """BiLSTM states, max- or mean-pooled over the words (`bilstm_max`, the paper's best, and `bilstm_mean`)."""

    names = ("bilstm_max", "bilstm_mean")
    recurrent_defaults = {"bilstm_max": ("lstm", True), "bilstm_mean": ("lstm", True)}

    def __init__(self, name: str, input_dim: int, hidden_size: int, num_layers: int = 1,
                 recurrent: RecurrentOptions = RecurrentOptions()) -> None:
        super().__init__(name, input_dim, hidden_size, num_layers, recurrent)
        self.bilstm = self.recurrent_layers(name, input_dim, hidden_size, num_layers, recurrent)
        self.pool = masked_max if name == "bilstm_max" else masked_mean
        self.output_dim = self.bilstm.output_dim

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.pool(self.bilstm(x, mask), mask)

    def word_wins(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """[B, T] how many dimensions of the max-pooled vector each word provides (InferSent's `visualize`)."""
        _, winners = masked_max(self.bilstm(x, mask), mask, return_indices=True)  # [B, D] step per dimension
        counts = torch.zeros(mask.shape, dtype=torch.long, device=x.device)
        return counts.scatter_add_(1, winners, torch.ones_like(winners)).masked_fill(~mask, 0)


class InnerAttention(SentenceEncoderModule):
    """BiLSTM states h_t weighted by attention: a_t = softmax_t(u · tanh(W h_t + b)), sentence = sum_t a_t h_t,
    with one learned query u (the paper's eq. for inner-attention; Yang et al. 2016)."""

    names = ("inner_attention",)
    recurrent_defaults = {"inner_attention": ("lstm", True)}

    def __init__(self, name: str, input_dim: int, hidden_size: int, num_layers: int = 1,
                 recurrent: RecurrentOptions = RecurrentOptions()) -> None:
        super().__init__(name, input_dim, hidden_size, num_layers, recurrent)
        self.bilstm = self.recurrent_layers(name, input_dim, hidden_size, num_layers, recurrent)
        self.key = nn.Linear(self.bilstm.output_dim, self.bilstm.output_dim)
        self.query = nn.Linear(self.bilstm.output_dim, 1, bias=False)
        self.output_dim = self.bilstm.output_dim

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        states = self.bilstm(x, mask)
        scores = self.query(torch.tanh(self.key(states))).squeeze(2)  # [B, T]
        weights = scores.masked_fill(~mask, float("-inf")).softmax(dim=1).nan_to_num(0.0)  # an empty row: zeros
        return torch.bmm(weights.unsqueeze(1), states).squeeze(1)


class HierarchicalConvNet(SentenceEncoderModule):
    """Four convolution layers (width 3, ReLU), each max-pooled over the words; the four maxima concatenated
    (the paper's hierarchical ConvNet, AdaSent-like). Padding is zeroed before every layer, so a word next to the
    padding sees zeros, exactly as at the end of the sentence alone."""

    names = ("hconvnet",)
    levels = 4

    def __init__(self, name: str, input_dim: int, hidden_size: int, num_layers: int = 1,
                 recurrent: RecurrentOptions = RecurrentOptions()) -> None:
        super().__init__(name, input_dim, hidden_size, num_layers, recurrent)
        channels = 2 * hidden_size  # as wide as a BiLSTM's states
        self.convs = nn.ModuleList(
            nn.Conv1d(input_dim if level == 0 else channels, channels, kernel_size=3, padding=1)
            for level in range(self.levels)
        )
        self.output_dim = self.levels * channels

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        padding = ~mask.unsqueeze(1)  # [B, 1, T]
        states = x.transpose(1, 2)  # [B, C, T]
        maxima = []
        for conv in self.convs:
            states = torch.relu(conv(states.masked_fill(padding, 0.0)))
            maxima.append(masked_max(states.transpose(1, 2), mask))
        return torch.cat(maxima, dim=-1)


class BagOfVectors(SentenceEncoderModule):
    """The mean of the word vectors: the baseline every encoder must beat."""

    names = ("bag_of_vectors",)

    def __init__(self, name: str, input_dim: int, hidden_size: int = 0, num_layers: int = 1,
                 recurrent: RecurrentOptions = RecurrentOptions()) -> None:
        super().__init__(name, input_dim, hidden_size, num_layers, recurrent)
        self.output_dim = input_dim

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return masked_mean(x, mask)
