"""Pooling of padded sequence states into one vector per sentence (InferSent's max and mean pooling).

Only real steps count: a sentence pools to the same vector alone or padded in any batch. Padding is excluded with
masked_fill rather than a multiply, so a non-finite value at a padding position cannot leak in (0 * inf is nan).
"""

from __future__ import annotations

from typing import Literal, overload

import torch


@overload
def masked_max(states: torch.Tensor, mask: torch.Tensor, return_indices: Literal[False] = False) -> torch.Tensor: ...


@overload
def masked_max(
    states: torch.Tensor, mask: torch.Tensor, return_indices: Literal[True]
) -> tuple[torch.Tensor, torch.Tensor]: ...


def masked_max(
    states: torch.Tensor, mask: torch.Tensor, return_indices: bool = False
) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    """states [B, T, D], mask [B, T] -> the max over real steps [B, D].

    Padding is filled with the dtype's own lowest finite value (masked_fill refuses float32's in bfloat16 or float16:
    it overflows), so it never wins while a row has a real step; a row with none gives zeros. With `return_indices`,
    also the step that won each dimension [B, D] (0 for a row with no real step: all its steps tie, and max returns
    the first): counting wins per step gives InferSent's word importance.
    """
    filled = states.masked_fill(~mask.unsqueeze(2), torch.finfo(states.dtype).min)
    empty = ~mask.any(dim=1, keepdim=True)  # [B, 1]
    if not return_indices:  # amax finds no indices: much faster than max on CPU (bench/encode_speed.py)
        return filled.amax(dim=1).masked_fill(empty, 0.0)
    values, indices = filled.max(dim=1)
    return values.masked_fill(empty, 0.0), indices


def masked_mean(states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """states [B, T, D], mask [B, T] -> the mean over real steps [B, D] (the sum divided by the real length, not by
    T); a row with no real step gives zeros."""
    total = states.masked_fill(~mask.unsqueeze(2), 0.0).sum(dim=1)
    return total / mask.sum(dim=1, keepdim=True).clamp_min(1)  # an integer divisor keeps total's dtype
