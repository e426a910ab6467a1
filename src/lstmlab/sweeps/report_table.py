"""A sweep's report table: one row per job, its swept overrides, its training split's size (where the sweep changes
the data and its data module records it), its best epoch's monitored value, its test metrics, epochs, wall time and
how it ended; the finished jobs best first (the sweep's mode or its study's direction), then the pruned, failed,
interrupted and running ones."""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

from lstmlab.sweeps.sweep_folder import STATUSES, Sweep, SweepJob
from lstmlab.utils.atomic_file import atomic_file

Cell = str | float | int | None  # None: nothing to show (a job that did not finish has no metrics)
FORMATS = {"job": "{:d}", "epochs": "{:.0f}", "train_sentences": "{:.0f}"}  # runtime_s: `seconds`; metrics: 4 decimals
DATA_COLUMNS = ("train_sentences",)  # what data modules record in metrics.json (`data_figures`)
TEXT_COLUMNS = ("status", "note")


@dataclass(frozen=True)
class ReportTable:
    columns: list[str]
    rows: list[list[Cell]]


def ranked(sweep: Sweep) -> list[SweepJob]:
    """The finished jobs best first (a non-finite value last among them, ties in job order), then the rest by
    status and number."""
    sign = -1 if sweep.mode == "max" else 1

    def by_value(job: SweepJob) -> tuple[bool, float]:
        value = float(job.metrics[sweep.monitor])
        return not math.isfinite(value), sign * value if math.isfinite(value) else 0.0

    finished = sorted(sweep.finished(), key=by_value)
    numbers = {job.number for job in finished}
    rest = sorted((job for job in sweep.jobs if job.number not in numbers), key=lambda job: STATUSES.index(job.status))
    return finished + rest


def report_table(sweep: Sweep) -> ReportTable:
    swept = sweep.swept_keys()
    tests = sorted({key for job in sweep.jobs for key in job.metrics if key.startswith("test/")} - {sweep.monitor})
    data_swept = any(key.startswith("data.") for key in swept)  # else every job read the same data: no column
    data = [key for key in DATA_COLUMNS if data_swept and any(key in job.metrics for job in sweep.jobs)]
    figures = (*data, sweep.monitor, *tests, "epochs", "runtime_s")
    columns = ["job", *swept, *figures, *TEXT_COLUMNS]
    rows = [[job.number, *(job.overrides.get(key) for key in swept), *(job.metrics.get(key) for key in figures),
             job.status, job.note]
            for job in ranked(sweep)]
    return ReportTable(columns, rows)


def parameter(value: str) -> str:
    """An override value as a reader wants it: a float to 4 significant digits (Optuna draws values such as
    0.0012345678901234567), anything else as given."""
    try:
        number = float(value)
    except ValueError:
        return value
    return value if not math.isfinite(number) or value.lstrip("+-").isdigit() else f"{number:.4g}"


def seconds(value: float) -> str:
    """A wall time in seconds: one decimal below 100 s, whole seconds above."""
    return f"{value:.1f}" if value < 100 else f"{value:.0f}"


def shown(column: str, value: Cell) -> str:
    """A cell of the printed table (sweep.md and the console); sweep.csv keeps the full value."""
    if value is None or value == "":
        return "-"
    if isinstance(value, str):
        return (value if column in TEXT_COLUMNS else parameter(value)).replace("|", "\\|")
    if column == "runtime_s":
        return seconds(value)
    return FORMATS.get(column, "{:.4f}").format(value)


def best_job(sweep: Sweep) -> SweepJob | None:
    return ranked(sweep)[0] if sweep.finished() else None


def described(sweep: Sweep, job: SweepJob) -> str:
    """`2, val/acc=0.1696 (cell=gru model.net.peephole=False)`: a finished job's number, monitored value and swept
    values, rounded as in the table."""
    given = " ".join(f"{key}={parameter(job.overrides[key])}" for key in sweep.swept_keys() if key in job.overrides)
    return f"{job.number}, {sweep.monitor}={job.metrics[sweep.monitor]:.4f}" + (f" ({given})" if given else "")


def markdown(table: ReportTable) -> str:
    numeric = [all(not isinstance(row[index], str) for row in table.rows) for index in range(len(table.columns))]
    lines = ["| " + " | ".join(table.columns) + " |",
             "|" + "|".join("---:" if right else "---" for right in numeric) + "|"]
    lines += ["| " + " | ".join(shown(column, value) for column, value in zip(table.columns, row, strict=True)) + " |"
              for row in table.rows]
    return "\n".join(lines)


def write_csv(table: ReportTable, path: Path) -> None:
    """Every value at full precision; an empty field where there is none."""
    with atomic_file(path) as temporary, temporary.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(table.columns)
        writer.writerows([["" if value is None else value for value in row] for row in table.rows])


def headline(sweep: Sweep) -> list[str]:
    """What the sweep was and how it went, in a few lines above the table."""
    lines = [f"{len(sweep.jobs)} jobs: {sweep.ended()}; ranked by {sweep.monitor} ({sweep.mode}, each job's best "
             "epoch)"]
    if sweep.study:
        study = sweep.study
        lines.append(f"Optuna study {study.get('study_name', '?')} ({study.get('storage', '?')}): "
                     f"{study['direction']} {study['metric']}, {study.get('n_trials', '?')} trials asked for")
        lines += [f"- {key}: {description}" for key, description in (study.get("search_space") or {}).items()]
    best = best_job(sweep)
    if best is not None:
        lines.append(f"best: job {described(sweep, best)}")
    return lines
