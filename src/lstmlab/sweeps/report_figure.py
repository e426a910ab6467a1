"""The sweep report's figure: the monitored metric of every job against each swept parameter, one panel each
(numbers drawn from a range on a numeric axis, logarithmic where they span two orders of magnitude; a few values,
an Optuna choice or any text as categories), and
for an Optuna study, or a sweep without swept keys, the optimisation history: the metric per trial in trial order
and the best so far. Every job is drawn, a marker and colour per status: finished ones at their value, the others
(pruned, failed, interrupted, running: no value) in a strip along the bottom, at their parameter value."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from matplotlib.ticker import MaxNLocator

from lstmlab.sweeps.metric_by_key import number_or_text
from lstmlab.sweeps.sweep_folder import FAILED, FINISHED, INTERRUPTED, PRUNED, RUNNING, Sweep
from lstmlab.utils.figure_file import figure_file

LOG_SPAN = 100  # a positive numeric axis whose largest value is this many times its smallest is drawn log-scale
STYLES = {FINISHED: ("o", "C0"), PRUNED: ("v", "C1"), FAILED: ("X", "C3"), INTERRUPTED: ("s", "C7"),
          RUNNING: ("D", "C4")}  # status -> marker, colour
FEW = 4  # at most this many distinct values of a grid are drawn as categories, numbers too (hidden_size=128,256)
STRIP = 0.15  # the share of a panel's height below the values where the jobs without one are drawn


def best_so_far(sweep: Sweep) -> list[tuple[int, float]]:
    """(trial number, the best value of the trials up to it) for each finished trial, in trial order."""
    choose = max if sweep.mode == "max" else min
    points, best = [], None
    for job in sweep.finished():
        value = float(job.metrics[sweep.monitor])
        best = value if best is None else choose(best, value)
        points.append((job.number, best))
    return points


def draw_jobs(axis: Any, sweep: Sweep, x: dict[int, float], legend: bool = True) -> None:
    """Each job with a position in `x` (job number -> x), styled by status; the legend (on the first panel only)
    names the statuses shown."""
    finished = {job.number for job in sweep.finished()}
    with_value = [job for job in sweep.jobs if job.number in x and job.number in finished]
    without = [job for job in sweep.jobs if job.number in x and job.number not in finished]
    for status, (marker, colour) in STYLES.items():
        jobs = [job for job in with_value if job.status == status]
        if jobs:
            axis.scatter([x[job.number] for job in jobs], [job.metrics[sweep.monitor] for job in jobs],
                         marker=marker, color=colour, label=status, zorder=3)
    if not without:
        if legend:
            axis.legend(fontsize="small")
        return
    bottom, top = axis.get_ylim()  # the values' range; below it, a shaded strip for the jobs without one
    height = STRIP * (top - bottom)
    axis.axhspan(bottom - height, bottom - height / 3, color="0.92", zorder=0)
    for status, (marker, colour) in STYLES.items():
        jobs = [job for job in without if job.status == status]
        if jobs:
            axis.scatter([x[job.number] for job in jobs], [bottom - height * 2 / 3] * len(jobs), marker=marker,
                         color=colour, label=f"{status} (no value)", zorder=3)
    axis.set_ylim(bottom - height, top)
    if legend:
        axis.legend(fontsize="small")


def draw_history(axis: Any, sweep: Sweep) -> None:
    best = best_so_far(sweep)
    if best:
        axis.step([number for number, _ in best], [value for _, value in best], where="post", color="C0", alpha=0.5,
                  label="best so far")
    draw_jobs(axis, sweep, {job.number: job.number for job in sweep.jobs})
    axis.set_xlabel("trial" if sweep.study else "job")
    axis.xaxis.set_major_locator(MaxNLocator(integer=True))
    axis.set_title("optimisation history")


def numeric_axis(sweep: Sweep, key: str, values: list[str]) -> bool:
    """Whether `key`'s values go on a numeric axis: numbers drawn from a range (an Optuna int/float), or more than
    a few numbers of a grid."""
    if not values or any(number_or_text(value)[0] != 0 for value in values):
        return False
    space = (sweep.study or {}).get("search_space") or {}
    if key in space:
        return not str(space[key]).startswith("one of")
    return len(set(values)) > FEW


def draw_parameter(axis: Any, sweep: Sweep, key: str, legend: bool) -> None:
    jobs = [job for job in sweep.jobs if key in job.overrides]
    values = [job.overrides[key] for job in jobs]
    if numeric_axis(sweep, key, values):
        numbers = [float(value) for value in values]
        draw_jobs(axis, sweep, {job.number: number for job, number in zip(jobs, numbers, strict=True)}, legend)
        if min(numbers) > 0 and max(numbers) >= LOG_SPAN * min(numbers):
            axis.set_xscale("log")
    else:
        categories = sorted(set(values), key=number_or_text)
        draw_jobs(axis, sweep, {job.number: categories.index(job.overrides[key]) for job in jobs}, legend)
        axis.set_xticks(range(len(categories)), categories, rotation=30 if len(categories) > 4 else 0)
        axis.set_xlim(-0.5, len(categories) - 0.5)
    axis.set_xlabel(key)


def report_panels(sweep: Sweep) -> list[str | None]:
    """The swept keys, after the history (None) for an Optuna study or a sweep without swept keys."""
    keys = sweep.swept_keys()
    return ([None] if sweep.study or not keys else []) + keys


def draw_report(axes: list[Any], sweep: Sweep, panels: list[str | None]) -> None:
    for number, (axis, key) in enumerate(zip(axes, panels, strict=True)):
        if key is None:
            draw_history(axis, sweep)
        else:
            draw_parameter(axis, sweep, key, legend=number == 0)
        axis.set_ylabel(f"{sweep.monitor} ({sweep.mode})")
        axis.grid(alpha=0.3)
    if not sweep.finished():
        axes[0].set_title("no finished job yet")


def plot_report(sweep: Sweep, path: Path) -> None:
    panels = report_panels(sweep)
    with figure_file(path, len(panels), panel_size=(5, 3.8)) as axes:
        draw_report(axes, sweep, panels)
