"""The sweep report's figure: the monitored metric of every finished job against each swept parameter, one panel
each (numbers on a numeric axis, logarithmic where they span two orders of magnitude, other values as categories),
and for an Optuna study, or a sweep without swept keys, the optimisation history: the metric per trial in trial
order and the best so far."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lstmlab.sweeps.metric_by_key import number_or_text
from lstmlab.sweeps.sweep_folder import Sweep
from lstmlab.utils.figure_file import figure_file

LOG_SPAN = 100  # a positive numeric axis whose largest value is this many times its smallest is drawn log-scale


def best_so_far(sweep: Sweep) -> list[tuple[int, float]]:
    """(trial number, the best value of the trials up to it) for each finished trial, in trial order."""
    choose = max if sweep.mode == "max" else min
    points, best = [], None
    for job in sweep.finished():
        value = float(job.metrics[sweep.monitor])
        best = value if best is None else choose(best, value)
        points.append((job.number, best))
    return points


def draw_history(axis: Any, sweep: Sweep) -> None:
    finished = sweep.finished()
    axis.scatter([job.number for job in finished], [job.metrics[sweep.monitor] for job in finished],
                 label="trial" if sweep.study else "job")
    best = best_so_far(sweep)
    if best:
        axis.step([number for number, _ in best], [value for _, value in best], where="post", color="C1",
                  label="best so far")
        axis.legend()
    axis.set_xlabel("trial" if sweep.study else "job")
    axis.set_title("optimisation history")


def draw_parameter(axis: Any, sweep: Sweep, key: str) -> None:
    jobs = [job for job in sweep.finished() if key in job.overrides]
    values = [job.overrides[key] for job in jobs]
    metric = [job.metrics[sweep.monitor] for job in jobs]
    if values and all(number_or_text(value)[0] == 0 for value in values):
        numbers = [float(value) for value in values]
        axis.scatter(numbers, metric)
        if min(numbers) > 0 and max(numbers) >= LOG_SPAN * min(numbers):
            axis.set_xscale("log")
    else:
        categories = sorted(set(values), key=number_or_text)
        axis.scatter([categories.index(value) for value in values], metric)
        axis.set_xticks(range(len(categories)), categories, rotation=30 if len(categories) > 4 else 0)
    axis.set_xlabel(key)


def plot_report(sweep: Sweep, path: Path) -> None:
    keys = sweep.swept_keys()
    panels: list[str | None] = ([None] if sweep.study or not keys else []) + keys  # None: the history
    with figure_file(path, len(panels), panel_size=(5, 3.8)) as axes:
        for axis, key in zip(axes, panels, strict=True):
            if key is None:
                draw_history(axis, sweep)
            else:
                draw_parameter(axis, sweep, key)
            axis.set_ylabel(f"{sweep.monitor} ({sweep.mode})")
            axis.grid(alpha=0.3)
        if not sweep.finished():
            axes[0].set_title("no finished job yet")
