"""How many threads torch computes with in one run. Jobs that a Hydra launcher runs side by side on one machine
share its cores: each takes its share (jobs x threads <= cores), since two jobs that each take every core run
slower together than one after the other.

`threads: null` (conf/train.yaml) is this share: the cores this process may use divided by the jobs joblib runs at
once (`hydra/launcher=joblib`, its `n_jobs`); submitit's `cpus_per_task` where it is set; all the cores otherwise.
A number sets it outright.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import torch

JOBLIB_LAUNCHER = "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher"


def available_cores() -> int:
    """The cores this process may run on: a taskset, a cgroup cpuset or a SLURM allocation counts."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def jobs_at_once(n_jobs: int, cores: int) -> int:
    """joblib's count of parallel jobs: a positive n_jobs as given, -1 every core, -2 all but one, and so on."""
    if n_jobs == 0:
        raise ValueError("hydra.launcher.n_jobs=0: expected a number of parallel jobs (or -1 for one per core)")
    return n_jobs if n_jobs > 0 else max(1, cores + 1 + n_jobs)


def choose_threads(requested: int | None, launcher: Mapping[str, Any] | None, cores: int) -> tuple[int, str]:
    """(torch threads, why) for `threads=requested` under this Hydra launcher config (None outside Hydra)."""
    if requested is not None:
        if not isinstance(requested, int) or isinstance(requested, bool) or requested < 1:
            raise ValueError(f"threads={requested!r}: expected a number of torch threads of at least 1, or null "
                             "(the cores divided among the jobs running at once)")
        return requested, "threads=" + str(requested)
    launcher = launcher or {}
    if launcher.get("_target_") == JOBLIB_LAUNCHER:
        jobs = jobs_at_once(int(launcher.get("n_jobs", -1)), cores)
        return max(1, cores // jobs), f"{cores} cores / {jobs} jobs at once under hydra/launcher=joblib"
    if launcher.get("cpus_per_task"):
        given = int(launcher["cpus_per_task"])
        return min(given, cores), f"hydra.launcher.cpus_per_task={given}, {cores} cores here"
    return cores, f"all {cores} cores"


def set_torch_threads(requested: int | None, launcher: Mapping[str, Any] | None) -> str:
    """Set torch's thread count for this run; the line to log."""
    threads, why = choose_threads(requested, launcher, available_cores())
    torch.set_num_threads(threads)
    return f"torch threads: {torch.get_num_threads()} ({why})"
