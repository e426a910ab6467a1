"""Progress for a run whose output is not a terminal (`> log`, CI, nohup): one log line every `every_s` seconds
with the epoch, the step of all steps, the rate, the time left and the latest metrics. Without it such a run is
silent for minutes; the progress bar, drawn for a terminal, leaves one frozen frame per epoch in a file, so there
this callback turns the bar off. On a terminal it does nothing: the bar shows the same."""

from __future__ import annotations

import logging
import math
import sys
import time
from datetime import timedelta

import lightning as L
from lightning.pytorch.utilities import rank_zero_only

log = logging.getLogger(__name__)


class ProgressLog(L.Callback):
    def __init__(self, every_s: float = 30.0) -> None:
        self.every_s = every_s
        self.active = False
        self.started = self.last_line = 0.0
        self.first_step = 0

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        self.active = not sys.stdout.isatty()
        if self.active and trainer.progress_bar_callback is not None:
            trainer.progress_bar_callback.disable()  # Lightning's public switch; this log replaces the bar

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.started = self.last_line = time.monotonic()
        self.first_step = trainer.global_step  # a resumed run starts past 0: its rate counts its own steps

    @rank_zero_only
    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs, batch,
                           batch_idx: int) -> None:
        now = time.monotonic()
        if not self.active or now - self.last_line < self.every_s:
            return
        self.last_line = now
        log.info("%s", self.line(trainer, batch_idx, now - self.started))

    def line(self, trainer: L.Trainer, batch_idx: int, elapsed: float) -> str:
        """`epoch 2/8, batch 40/125, step 165/1000, 5.2 steps/s, ETA 0:02:41 | train/loss_step 0.412 ...`; the
        rate is over this process's steps, validation included, so the time left counts validation too."""
        epochs = f"/{trainer.max_epochs}" if trainer.max_epochs and trainer.max_epochs > 0 else ""
        batches = f"/{trainer.num_training_batches}" if math.isfinite(trainer.num_training_batches) else ""
        total = trainer.estimated_stepping_batches
        steps = f"/{int(total)}" if math.isfinite(total) else ""
        rate = (trainer.global_step - self.first_step) / elapsed if elapsed > 0 else 0.0
        eta = f", ETA {timedelta(seconds=round((total - trainer.global_step) / rate))}" \
            if rate > 0 and math.isfinite(total) else ""
        metrics = " ".join(f"{name} {float(value):.4g}" for name, value in sorted(trainer.progress_bar_metrics.items()))
        return (f"epoch {trainer.current_epoch + 1}{epochs}, batch {batch_idx + 1}{batches}, "
                f"step {trainer.global_step}{steps}, {rate:.2f} steps/s{eta}" + (f" | {metrics}" if metrics else ""))
