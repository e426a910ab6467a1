"""How the training benchmarks measure: Lightning (a task + `L.Trainer`) against a plain PyTorch loop of the same
network on the same batches, in one process, alternating in rounds so that a machine shared with other work slows
both alike.

Each round is one short fit over the first batches of the data module's own train loader (the first SKIPPED
untimed: they create the optimizer state and Lightning's first-step set-up); figures are medians over rounds and
each ratio the median of the rounds' ratios. An untimed plain pass first builds oneDNN's primitives for every batch
shape, so no variant pays for them. A task's plain loop is its training step written out (`PlainStep`): forward,
loss, backward, clipping at the trainer's norm, the optimizer step; no metrics, no logging, no hooks.
"""

from __future__ import annotations

import logging
import statistics
import time
import warnings
from collections.abc import Callable, Iterable
from typing import Any

import lightning as L
import torch
from torch import nn

SKIPPED = 1  # untimed batches at the start of each round
NO_BF16 = "n/a (this CPU has no bf16 LSTM in oneDNN)"
Batch = dict[str, Any]
# a new loss function per round (a biLM carries its state from window to window within a round)
PlainStep = Callable[[], Callable[[nn.Module, Batch], torch.Tensor]]
Optimizer = Callable[[Iterable[nn.Parameter]], torch.optim.Optimizer]


def rate(per_second: float) -> str:
    return f"{per_second:,.0f}" if per_second >= 100 else f"{per_second:.1f}"


def quiet_rounds(threads: int | None) -> None:
    """Set torch's threads (None: torch's choice) and silence what a Trainer per round would print every round."""
    import datasets

    if threads:
        torch.set_num_threads(threads)
    logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)
    for noise in (".*does not have many workers.*", ".*but have no `val_dataloader`.*", ".*LeafSpec.*",
                  ".*smaller than the logging interval.*"):
        warnings.filterwarnings("ignore", noise)
    datasets.disable_progress_bars()


def round_batches(datamodule: L.LightningDataModule, count: int) -> list[Batch]:
    """The first `count` batches of the train loader: what each round reads (epoch 0's order)."""
    loader = iter(datamodule.train_dataloader())
    return [next(loader) for _ in range(count)]


def padding(batches: list[Batch]) -> float:
    """Padded share of batch positions (every task's batch counts `num_tokens` and `num_positions`)."""
    return 1 - sum(b["num_tokens"] for b in batches) / sum(b.get("num_positions", b["num_tokens"]) for b in batches)


def plain_round(net: nn.Module, datamodule: L.LightningDataModule, steps: int, bf16: bool, step: PlainStep,
                optimizer: Optimizer, clip: float) -> float:
    """Seconds for batches SKIPPED.. of `steps` plain training steps over the train loader."""
    loss_of = step()
    optim = optimizer(net.parameters())
    net.train()
    started = 0.0
    for index, batch in enumerate(datamodule.train_dataloader()):
        if index == SKIPPED:
            started = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = loss_of(net, batch)
        optim.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), clip)
        optim.step()
        if index + 1 == steps:
            break
    return time.perf_counter() - started


class _Timer(L.Callback):
    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if batch_idx == SKIPPED:
            self.started = time.perf_counter()

    def on_train_end(self, trainer, pl_module) -> None:
        self.seconds = time.perf_counter() - self.started


def lightning_round(task: L.LightningModule, datamodule: L.LightningDataModule, steps: int, bf16: bool,
                    clip: float, callbacks: Callable[[], list[L.Callback]]) -> float:
    """Seconds for the same steps through the task + Trainer (metrics, logging, clipping and `callbacks()`)."""
    timer = _Timer()
    trainer = L.Trainer(accelerator="cpu", devices=1, max_steps=steps, precision="bf16-mixed" if bf16 else "32-true",
                        gradient_clip_val=clip, limit_val_batches=0, logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False, callbacks=[timer, *callbacks()])
    trainer.fit(task, train_dataloaders=datamodule.train_dataloader())
    return timer.seconds


def compare(variants: dict[str, Callable[[], float]], rounds: int) -> dict[str, list[float]]:
    """Seconds per round of each variant, the order reversed every other round (ABBA) so drift favours none."""
    seconds: dict[str, list[float]] = {name: [] for name in variants}
    for index in range(rounds):
        order = list(variants) if index % 2 == 0 else list(reversed(variants))
        for name in order:
            seconds[name].append(variants[name]())
    return seconds


def median_ratio(numerator: list[float], denominator: list[float]) -> float:
    return statistics.median(n / d for n, d in zip(numerator, denominator, strict=True))


def measure_variants(make_task: Callable[[], L.LightningModule], datamodule: L.LightningDataModule, steps: int,
                     rounds: int, bf16: bool, items: int, step: PlainStep, optimizer: Optimizer, clip: float,
                     callbacks: dict[str, Callable[[], list[L.Callback]]]) -> dict[str, dict[str, float]]:
    """Per variant, median items/s, the median of the rounds' speed ratio to the plain loop and the seconds of each
    round: "plain", and one Lightning variant per entry of `callbacks` (each a task from `make_task`, the plain
    loop's network another, identically seeded one); `items` are what the timed steps read."""
    net = make_task().net
    plain_round(net, datamodule, steps, bf16, step, optimizer, clip)  # warm-up: oneDNN primitives per batch shape
    variants = {"plain": lambda: plain_round(net, datamodule, steps, bf16, step, optimizer, clip)}
    for name, extra in callbacks.items():
        task = make_task()
        variants[name] = lambda task=task, extra=extra: lightning_round(task, datamodule, steps, bf16, clip, extra)
    seconds = compare(variants, rounds)
    return {name: {"rate": items / statistics.median(times), "ratio": median_ratio(seconds["plain"], times),
                   "seconds": times} for name, times in seconds.items()}
