"""Plot the run's CSV metrics per epoch to PNG at the end of training: one panel per metric name (loss, acc,
ppl, lr, ...) with a line per stage (train, val), whatever the task logged."""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

import lightning as L
from lightning.pytorch.loggers import CSVLogger
from lightning.pytorch.utilities import rank_zero_only


def read_epoch_metrics(metrics_csv: Path) -> dict[str, list[tuple[int, float]]]:
    """{metric: [(epoch, value), ...]} for the epoch-level metrics of a Lightning metrics.csv."""
    series: dict[str, list[tuple[int, float]]] = defaultdict(list)
    with metrics_csv.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            for name, value in row.items():
                if value and name not in ("epoch", "step") and not name.endswith("_step") and row.get("epoch"):
                    series[name.removesuffix("_epoch")].append((int(float(row["epoch"])), float(value)))
    return series


def panels(series: dict[str, list]) -> dict[str, list[str]]:
    """Group `stage/name` metrics by name: {"loss": ["train/loss", "val/loss"], "acc": [...], ...}."""
    grouped: dict[str, list[str]] = defaultdict(list)
    for metric in sorted(series):
        grouped[metric.split("/", 1)[-1]].append(metric)
    return dict(grouped)


class MetricsPlot(L.Callback):
    def __init__(self, filename: str = "metrics.png") -> None:
        self.filename = filename

    @rank_zero_only
    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        csv_logger = next((lg for lg in trainer.loggers if isinstance(lg, CSVLogger)), None)
        if csv_logger is None:
            return
        csv_logger.save()
        metrics_csv = Path(csv_logger.log_dir) / "metrics.csv"
        if not metrics_csv.is_file():
            return
        series = read_epoch_metrics(metrics_csv)
        grouped = panels(series)
        if not grouped:
            return
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        columns = min(3, len(grouped))
        rows = -(-len(grouped) // columns)
        figure, axes = plt.subplots(rows, columns, figsize=(5 * columns, 4 * rows), squeeze=False)
        for axis, (title, names) in zip(axes.flat, grouped.items(), strict=False):
            for name in names:
                epochs, values = zip(*series[name], strict=True)
                axis.plot(epochs, values, marker="o", label=name)
            axis.set_title(title)
            axis.set_xlabel("epoch")
            axis.legend()
            axis.grid(alpha=0.3)
        for axis in list(axes.flat)[len(grouped):]:
            axis.set_visible(False)
        figure.tight_layout()
        out = Path(trainer.default_root_dir) / "plots" / self.filename
        out.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(out, dpi=100)
        plt.close(figure)
