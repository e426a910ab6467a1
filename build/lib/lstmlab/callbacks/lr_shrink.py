"""InferSent's learning-rate schedule for SGD: decay the rate every epoch, divide it whenever the dev metric does
not beat its best, and stop training once it falls below a floor (Conneau et al. 2017, section 4; train_nli.py)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import lightning as L
from lightning.pytorch.utilities import rank_zero_info


@dataclass
class ShrinkRule:
    """The rule alone, so that it can be checked on a scripted sequence of dev scores. As in InferSent's code, a
    score is compared with the best so far (not only the previous one): a plateau shrinks the rate too."""

    decay: float = 0.99  # factor applied at the start of every epoch after the first
    shrink: float = 5.0  # divisor when the dev score is not a new best
    min_lr: float = 1e-5  # training stops when the rate falls below this
    mode: str = "max"
    best: float | None = None

    def improved(self, score: float) -> bool:
        if self.best is None or math.isnan(self.best):
            return not math.isnan(score)
        return score > self.best if self.mode == "max" else score < self.best

    def after_validation(self, lr: float, score: float) -> tuple[float, bool]:
        """(new rate, stop) after an epoch's dev score."""
        if self.improved(score):
            self.best = score
            return lr, False
        lr /= self.shrink
        return lr, lr < self.min_lr


class LearningRateShrink(L.Callback):
    def __init__(self, monitor: str = "val/acc", mode: str = "max", decay: float = 0.99, shrink: float = 5.0,
                 min_lr: float = 1e-5) -> None:
        if mode not in ("max", "min"):
            raise ValueError(f"mode must be max or min, got {mode!r}")
        self.monitor = monitor
        self.rule = ShrinkRule(decay, shrink, min_lr, mode)

    @staticmethod
    def _set_lr(trainer: L.Trainer, factor: float) -> float:
        for optimizer in trainer.optimizers:
            for group in optimizer.param_groups:
                group["lr"] *= factor
        return trainer.optimizers[0].param_groups[0]["lr"]

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # the rate lives in the optimizer state, which checkpoints keep: a resumed run decays from where it was
        if trainer.current_epoch > 0:
            self._set_lr(trainer, self.rule.decay)

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # runs before ModelCheckpoint's own hook (Lightning calls checkpoint callbacks last), so the checkpoint
        # saved for this epoch already holds the shrunk rate and the new best
        if trainer.sanity_checking or self.monitor not in trainer.callback_metrics:
            return
        lr = trainer.optimizers[0].param_groups[0]["lr"]
        new_lr, stop = self.rule.after_validation(lr, float(trainer.callback_metrics[self.monitor]))
        if new_lr != lr:
            self._set_lr(trainer, new_lr / lr)
            rank_zero_info(f"{self.monitor} did not improve on {self.rule.best:.4f}: learning rate {lr:.3g} -> "
                           f"{new_lr:.3g}" + (f" (below {self.rule.min_lr:g}: stopping)" if stop else ""))
        if stop:
            trainer.should_stop = True

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.rule.best}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.rule.best = state_dict["best"]
