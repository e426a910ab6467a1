"""What a run does under SLURM: a run folder that outlives a requeue, resuming in it, and the requeue itself.

A batch job keeps its job id when it is requeued (`scontrol requeue`, a pre-emption, a node failure) and SLURM runs
its script again, the same command included. So a run in a SLURM job names its folder after the job and a digest of
its overrides (several runs in one job stay apart; all DDP ranks agree, which start times need not), and a run
that finds `checkpoints/last.ckpt` in that folder resumes from it. "A SLURM job" is what Lightning takes for one:
`SLURM_JOB_ID` set, and a job name other than `bash` or `interactive` (an interactive allocation).
"""

from __future__ import annotations

import hashlib
import logging
import os
import subprocess
from pathlib import Path

from lightning.fabric.plugins.environments import SLURMEnvironment

log = logging.getLogger(__name__)


def in_slurm_job() -> bool:
    return SLURMEnvironment.job_id() is not None


def run_name(timestamp: str, overrides: str) -> str:
    """The run folder's name: `timestamp`, or in a SLURM job `slurm-<job id>-<8 hex digits of the overrides>`."""
    if not in_slurm_job():
        return timestamp
    return f"slurm-{SLURMEnvironment.job_id()}-{hashlib.sha1(overrides.encode()).hexdigest()[:8]}"


def requeued_checkpoint(output_dir: str | Path) -> str | None:
    """In a SLURM job, the run folder's `checkpoints/last.ckpt` when a previous start of the job left one."""
    last = Path(output_dir) / "checkpoints" / "last.ckpt"
    return str(last) if in_slurm_job() and last.is_file() else None


def requeue() -> bool:
    """`scontrol requeue` this job (an array task by its array id, as SLURM names it): SLURM ends the job and queues
    it again under the same id. False, with the reason logged, where that failed."""
    array_job = os.environ.get("SLURM_ARRAY_JOB_ID")
    job = f"{array_job}_{os.environ['SLURM_ARRAY_TASK_ID']}" if array_job else os.environ["SLURM_JOB_ID"]
    try:
        result = subprocess.run(["scontrol", "requeue", job], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as error:
        log.warning("could not requeue SLURM job %s: %s", job, error)
        return False
    if result.returncode != 0:
        log.warning("scontrol requeue %s failed (exit %d): %s", job, result.returncode, result.stderr.strip())
        return False
    log.info("requeued SLURM job %s", job)
    return True
