"""What an ELMo returns for a batch of sentences, whichever back end ran it: torch tensors from PyTorch, numpy
arrays from the ONNX runtime (which has no torch)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class ElmoOutput:
    layers: Any  # [num_layers, B, T, dim] float32: the token layer (if it has the LSTMs' width), then each LSTM layer
    mask: Any  # [B, T], True on real tokens
    unknown_chars: int  # tokens with characters the model never saw in training (read as the unknown character)
