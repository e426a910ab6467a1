"""Training throughput (real tokens per second) and padding ratio, printed at the end of training."""

from __future__ import annotations

import logging
import time

import lightning as L
from lightning.pytorch.utilities import rank_zero_info

log = logging.getLogger(__name__)


class ThroughputMonitor(L.Callback):
    """Counts only training batches (validation time excluded). Any task's batch says what it holds:
    `num_tokens` real tokens and `num_positions` padded positions (so padding = 1 - tokens / positions)."""

    def __init__(self) -> None:
        self.tokens = 0
        self.positions = 0
        self.seconds = 0.0
        self._started = 0.0
        self._epoch_start = (0, 0.0)  # (tokens, seconds) when the epoch began

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        self._started = time.perf_counter()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.seconds += time.perf_counter() - self._started
        self.tokens += int(batch["num_tokens"])
        self.positions += int(batch.get("num_positions", batch["num_tokens"]))

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        self._epoch_start = (self.tokens, self.seconds)

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        tokens, seconds = self.tokens - self._epoch_start[0], self.seconds - self._epoch_start[1]
        if seconds > 0:
            pl_module.log("train/tokens_per_s", tokens / seconds, on_epoch=True)  # this epoch's rate

    def state_dict(self) -> dict[str, float | list[float]]:
        # in checkpoints: a resumed run's summary, and the rate of an epoch it resumed in, count the batches before
        return {"tokens": self.tokens, "positions": self.positions, "seconds": self.seconds,
                "epoch_start": list(self._epoch_start)}

    def load_state_dict(self, state: dict) -> None:
        self.tokens, self.positions, self.seconds = int(state["tokens"]), int(state["positions"]), state["seconds"]
        self._epoch_start = (int(state["epoch_start"][0]), float(state["epoch_start"][1]))

    @property
    def summary(self) -> dict[str, float]:
        return {
            "train_tokens_per_s": self.tokens / self.seconds if self.seconds else 0.0,
            "padding_ratio": 1 - self.tokens / self.positions if self.positions else 0.0,
            "train_tokens": float(self.tokens),
        }

    def on_fit_end(self, trainer, pl_module) -> None:
        s = self.summary
        rank_zero_info(
            f"Training throughput: {s['train_tokens_per_s']:,.0f} tokens/s over {self.tokens:,} tokens; "
            f"padding: {100 * s['padding_ratio']:.1f}% of batch positions"
        )
