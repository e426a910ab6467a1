"""Character CNN word encoder (Ma & Hovy 2016; with highway and projection as in ELMo's char-CNN).

`activation` is applied after the max-pool: ELMo's ReLU, or Kim et al.'s tanh (tanh is monotonic, so tanh after
the max equals their max over tanh, at 1/L of the cost)."""

from __future__ import annotations

import torch
from torch import nn

from lstmlab.modules.highway import Highway

ACTIVATIONS = {"none": nn.Identity, "relu": nn.ReLU, "tanh": nn.Tanh}


class CharCNN(nn.Module):
    """chars [..., L] -> embed -> one conv per (width, filters) -> max over real characters -> activation -> highway
    -> projection."""

    def __init__(
        self,
        num_chars: int,
        char_dim: int = 30,
        filters: list[tuple[int, int]] | None = None,
        highway_layers: int = 0,
        projection_dim: int | None = None,
        padding_index: int = 0,
        activation: str = "none",
    ) -> None:
        super().__init__()
        filters = [tuple(f) for f in (filters or [(3, 50)])]
        self.embedding = nn.Embedding(num_chars, char_dim, padding_idx=padding_index)
        self.convolutions = nn.ModuleList(
            nn.Conv1d(char_dim, count, kernel_size=width, padding=width // 2) for width, count in filters
        )
        width = sum(count for _, count in filters)
        self.highway = Highway(width, highway_layers) if highway_layers else nn.Identity()
        self.projection = nn.Linear(width, projection_dim) if projection_dim else nn.Identity()
        if activation not in ACTIVATIONS:
            raise ValueError(f"char CNN activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
        self.activation = ACTIVATIONS[activation]()
        self.output_dim = projection_dim or width
        self.padding_index = padding_index

    def forward(self, chars: torch.Tensor) -> torch.Tensor:
        leading = chars.shape[:-1]
        flat = chars.reshape(-1, chars.shape[-1])  # [N, L]
        real = (flat != self.padding_index).unsqueeze(1)  # [N, 1, L]
        embedded = self.embedding(flat).transpose(1, 2)  # [N, C, L]
        pooled = []
        for convolution in self.convolutions:
            features = convolution(embedded)[..., : flat.shape[1]]
            pooled.append(features.masked_fill(~real, float("-inf")).amax(dim=2))
        has_chars = real.any(dim=2)  # padding words have none: they get zeros, not -inf
        words = torch.cat(pooled, dim=1).masked_fill(~has_chars, 0.0)
        words = self.projection(self.highway(self.activation(words)))
        return words.reshape(*leading, self.output_dim)
