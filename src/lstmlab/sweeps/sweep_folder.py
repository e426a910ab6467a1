"""A Hydra multirun folder read back: its jobs, what each was given, how each ended, and what the sweep ranks by.

The folder holds one job folder per job, named by its number (an Optuna sweep's: the trial number), each with
`.hydra/overrides.yaml` and `.hydra/config.yaml`. A job's end is told by a file in its folder: `metrics.json`
(finished), `PRUNED` (stopped early by its Optuna study), `FAILED` (its first line is `ErrorType: message`),
`INTERRUPTED` (the job was stopped by a signal, Ctrl-C included, or its sweep killed while it ran); none of them:
it is running, or was cut off. An Optuna sweep folder also holds `study.json` (its direction, metric and search
space). Reading needs no Optuna: the folders carry everything.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

FINISHED, PRUNED, FAILED, INTERRUPTED = "finished", "pruned", "failed", "interrupted"
RUNNING = "running or interrupted"
STATUSES = (FINISHED, PRUNED, FAILED, INTERRUPTED, RUNNING)  # the report's order after the ranked finished jobs
MARKERS = (("PRUNED", PRUNED), ("FAILED", FAILED), ("INTERRUPTED", INTERRUPTED))  # checked in this order
STUDY_FILE = "study.json"
BOOKKEEPING = "optuna_trial"  # overrides the Optuna sweeper adds for itself start so; they are no parameters
MODES = {"max": "max", "min": "min", "maximize": "max", "minimize": "min"}


@dataclass(frozen=True)
class SweepJob:
    number: int
    folder: Path
    overrides: dict[str, str]  # key -> value as given on the command line (Hydra's spelling)
    status: str  # one of STATUSES
    note: str  # the first line of PRUNED, FAILED or INTERRUPTED; "" otherwise
    metrics: dict[str, float]  # metrics.json of a finished job; {} otherwise
    monitor: str | None  # config.yaml's monitor and mode; None where the job has no config.yaml
    mode: str | None


@dataclass(frozen=True)
class Sweep:
    folder: Path
    jobs: list[SweepJob]  # in job number order
    monitor: str  # the metric the sweep ranks by: each job's best epoch's value
    mode: str  # "max" or "min"
    study: dict[str, Any] | None  # study.json of an Optuna sweep; None for a grid

    def swept_keys(self) -> list[str]:
        """An Optuna study's search space and the overrides that vary between jobs, in command-line order."""
        space = list((self.study or {}).get("search_space") or {})
        keys = dict.fromkeys(space + [key for job in self.jobs for key in job.overrides])
        return [key for key in keys if key in space or len({job.overrides.get(key) for job in self.jobs}) > 1]

    def finished(self) -> list[SweepJob]:
        return [job for job in self.jobs if job.status == FINISHED and self.monitor in job.metrics]

    def ended(self) -> str:
        """How the jobs ended, e.g. `3 finished, 1 failed`."""
        counts = Counter(job.status for job in self.jobs)
        return ", ".join(f"{counts[status]} {status}" for status in STATUSES if counts[status])


def parse_overrides(items: list[str]) -> dict[str, str]:
    """`key=value` strings -> {key: value}; `+key`/`++key` name the key; the Optuna sweeper's bookkeeping is left
    out, and so are deletions (`~key`), which set nothing."""
    pairs = (item.split("=", 1) for item in items if "=" in item)
    overrides = {key.lstrip("+"): value for key, value in pairs}
    return {key: value for key, value in overrides.items() if not key.startswith(BOOKKEEPING)}


def first_line(path: Path) -> str:
    lines = path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    return lines[0].strip() if lines else ""


def read_json_object(path: Path, expected: str) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: not JSON ({error}); expected {expected}") from None
    if not isinstance(value, dict):
        raise ValueError(f"{path}: holds a {type(value).__name__}; expected {expected}")
    return value


def read_job(folder: Path) -> SweepJob:
    hydra_dir = folder / ".hydra"
    overrides_file, config_file = hydra_dir / "overrides.yaml", hydra_dir / "config.yaml"
    overrides = parse_overrides(list(OmegaConf.load(overrides_file))) if overrides_file.is_file() else {}
    monitor = mode = None
    if config_file.is_file():
        config = OmegaConf.load(config_file)
        monitor, mode = config.get("monitor"), config.get("mode")
    status, note, metrics = RUNNING, "", {}
    if (folder / "metrics.json").is_file():
        status, metrics = FINISHED, read_json_object(folder / "metrics.json", "an object of metric: value")
    else:
        marker = next(((name, meaning) for name, meaning in MARKERS if (folder / name).is_file()), None)
        if marker:
            status, note = marker[1], first_line(folder / marker[0])
    return SweepJob(int(folder.name), folder, overrides, status, note, metrics, monitor, mode)


def read_study(folder: Path) -> dict[str, Any] | None:
    path = folder / STUDY_FILE
    if not path.is_file():
        return None
    study = read_json_object(path, "the study's direction, metric and search space")
    if MODES.get(study.get("direction")) is None or not study.get("metric"):
        raise ValueError(f"{path}: direction {study.get('direction')!r}, metric {study.get('metric')!r}; expected "
                         "direction maximize or minimize and the metric the study optimises")
    return study


def ranking(jobs: list[SweepJob], study: dict[str, Any] | None, folder: Path) -> tuple[str, str]:
    """(monitor, mode): study.json's metric and direction, else the one monitor and mode of every job's config."""
    if study:
        return study["metric"], MODES[study["direction"]]
    given = {(job.monitor, job.mode) for job in jobs if job.monitor is not None}
    if not given:
        raise FileNotFoundError(f"{jobs[0].folder / '.hydra' / 'config.yaml'}: missing (and in every other job "
                                "folder); expected the job's config, which says its monitor and mode")
    if len(given) > 1:
        seen = ", ".join(f"{job.number}: {job.monitor} ({job.mode})" for job in jobs if job.monitor is not None)
        raise ValueError(f"{folder}: the jobs rank by different metrics ({seen}); a report ranks by one monitor")
    monitor, mode = given.pop()
    if mode not in ("max", "min"):
        raise ValueError(f"{jobs[0].folder / '.hydra' / 'config.yaml'}: mode {mode!r}; expected max or min")
    return monitor, mode


def read_sweep(folder: Path) -> Sweep:
    """Every job folder of a Hydra multirun folder (logs/<task>/multiruns/<timestamp>), in job order."""
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such folder; expected a Hydra multirun folder "
                                "(logs/<task>/multiruns/<timestamp>)")
    numbered = sorted((path for path in folder.iterdir() if path.is_dir() and path.name.isdigit()),
                      key=lambda path: int(path.name))
    jobs = [read_job(path) for path in numbered if (path / ".hydra").is_dir()]
    if not jobs:
        hint = "; it is one job's folder: give the folder above it" if (folder / ".hydra").is_dir() else ""
        raise FileNotFoundError(f"{folder}: no job folders in it (0/, 1/, ... with .hydra/){hint}")
    study = read_study(folder)
    monitor, mode = ranking(jobs, study, folder)
    return Sweep(folder, jobs, monitor, mode, study)
