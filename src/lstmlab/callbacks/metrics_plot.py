"""Plot the run's CSV metrics per epoch to PNG at the end of training: one panel per metric name (loss, acc,
ppl, lr, ...) with a line per stage (train, val), whatever the task logged."""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path
from typing import Any

import lightning as L
from lightning.pytorch.loggers import CSVLogger
from lightning.pytorch.utilities import rank_zero_only

from lstmlab.utils.figure_file import figure_file


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


def constant_learning_rate(series: dict[str, list[tuple[int, float]]], grouped: dict[str, list[str]]) -> float | None:
    """The learning rate where every logged one stayed one value the whole run (its panel would be a flat line)."""
    values = {value for name in grouped.get("lr", []) for _, value in series[name]}
    return values.pop() if len(values) == 1 else None


def run_title(run_dir: Path, task_name: str | None) -> str:
    """`pos_quick 2026-12-07_00-06-53`; a sweep's job folder is named by its number, so its sweep's name comes
    along: `pos_quick 2026-12-07_00-06-53/3`."""
    name = f"{run_dir.parent.name}/{run_dir.name}" if run_dir.name.isdigit() else run_dir.name
    return f"{task_name} {name}" if task_name else name


class MetricsPlot(L.Callback):
    def __init__(self, filename: str = "metrics.png", task_name: str | None = None) -> None:
        self.filename = filename
        self.task_name = task_name

    @rank_zero_only
    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        csv_logger = next((lg for lg in trainer.loggers if isinstance(lg, CSVLogger)), None)
        if csv_logger is None:
            return
        csv_logger.save()
        metrics_csv = Path(csv_logger.log_dir) / "metrics.csv"
        if metrics_csv.is_file():
            plot_metrics(read_epoch_metrics(metrics_csv), Path(trainer.default_root_dir), self.filename,
                         self.task_name)


def titled_panels(series: dict[str, list[tuple[int, float]]], title: str) -> tuple[str, dict[str, list[str]]]:
    """The figure's title and its panels (see `panels`); a learning rate that never changed is said in the title
    instead of drawn as a flat line."""
    grouped = panels(series)
    learning_rate = constant_learning_rate(series, grouped)
    if learning_rate is None:
        return title, grouped
    del grouped["lr"]
    return f"{title}; lr {learning_rate:g} throughout", grouped


def draw_metrics(axes: list[Any], series: dict[str, list[tuple[int, float]]], grouped: dict[str, list[str]]) -> None:
    """A panel per metric name, a line per stage, against whole epochs."""
    from matplotlib.ticker import MaxNLocator

    for axis, (name, metrics) in zip(axes, grouped.items(), strict=True):
        for metric in metrics:
            epochs, values = zip(*series[metric], strict=True)
            axis.plot(epochs, values, marker="o", label=metric)
        axis.set_ylabel(name)
        axis.set_xlabel("epoch")
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
        axis.legend()
        axis.grid(alpha=0.3)


def plot_metrics(series: dict[str, list[tuple[int, float]]], run_dir: Path, filename: str,
                 task_name: str | None) -> None:
    """<run>/plots/<filename>, titled by the run."""
    title, grouped = titled_panels(series, run_title(run_dir, task_name))
    if not grouped:
        return
    (run_dir / "plots").mkdir(parents=True, exist_ok=True)
    with figure_file(run_dir / "plots" / filename, len(grouped), panel_size=(5, 4)) as axes:
        draw_metrics(axes, series, grouped)
        axes[0].figure.suptitle(title)
