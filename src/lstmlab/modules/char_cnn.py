"""Character CNN word encoder (Ma & Hovy 2016; with highway and projection as in ELMo's char-CNN).

`activation` is applied after the max-pool: ELMo's ReLU, or Kim et al.'s tanh (tanh is monotonic, so tanh after
the max equals their max over tanh, at 1/L of the cost).

`boundaries` adds a learned begin and end vector around each word's characters (ELMo marks them with its own
character ids): max-pooling forgets where an n-gram was, and without them a filter cannot tell a suffix, the carrier
of part of speech in agglutinative languages, from the same letters inside a word."""

from __future__ import annotations

import torch
import torch.nn.functional as F
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
        boundaries: bool = False,
    ) -> None:
        super().__init__()
        filters = [tuple(f) for f in (filters or [(3, 50)])]
        self.embedding = nn.Embedding(num_chars, char_dim, padding_idx=padding_index)
        self.boundaries = nn.Parameter(torch.randn(2, char_dim)) if boundaries else None  # begin, end
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
        real = flat != self.padding_index  # [N, L]
        has_chars = real.any(dim=1, keepdim=True)  # padding words have none: they get zeros, not -inf
        embedded = self.embedding(flat)  # [N, L, C]
        if self.boundaries is not None:
            embedded, real = self.with_boundaries(embedded, real)
        embedded, real = embedded.transpose(1, 2), real.unsqueeze(1)  # [N, C, L], [N, 1, L]
        pooled = []
        for convolution in self.convolutions:
            features = convolution(embedded)[..., : embedded.shape[2]]
            pooled.append(features.masked_fill(~real, float("-inf")).amax(dim=2))
        words = torch.cat(pooled, dim=1).masked_fill(~has_chars, 0.0)
        words = self.projection(self.highway(self.activation(words)))
        return words.reshape(*leading, self.output_dim)

    def with_boundaries(self, embedded: torch.Tensor, real: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """[N, L, C] characters -> [N, L + 2, C] with the begin vector first and the end vector after each word's
        last character; the mask of real positions grows to cover both."""
        lengths = real.sum(dim=1, keepdim=True)  # [N, 1]
        positions = torch.arange(embedded.shape[1] + 2, device=embedded.device).unsqueeze(0)  # [1, L + 2]
        framed = F.pad(embedded, (0, 0, 1, 1))  # characters at 1..L
        begin, end = self.boundaries.to(embedded.dtype)
        framed = framed + (positions == 0).unsqueeze(-1) * begin + (positions == lengths + 1).unsqueeze(-1) * end
        return framed, positions <= lengths + 1
