"""Stop a diverging run at once, before a non-finite value reaches the weights.

Without it a run with a too-high learning rate trains to the end on NaN, exits 0 and exports NaN weights. The
loss is checked before backward and the gradient norm before the optimizer step, so when either is NaN or
infinite the weights are still the last finite ones and no later checkpoint or export holds anything else.
Under DDP the ranks agree (any rank's bad value stops all), so none is left waiting in a collective. The gradient
norm is the one clipping by norm needs next, and a Task's clipping reuses it (`checked_gradient_norm`): without
that the check cost the tagger 2% of its training time (docs/benchmarks.md).
"""

from __future__ import annotations

from pathlib import Path

import lightning as L
import torch


class TrainingDivergedError(FloatingPointError):
    """A NaN or infinite training loss or gradient norm."""


class DivergenceStop(L.Callback):
    def on_before_backward(self, trainer: L.Trainer, pl_module: L.LightningModule, loss: torch.Tensor) -> None:
        self._check(trainer, "training loss", loss.detach())

    def on_before_optimizer_step(self, trainer: L.Trainer, pl_module: L.LightningModule,
                                 optimizer: torch.optim.Optimizer) -> None:
        norms = [torch.linalg.vector_norm(p.grad.detach()) for p in pl_module.parameters() if p.grad is not None]
        if norms:
            norm = torch.linalg.vector_norm(torch.stack(norms))  # as clip_grad_norm_ computes it
            pl_module.checked_gradient_norm = norm  # Task.configure_gradient_clipping takes it, right after this
            self._check(trainer, "gradient norm", norm)

    def _check(self, trainer: L.Trainer, what: str, value: torch.Tensor) -> None:
        diverged = not bool(torch.isfinite(value).all())
        if not trainer.strategy.reduce_boolean_decision(diverged, all=False):
            return
        last_good = newest_checkpoint(trainer)
        raise TrainingDivergedError(
            f"the {what} is {value.item() if diverged else 'non-finite on another rank'} at step "
            f"{trainer.global_step} (epoch {trainer.current_epoch}): training stopped before the optimizer applied "
            f"it. Last good checkpoint: {last_good or 'none saved yet'}. Lower the learning rate "
            "(model.optimizer.lr=...) or clip gradients (trainer.gradient_clip_val=...)"
        )


def newest_checkpoint(trainer: L.Trainer) -> str:
    """The newest file that a checkpoint callback has written: ModelCheckpoint's last/best, ResumeCheckpoint's
    `path`. Every one holds finite weights, since this stop comes before a non-finite step is applied."""
    candidates = [getattr(callback, name, None) for callback in trainer.checkpoint_callbacks
                  for name in ("last_model_path", "best_model_path", "path")]
    written = [Path(path) for path in candidates if path and Path(path).is_file()]
    return str(max(written, key=lambda path: path.stat().st_mtime_ns)) if written else ""
