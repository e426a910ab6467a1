"""A stack of one-directional recurrent layers that takes and returns its state: one direction of a language model.

A language model's two directions must be independent stacks (a forward layer never reads backward states), so
unlike `MaskedRNN` this reads one direction only; the backward LM is a second stack fed reversed text. Each
layer is its own fused `nn.LSTM` / `nn.GRU` / `nn.RNN` so every layer's output is available (ELMo features),
with dropout between layers, an optional projection of each LSTM layer's output (`proj_size`, as in ELMo's
4096 -> 512 cells) and optional residual connections between layers of equal width.
"""

from __future__ import annotations

import torch
from torch import nn

from lstmlab.modules.dropout import Dropout
from lstmlab.modules.recurrent_cells import FUSED_LAYERS, CellOptions

LayerState = tuple[torch.Tensor, ...]  # one layer's: (h [1, B, out], c [1, B, hidden]) for an LSTM, (h,) otherwise


class RecurrentStack(nn.Module):
    def __init__(
        self, input_size: int, hidden_size: int, num_layers: int, proj_size: int = 0, dropout: float = 0.0,
        residual: bool = False, cell: str = "lstm",
    ) -> None:
        super().__init__()
        CellOptions(cell)  # an unknown cell is refused with the allowed values
        if proj_size and cell != "lstm":
            raise ValueError(f"proj_size: an LSTM output projection, impossible with cell={cell!r}; set proj_size=0")
        self.output_dim = proj_size or hidden_size
        options = {"proj_size": proj_size} if cell == "lstm" else {}
        self.layers = nn.ModuleList(
            FUSED_LAYERS[cell](input_size if index == 0 else self.output_dim, hidden_size, batch_first=True, **options)
            for index in range(num_layers)
        )
        self.dropout = Dropout(dropout)
        self.residual = residual
        self.cell = cell

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
            given = None if state is None else state[index]
            y, layer_state = layer(x, given if given is None or self.cell == "lstm" else given[0])
            if self.residual and index > 0:
                y = y + inputs
            outputs.append(y)
            final.append(tuple(layer_state) if self.cell == "lstm" else (layer_state,))
            x = y
        return outputs, final


def detach_state(state: list[LayerState]) -> list[LayerState]:
    """The state carried into the next window: same values, no gradient path back (truncated BPTT)."""
    return [tuple(tensor.detach() for tensor in layer_state) for layer_state in state]
