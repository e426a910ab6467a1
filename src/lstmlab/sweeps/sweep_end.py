"""The lines a multirun ends with, the same for a grid (Hydra's basic sweeper) and an Optuna search: the sweep
folder, how its jobs ended, the best job (its swept values, its metric, its folder) and the report command.

    Sweep folder:    /home/you/lstmlab/logs/pos_quick/multiruns/2026-12-07_00-06-53
    Jobs:            4: 3 finished, 1 failed
    Best job:        2, val/acc=0.1696 (cell=gru model.net.peephole=False): .../multiruns/2026-12-07_00-06-53/2
    Report:          lstmlab-sweep-report /home/you/lstmlab/logs/pos_quick/multiruns/2026-12-07_00-06-53

`SweepEnd`, a Hydra callback registered in conf/hydra/default.yaml, prints them for whichever sweeper ran; they are
read from the folder, so every launcher and sweeper gets the same lines.
"""

from __future__ import annotations

import atexit
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from lstmlab.sweeps.report_table import best_job, described
from lstmlab.sweeps.sweep_folder import read_sweep


def closing_lines(folder: Path) -> list[str]:
    """The closing lines of the sweep in `folder`; none where it holds no job yet (the sweep never started)."""
    try:
        sweep = read_sweep(folder)
    except FileNotFoundError:
        return []
    except ValueError as error:  # e.g. jobs that rank by different metrics: say so instead of a ranking
        return [f"{'Sweep folder:':<17}{folder}", f"{'Jobs:':<17}{error}"]
    best = best_job(sweep)
    best_line = (f"{described(sweep, best)}: {best.folder}" if best is not None
                 else "none finished; each job's FAILED, PRUNED or INTERRUPTED file says why")
    return [f"{'Sweep folder:':<17}{folder}", f"{'Jobs:':<17}{len(sweep.jobs)}: {sweep.ended()}",
            f"{'Best job:':<17}{best_line}", f"{'Report:':<17}lstmlab-sweep-report {folder}"]


class SweepEnd(Callback):
    """Prints `closing_lines` when a multirun ends, also when it ends with an error. Hydra calls on_multirun_end only
    after a sweep that returned: the basic sweeper raises a failed job's error once every job has run, the Optuna
    sweeper raises when no trial finished, Ctrl-C stops either; so the lines are also registered to print at exit,
    after Hydra's error message."""

    def __init__(self) -> None:
        self.folder: Path | None = None

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        self.folder = Path(config.hydra.sweep.dir)  # resolved once: the launcher's jobs share the cached ${now:}
        atexit.register(self.print_closing_lines)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        atexit.unregister(self.print_closing_lines)
        self.print_closing_lines()

    def print_closing_lines(self) -> None:
        lines = closing_lines(self.folder) if self.folder is not None else []
        if lines:
            print("\n" + "\n".join(lines), flush=True)
