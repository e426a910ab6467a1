"""Learned scalar mix of a frozen biLM's layers (ELMo, Peters et al. 2018, eq. 1): gamma * sum_k softmax(s)_k * h_k.

Each layer of a biLM carries different information (the lower ones more syntax, the upper ones more meaning), and
which mix helps depends on the task, so the task learns the layer weights; gamma rescales the whole vector to suit
the task's network. The weights start equal (s = 0) and gamma at 1: the average of the layers.
"""

from __future__ import annotations

import torch
from torch import nn


class ScalarMix(nn.Module):
    def __init__(self, num_layers: int) -> None:
        super().__init__()
        self.scalars = nn.Parameter(torch.zeros(num_layers))
        self.gamma = nn.Parameter(torch.tensor(1.0))

    def forward(self, layers: torch.Tensor) -> torch.Tensor:
        """layers [L, ..., D] -> [..., D]."""
        weights = torch.softmax(self.scalars, dim=0).reshape(-1, *(1,) * (layers.dim() - 1))
        return self.gamma * (weights * layers).sum(dim=0)
