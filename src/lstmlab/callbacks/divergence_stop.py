"""Stop a diverging run at once, before a non-finite value reaches the weights.

Without it a run with a too-high learning rate trains to the end on NaN, exits 0 and exports NaN weights. The
loss is checked before backward and the gradient norm before the optimizer step, so when either is NaN or
infinite the weights are still the last finite ones and no later checkpoint or export holds anything else.
Under DDP the ranks agree (any rank's bad value stops all), so none is left waiting in a collective. The gradient
norm is the one clipping by norm needs next, and a Task's clipping reuses it (`checked_gradient_norm`): without
that the check cost the tagger 2% of its training time (docs/benchmarks.md).

Under fp16-mixed a gradient scaler multiplies the loss before backward; an infinite or NaN gradient is then normal:
the scaler skips that step (the weights stay as they were) and halves its scale. So while a scaler is active the
gradients and the (scaled) loss are the scaler's business, and what marks a diverged run is the scale collapsing:
every overflow halves it, so it only falls below `min_loss_scale` (1e-4, fairseq's floor for the same test) after
some 30 overflowing steps in a row with 65536 to start from, non-finite losses included. The run then stops before
that step too, with the weights of the last step the scaler applied.
"""

from __future__ import annotations

from pathlib import Path

import lightning as L
import torch


class TrainingDivergedError(FloatingPointError):
    """A NaN or infinite training loss or gradient norm."""


class DivergenceStop(L.Callback):
    def __init__(self, min_loss_scale: float = 1e-4) -> None:
        self.min_loss_scale = min_loss_scale

    def on_before_backward(self, trainer: L.Trainer, pl_module: L.LightningModule, loss: torch.Tensor) -> None:
        if loss_scaler(trainer) is None:  # under a scaler this loss is scaled, and a non-finite one skips the step
            self._check(trainer, "training loss", loss.detach())

    def on_before_optimizer_step(self, trainer: L.Trainer, pl_module: L.LightningModule,
                                 optimizer: torch.optim.Optimizer) -> None:
        scaler = loss_scaler(trainer)
        if scaler is not None:
            self._check_loss_scale(trainer, scaler)
            return
        norms = [torch.linalg.vector_norm(p.grad.detach()) for p in pl_module.parameters() if p.grad is not None]
        if norms:
            norm = torch.linalg.vector_norm(torch.stack(norms))  # as clip_grad_norm_ computes it
            pl_module.checked_gradient_norm = norm  # Task.configure_gradient_clipping takes it, right after this
            self._check(trainer, "gradient norm", norm)

    def _check(self, trainer: L.Trainer, what: str, value: torch.Tensor) -> None:
        diverged = not bool(torch.isfinite(value).all())
        if trainer.strategy.reduce_boolean_decision(diverged, all=False):
            shown = value.item() if diverged else "non-finite on another rank"
            self._stop(trainer, f"the {what} is {shown} at step {trainer.global_step} (epoch {trainer.current_epoch})"
                                ": training stopped before the optimizer applied it")

    def _check_loss_scale(self, trainer: L.Trainer, scaler: torch.amp.GradScaler) -> None:
        scale = scaler.get_scale()  # the same on every rank: the scaler sees the gradients DDP has averaged
        if trainer.strategy.reduce_boolean_decision(scale < self.min_loss_scale, all=False):
            self._stop(trainer, f"the fp16 loss scale has fallen to {scale:g} (below {self.min_loss_scale:g}) at "
                                f"step {trainer.global_step} (epoch {trainer.current_epoch}): the gradient scaler has "
                                "skipped step after step for a non-finite loss or gradients, so training stopped")

    def _stop(self, trainer: L.Trainer, what_happened: str) -> None:
        last_good = newest_checkpoint(trainer)
        raise TrainingDivergedError(
            f"{what_happened}. Last good checkpoint: {last_good or 'none saved yet'}. Lower the learning rate "
            "(model.optimizer.lr=...) or clip gradients (trainer.gradient_clip_val=...)"
        )


def loss_scaler(trainer: L.Trainer) -> torch.amp.GradScaler | None:
    """The gradient scaler of fp16-mixed training (`MixedPrecision.scaler`), or None: no other precision has one,
    and a disabled scaler skips nothing."""
    scaler = getattr(trainer.precision_plugin, "scaler", None)
    return scaler if scaler is not None and scaler.is_enabled() else None


def newest_checkpoint(trainer: L.Trainer) -> str:
    """The newest file that a checkpoint callback has written: ModelCheckpoint's last/best, ResumeCheckpoint's
    `path`. Every one holds finite weights, since this stop comes before a non-finite step is applied."""
    candidates = [getattr(callback, name, None) for callback in trainer.checkpoint_callbacks
                  for name in ("last_model_path", "best_model_path", "path")]
    written = [Path(path) for path in candidates if path and Path(path).is_file()]
    return str(max(written, key=lambda path: path.stat().st_mtime_ns)) if written else ""
