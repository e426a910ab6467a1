"""`lstmlab-plot-sweep <multirun dir> --x data.lag`: a metric of every job of a Hydra multirun against one swept
key, one line per value of the other swept keys, averaged over seeds where `seed` was swept too. Writes
sweep.png and sweep.csv into the multirun folder (or `-o PREFIX`) and prints a Markdown table. For the long-memory
experiment this is the classic figure: test accuracy against the lag, one line per cell.

    lstmlab-train -m experiment=long_memory
    lstmlab-plot-sweep logs/long_memory/multiruns/<timestamp> --x data.lag
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from omegaconf import OmegaConf

from lstmlab.cli.command import run_command
from lstmlab.utils.atomic_file import atomic_file
from lstmlab.utils.line_plot import line_plot

AVERAGED = "seed"


@dataclass
class Job:
    folder: Path
    overrides: dict[str, str]
    metrics: dict[str, float] | None  # None: the job did not finish (no metrics.json)


def read_jobs(multirun: Path) -> list[Job]:
    """Every job folder (one with .hydra/overrides.yaml) under the multirun folder, in job order."""
    if not multirun.is_dir():
        raise FileNotFoundError(f"{multirun}: no such multirun folder")
    jobs = []
    for overrides_file in sorted(multirun.glob("*/.hydra/overrides.yaml"), key=lambda p: _job_order(p.parent.parent)):
        folder = overrides_file.parent.parent
        overrides = dict(item.split("=", 1) for item in OmegaConf.load(overrides_file) if "=" in item)
        metrics_file = folder / "metrics.json"
        jobs.append(Job(folder, overrides, json.loads(metrics_file.read_text()) if metrics_file.is_file() else None))
    if not jobs:
        raise FileNotFoundError(f"{multirun}: no job folders (with .hydra/overrides.yaml) in it")
    return jobs


def _job_order(folder: Path) -> tuple[int, str]:
    return (int(folder.name), "") if folder.name.isdigit() else (sys.maxsize, folder.name)


def _number_or_text(value: str) -> tuple[int, float | str]:
    try:
        return 0, float(value)
    except ValueError:
        return 1, value


def tabulate(jobs: list[Job], x: str, metric: str) -> tuple[list[str], dict[str, dict[str, list[float]]]]:
    """(x values in order, {series label: {x value: the metric of each seed}})."""
    swept = sorted({key for job in jobs for key in job.overrides
                    if len({j.overrides.get(key) for j in jobs}) > 1 or key == x})
    if x not in swept:
        raise ValueError(f"--x {x}: not an override of these jobs; their overrides: {', '.join(swept) or 'none'}")
    series_keys = [key for key in swept if key not in (x, AVERAGED)]
    table: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for job in jobs:
        if job.metrics is None:
            continue
        if metric not in job.metrics:
            raise ValueError(f"{job.folder}/metrics.json has no {metric!r}; it has {', '.join(sorted(job.metrics))}")
        label = " ".join(f"{key}={job.overrides.get(key, '-')}" for key in series_keys) or metric
        table[label][job.overrides[x]].append(job.metrics[metric])
    xs = sorted({value for row in table.values() for value in row}, key=_number_or_text)
    return xs, table


def summary(values: list[float]) -> str:
    if not values:
        return "-"
    if len(values) == 1:
        return f"{values[0]:.4f}"
    return f"{statistics.mean(values):.4f} ± {statistics.stdev(values):.4f}"


def markdown(x: str, xs: list[str], table: dict[str, dict[str, list[float]]]) -> str:
    lines = [f"| | {' | '.join(f'{x}={value}' for value in xs)} |", "|---" + "|---:" * len(xs) + "|"]
    lines += [f"| {label} | {' | '.join(summary(row.get(value, [])) for value in xs)} |"
              for label, row in table.items()]
    return "\n".join(lines)


def write_outputs(x: str, metric: str, xs: list[str], table: dict[str, dict[str, list[float]]],
                  prefix: Path) -> tuple[Path, Path]:
    csv_path, png_path = prefix.with_suffix(".csv"), prefix.with_suffix(".png")
    with atomic_file(csv_path) as temporary, temporary.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["series", x, f"{metric} mean", "runs"])
        for label, row in table.items():
            for value in xs:
                if row.get(value):
                    writer.writerow([label, value, f"{statistics.mean(row[value]):.6g}", len(row[value])])
    numeric = all(_number_or_text(value)[0] == 0 for value in xs)
    with line_plot(png_path, x, metric) as axis:
        for label, row in table.items():
            present = [value for value in xs if row.get(value)]
            positions = [float(value) if numeric else xs.index(value) for value in present]
            axis.plot(positions, [statistics.mean(row[value]) for value in present], marker="o", label=label)
        if not numeric:
            axis.set_xticks(range(len(xs)), xs)
    return csv_path, png_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="lstmlab-plot-sweep", description=__doc__.split("\n\n")[0])
    parser.add_argument("multirun", type=Path, help="a Hydra multirun folder (logs/<task>/multiruns/<timestamp>)")
    parser.add_argument("--x", required=True, help="the swept key on the x axis, e.g. data.lag")
    parser.add_argument("--metric", default="test/acc", help="a key of each job's metrics.json")
    parser.add_argument("-o", "--output", type=Path, help="writes OUTPUT.png and OUTPUT.csv (default: "
                                                          "<multirun>/sweep)")
    args = parser.parse_args(argv)

    def work() -> str:
        jobs = read_jobs(args.multirun)
        xs, table = tabulate(jobs, args.x, args.metric)
        if not table:
            raise ValueError(f"{args.multirun}: none of its {len(jobs)} jobs finished (no metrics.json)")
        print(markdown(args.x, xs, table))
        csv_path, png_path = write_outputs(args.x, args.metric, xs, table, args.output or args.multirun / "sweep")
        unfinished = [job.folder.name for job in jobs if job.metrics is None]
        note = f"; {len(unfinished)} unfinished job(s) left out: {', '.join(unfinished)}" if unfinished else ""
        return f"wrote {png_path} and {csv_path} from {len(jobs) - len(unfinished)} jobs{note}"

    return run_command("lstmlab-plot-sweep", work)


if __name__ == "__main__":
    sys.exit(main())
