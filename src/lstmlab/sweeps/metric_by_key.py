"""A metric of a sweep's finished jobs against one swept key, one line per value of the other swept keys, averaged
over `seed` where it was swept too. For the long-memory experiment this is the classic figure: test accuracy
against the lag, one line per cell (`lstmlab-sweep-report <folder> --x data.lag --metric test/acc`)."""

from __future__ import annotations

import csv
import math
import statistics
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from lstmlab.sweeps.sweep_folder import Sweep
from lstmlab.utils.atomic_file import atomic_file
from lstmlab.utils.line_plot import line_plot

AVERAGED = "seed"


@dataclass(frozen=True)
class MetricByKey:
    x: str
    metric: str
    xs: list[str]  # the values of `x`, in order (numbers by value)
    series: dict[str, dict[str, list[float]]]  # line label -> x value -> the metric of each seed


def number_or_text(value: str) -> tuple[int, float | str]:
    """A sort key that puts numbers first, by value, then the rest by name."""
    try:
        number = float(value)
    except ValueError:
        return 1, value
    return (0, number) if math.isfinite(number) else (1, value)


def tabulate(sweep: Sweep, x: str, metric: str) -> MetricByKey:
    swept = sweep.swept_keys()
    if x not in swept:
        raise ValueError(f"--x {x}: not a swept key of {sweep.folder}; its swept keys: {', '.join(swept) or 'none'}")
    series_keys = [key for key in swept if key not in (x, AVERAGED)]
    series: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for job in sweep.finished():
        if metric not in job.metrics:
            raise ValueError(f"{job.folder / 'metrics.json'} has no {metric!r}; it has "
                             f"{', '.join(sorted(job.metrics))}")
        if x in job.overrides:
            label = " ".join(f"{key}={job.overrides.get(key, '-')}" for key in series_keys) or metric
            series[label][job.overrides[x]].append(job.metrics[metric])
    xs = sorted({value for row in series.values() for value in row}, key=number_or_text)
    return MetricByKey(x, metric, xs, {label: dict(row) for label, row in series.items()})


def mean_and_spread(values: list[float]) -> str:
    if not values:
        return "-"
    if len(values) == 1:
        return f"{values[0]:.4f}"
    return f"{statistics.mean(values):.4f} ± {statistics.stdev(values):.4f}"


def markdown(table: MetricByKey) -> str:
    lines = [f"{table.metric} against {table.x}" + (f", mean ± sd over {AVERAGED}" if any(
        len(values) > 1 for row in table.series.values() for values in row.values()) else ""), "",
        f"| | {' | '.join(f'{table.x}={value}' for value in table.xs)} |", "|---" + "|---:" * len(table.xs) + "|"]
    lines += [f"| {label} | {' | '.join(mean_and_spread(row.get(value, [])) for value in table.xs)} |"
              for label, row in table.series.items()]
    return "\n".join(lines)


def write_csv(table: MetricByKey, path: Path) -> None:
    with atomic_file(path) as temporary, temporary.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["series", table.x, f"{table.metric} mean", "runs"])
        for label, row in table.series.items():
            for value in table.xs:
                if row.get(value):
                    writer.writerow([label, value, f"{statistics.mean(row[value]):.6g}", len(row[value])])


def plot(table: MetricByKey, path: Path) -> None:
    numeric = all(number_or_text(value)[0] == 0 for value in table.xs)
    with line_plot(path, table.x, table.metric) as axis:
        for label, row in table.series.items():
            present = [value for value in table.xs if row.get(value)]
            positions = [float(value) if numeric else table.xs.index(value) for value in present]
            axis.plot(positions, [statistics.mean(row[value]) for value in present], marker="o", label=label)
        if not numeric:
            axis.set_xticks(range(len(table.xs)), table.xs)
