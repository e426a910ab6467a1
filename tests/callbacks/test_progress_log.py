"""The progress log: lines with the ETA where no terminal shows the bar, nothing (and the bar kept) on a terminal.
A real Lightning fit of a small regression; the terminal is a real pseudo-terminal."""

from __future__ import annotations

import logging
import os
import pty
import sys

import lightning as L
import pytest
import torch
from lightning.pytorch.callbacks import RichProgressBar
from torch.utils.data import DataLoader, TensorDataset

from lstmlab.callbacks.progress_log import ProgressLog


class Regression(L.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(4, 1)

    def training_step(self, batch, batch_idx):
        features, target = batch
        loss = torch.nn.functional.mse_loss(self.layer(features), target)
        self.log("train/loss", loss, prog_bar=True)
        return loss

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


def fit(stdout, caplog) -> tuple[L.Trainer, list[str]]:
    """Fit with `stdout` as sys.stdout: (the trainer, the progress log's lines)."""
    torch.manual_seed(0)
    data = DataLoader(TensorDataset(torch.randn(40, 4), torch.randn(40, 1)), batch_size=8)
    trainer = L.Trainer(max_epochs=2, callbacks=[RichProgressBar(), ProgressLog(every_s=0)], logger=False,
                        enable_checkpointing=False, enable_model_summary=False)
    real_stdout, sys.stdout = sys.stdout, stdout
    try:
        with caplog.at_level(logging.INFO, logger="lstmlab.callbacks.progress_log"):
            trainer.fit(Regression(), data)
    finally:
        sys.stdout = real_stdout
    return trainer, [record.getMessage() for record in caplog.records if record.name == ProgressLog.__module__]


def test_without_a_terminal_every_line_tells_where_the_run_is_and_the_bar_is_off(tmp_path, caplog):
    with (tmp_path / "out.log").open("w") as log_file:
        trainer, lines = fit(log_file, caplog)
    assert not trainer.progress_bar_callback.is_enabled
    assert len(lines) == 10  # every_s=0: one a step, 5 batches x 2 epochs
    assert lines[0].startswith("epoch 1/2, batch 1/5, step 1/10, ") and ", ETA 0:00:" in lines[0]
    assert lines[-1].startswith("epoch 2/2, batch 5/5, step 10/10, ") and "ETA 0:00:00 | train/loss " in lines[-1]


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")
def test_on_a_terminal_the_bar_stays_and_nothing_is_logged(caplog):
    leader, follower = pty.openpty()
    with os.fdopen(follower, "w") as terminal:
        trainer, lines = fit(terminal, caplog)
    os.close(leader)
    assert trainer.progress_bar_callback.is_enabled and lines == []
