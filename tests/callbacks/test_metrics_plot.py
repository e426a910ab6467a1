"""A run's plots/metrics.png after a real fit whose learning rate changes: the lr keeps its panel (the constant-rate
case, a job of a real grid, is in tests/sweeps/test_sweep_report.py)."""

from __future__ import annotations

import struct

import pytest
from conftest import train_tiny

from lstmlab.callbacks.metrics_plot import read_epoch_metrics, run_title, titled_panels

# the tagger's plateau annealing, made to halve the rate after the first epoch that does not gain 1000%
NO_PATIENCE = ["model.scheduler.patience=0", "+model.scheduler.threshold=10"]


def test_a_learning_rate_that_changes_keeps_its_panel(tiny_ewt, tiny_vectors, tmp_path):
    run = tmp_path / "2026-12-07_10-00-00"
    train_tiny(tiny_ewt, tiny_vectors, run, "trainer.limit_train_batches=2", *NO_PATIENCE, "test=false")
    series = read_epoch_metrics(run / "csv" / "metrics.csv")
    assert [value for _, value in series["train/lr"]] == pytest.approx([0.01, 0.01, 0.005])
    title, grouped = titled_panels(series, run_title(run, "pos_quick"))
    assert title == "pos_quick 2026-12-07_10-00-00" and grouped["lr"] == ["train/lr"]
    width, height = struct.unpack(">II", (run / "plots" / "metrics.png").read_bytes()[16:24])
    assert (width, height) == (1500, 800)  # acc, loss, lr, tokens/s: two rows of three
