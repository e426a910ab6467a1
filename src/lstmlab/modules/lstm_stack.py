"""A stack of one-directional LSTM layers that takes and returns its state: one direction of a language model.

A language model's two directions must be independent stacks (a forward layer never reads backward states), so
unlike `MaskedRNN` this reads one direction only; the backward LM is a second stack fed reversed text. Each
layer is its own `nn.LSTM` so every layer's output is available (ELMo features), with dropout between layers,
an optional projection of each layer's output (`proj_size`, as in ELMo's 4096 -> 512 cells) and optional
residual connections between layers of equal width.
"""

from __future__ import annotations

import torch
from torch import nn

from lstmlab.modules.dropout import Dropout

LayerState = tuple[torch.Tensor, torch.Tensor]  # (h [1, B, out], c [1, B, hidden]) of one layer


class LSTMStack(nn.Module):
    def __init__(
        self, input_size: int, hidden_size: int, num_layers: int, proj_size: int = 0, dropout: float = 0.0,
        residual: bool = False,
    ) -> None:
        super().__init__()
        self.output_dim = proj_size or hidden_size
        self.layers = nn.ModuleList(
            nn.LSTM(input_size if index == 0 else self.output_dim, hidden_size, batch_first=True, proj_size=proj_size)
            for index in range(num_layers)
        )
        self.dropout = Dropout(dropout)
        self.residual = residual

    def forward(
        self, x: torch.Tensor, state: list[LayerState] | None = None
    ) -> tuple[list[torch.Tensor], list[LayerState]]:
        """x [B, T, I] -> (every layer's output [B, T, out], before dropout; every layer's final state). `state`
        (from a previous window) continues the text where that window ended; None starts from zeros."""
        outputs: list[torch.Tensor] = []
        final: list[LayerState] = []
        for index, layer in enumerate(self.layers):
            inputs = x
            if index > 0:
                x = self.dropout(x)
            y, layer_state = layer(x, None if state is None else state[index])
            if self.residual and index > 0:
                y = y + inputs
            outputs.append(y)
            final.append(layer_state)
            x = y
        return outputs, final


def detach_state(state: list[LayerState]) -> list[LayerState]:
    """The state carried into the next window: same values, no gradient path back (truncated BPTT)."""
    return [(h.detach(), c.detach()) for h, c in state]
