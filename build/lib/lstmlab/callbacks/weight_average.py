"""Validate, checkpoint and export an exponential moving average of the weights instead of the last step's.

On small training sets the weights at any one step are noisy, and the epoch picked by a small dev split partly
picks that noise; their running average is smoother and generalises better. Training itself goes on from the raw
weights: the average is swapped into the model for validation and stays there while the epoch's checkpoints are
written (so `best.ckpt` and the export hold averaged weights), and the raw weights are swapped back before the next
training step. The raw weights travel in the callback's state, so a resumed run continues exactly.
"""

from __future__ import annotations

from typing import Any

import lightning as L
import torch


class WeightAveraging(L.Callback):
    def __init__(self, decay: float = 0.999, warmup: bool = True) -> None:
        if not 0.0 < decay < 1.0:
            raise ValueError(f"decay must be in (0, 1), got {decay}")
        self.decay = decay
        self.warmup = warmup  # early on, average over the steps so far: decay (1 + t) / (10 + t) until it reaches decay
        self.shadow: list[torch.Tensor] | None = None  # the weights not in the model now (average or raw)
        self.swapped = False  # True while the model holds the average
        self.updates = 0

    @staticmethod
    def _weights(pl_module: L.LightningModule) -> list[torch.Tensor]:
        return [p for p in pl_module.parameters() if p.requires_grad]

    @torch.no_grad()
    def _swap(self, pl_module: L.LightningModule) -> None:
        for weight, other in zip(self._weights(pl_module), self.shadow, strict=True):
            held = weight.detach().clone()
            weight.copy_(other)
            other.copy_(held)
        self.swapped = not self.swapped

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.shadow is not None:  # restored from a checkpoint, which is read onto the CPU
            self.shadow = [s.to(w.device, w.dtype) for s, w in zip(self.shadow, self._weights(pl_module), strict=True)]

    def on_train_batch_start(self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any, batch_idx: int
                             ) -> None:
        if self.swapped:  # after a validation, or a resumed checkpoint saved at one
            self._swap(pl_module)

    @torch.no_grad()
    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any,
                           batch_idx: int) -> None:
        weights = self._weights(pl_module)
        if self.shadow is None:
            self.shadow = [w.detach().clone() for w in weights]
        self.updates += 1
        decay = min(self.decay, (1 + self.updates) / (10 + self.updates)) if self.warmup else self.decay
        for average, weight in zip(self.shadow, weights, strict=True):
            average.lerp_(weight.detach(), 1.0 - decay)

    def on_validation_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.shadow is not None and not self.swapped:
            self._swap(pl_module)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.shadow is not None and not self.swapped:
            self._swap(pl_module)  # the model ends holding the average, as its checkpoints do

    def state_dict(self) -> dict[str, Any]:
        return {"shadow": self.shadow, "swapped": self.swapped, "updates": self.updates}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.shadow = state_dict["shadow"]
        self.swapped = state_dict["swapped"]
        self.updates = state_dict["updates"]
