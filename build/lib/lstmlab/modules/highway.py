"""Highway layers (Srivastava et al. 2015): y = T * relu(W_H x + b_H) + (1 - T) * x, T = sigmoid(W_T x + b_T).

T is the transform gate: T -> 1 gives the transform branch relu(W_H x + b_H), T -> 0 carries x unchanged.
b_T starts at -1, so T is about sigmoid(-1) = 0.27 and each layer starts mostly carrying its input. The paper
suggests -1 to -3, the larger magnitudes for networks tens of layers deep; our stacks are one or two layers (as in
ELMo's character CNN), and -1 is what ELMo's highway starts from (its carry gate's bias is +1, i.e. b_T = -1).
"""

from __future__ import annotations

import torch
from torch import nn

TRANSFORM_GATE_BIAS = -1.0


class Highway(nn.Module):
    """Each layer is one Linear(dim, 2 * dim): its first half is the transform branch (W_H, b_H), its second half
    the transform gate (W_T, b_T), so both come from one matrix multiply."""

    def __init__(self, dim: int, num_layers: int = 1) -> None:
        super().__init__()
        self.layers = nn.ModuleList(nn.Linear(dim, 2 * dim) for _ in range(num_layers))
        for layer in self.layers:
            nn.init.constant_(layer.bias[dim:], TRANSFORM_GATE_BIAS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            transform, gate = layer(x).chunk(2, dim=-1)
            gate = torch.sigmoid(gate)
            x = gate * torch.relu(transform) + (1 - gate) * x
        return x
