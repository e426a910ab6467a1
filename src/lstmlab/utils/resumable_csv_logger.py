"""Lightning's CSVLogger for runs that resume: the rows of the interrupted run stay, none twice, none lost.

Lightning's CSVLogger deletes an existing metrics.csv, and writes its rows every 100 steps by appending. Here:
- an existing metrics.csv is kept. At the first row the resumed run logs, the old rows at that step or later go:
  the old run logged them after the checkpoint the run resumed from (before it was killed), and the resumed run
  logs those steps again. A row's `step` is Lightning's count of training batches, the same in both runs;
- every row is written when it is logged (Lightning logs every `log_every_n_steps` and at epoch ends, so this is
  cheap), so a killed run has every row of the steps its checkpoint holds;
- the file is rewritten whole through a temporary file (`atomic_file`), so a kill mid-write leaves the old one.
A run stopped by `trainer.max_steps` at the very step of its checkpoint keeps the row of that cut-short epoch's end.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from lightning.pytorch.loggers import CSVLogger
from lightning.pytorch.loggers.csv_logs import ExperimentWriter
from lightning.pytorch.loggers.logger import rank_zero_experiment

from lstmlab.utils.atomic_file import atomic_file


class _ResumingWriter(ExperimentWriter):
    def _check_log_dir_exists(self) -> None:
        # the parent's __init__ calls this to delete the file; here its rows are read instead
        self.rows: list[dict[str, Any]] = []
        path = Path(self.metrics_file_path)
        if path.is_file():
            with path.open(newline="", encoding="utf-8") as handle:
                reader = csv.DictReader(handle)
                self.rows = list(reader)
                self.metrics_keys = list(reader.fieldnames or [])
        self._trim = bool(self.rows)  # at the first new row

    def log_metrics(self, metrics_dict: dict[str, float], step: int | None = None) -> None:
        super().log_metrics(metrics_dict, step)
        if self._trim:
            first = self.metrics[-1]["step"]
            self.rows = [row for row in self.rows if int(float(row["step"])) < first]
            self._trim = False

    def save(self) -> None:
        if not self.metrics:
            return
        self._record_new_keys()
        self.rows += self.metrics
        self.metrics = []
        with atomic_file(Path(self.metrics_file_path)) as temporary, temporary.open("w", newline="",
                                                                                   encoding="utf-8") as out:
            writer = csv.DictWriter(out, fieldnames=self.metrics_keys)
            writer.writeheader()
            writer.writerows(self.rows)


class ResumableCSVLogger(CSVLogger):
    def __init__(self, *args: Any, flush_logs_every_n_steps: int = 1, **kwargs: Any) -> None:
        super().__init__(*args, flush_logs_every_n_steps=flush_logs_every_n_steps, **kwargs)

    @property
    @rank_zero_experiment
    def experiment(self) -> ExperimentWriter:
        if self._experiment is None:
            Path(self.root_dir).mkdir(parents=True, exist_ok=True)
            self._experiment = _ResumingWriter(log_dir=self.log_dir)
        return self._experiment
