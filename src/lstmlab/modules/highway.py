"""Highway layers (Srivastava et al. 2015): y = g * relu(W x) + (1 - g) * x, g = sigmoid(V x)."""

from __future__ import annotations

import torch
from torch import nn


class Highway(nn.Module):
    def __init__(self, dim: int, num_layers: int = 1) -> None:
        super().__init__()
        self.layers = nn.ModuleList(nn.Linear(dim, 2 * dim) for _ in range(num_layers))
        for layer in self.layers:
            nn.init.constant_(layer.bias[dim:], 1.0)  # carry the input through at the start

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            transform, gate = layer(x).chunk(2, dim=-1)
            gate = torch.sigmoid(gate)
            x = gate * torch.relu(transform) + (1 - gate) * x
        return x
