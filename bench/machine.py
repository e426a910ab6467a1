"""What the machine was doing during a benchmark: its load, and a process's peak memory. Imports nothing heavy, so
that a benchmark's child process can report its own peak RSS without Lightning's."""

from __future__ import annotations

import os
from pathlib import Path


def load_average() -> str:
    """The 1/5/15-minute load averages: above the core count, other work shared the CPU."""
    return "/".join(f"{load:.2f}" for load in os.getloadavg())


def peak_rss_mb() -> float:
    """This process's peak RSS (Linux VmHWM). Not ru_maxrss: a spawned child's starts at its parent's peak, and
    the parent here holds Lightning and the datasets library."""
    status = Path("/proc/self/status").read_text()
    return next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")) / 1024
