"""Character BiLSTM word encoder (Lample et al. 2016): the final states of both directions."""

from __future__ import annotations

import torch
from torch import nn

from lstmlab.modules.masked_rnn import MaskedRNN


class CharLSTM(nn.Module):
    """chars [..., L] -> [..., 2H]; padding words (no characters) get zeros."""

    def __init__(self, num_chars: int, char_dim: int = 30, hidden_size: int = 50, padding_index: int = 0) -> None:
        super().__init__()
        self.embedding = nn.Embedding(num_chars, char_dim, padding_idx=padding_index)
        self.lstm = MaskedRNN(char_dim, hidden_size)
        self.output_dim = 2 * hidden_size
        self.padding_index = padding_index

    def forward(self, chars: torch.Tensor) -> torch.Tensor:
        """In training each distinct word of the batch is read once: autograd keeps the LSTM's workspace for every
        word it reads until the backward pass, and a batch (padding slots included) repeats most of its words. The
        outputs are the same, since each word is read alone (docs/benchmarks.md, "Training memory against Flair").
        Evaluation reads every slot, a graph that ONNX export traces as it is."""
        leading = chars.shape[:-1]
        flat = chars.reshape(-1, chars.shape[-1])
        if self.training:
            flat, word_of_slot = torch.unique(flat, dim=0, return_inverse=True)
        mask = flat != self.padding_index
        _, final = self.lstm(self.embedding(flat), mask, return_final=True)
        if self.training:
            final = final[word_of_slot]
        return final.reshape(*leading, self.output_dim)
