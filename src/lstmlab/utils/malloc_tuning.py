"""Keep glibc malloc from returning memory to the OS between LSTM steps.

Page faults from glibc's mmap/trim cycle cost a quarter of CPU LSTM training time on some CPUs (docs/cpu_facts.md,
measured by `python bench/cpu_kernels.py`). The Makefile sets
MALLOC_MMAP_MAX_=0 and MALLOC_TRIM_THRESHOLD_; this applies the same settings through mallopt() at start-up, so
`lstmlab-train` run directly gets them too. A no-op where the C library is not glibc.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os

log = logging.getLogger(__name__)

_M_TRIM_THRESHOLD = -1  # glibc <malloc.h>
_M_MMAP_MAX = -4


def tune_malloc() -> bool:
    """Apply the settings unless the user chose their own; True when glibc accepted them."""
    if "MALLOC_MMAP_MAX_" in os.environ or "MALLOC_TRIM_THRESHOLD_" in os.environ:
        return False
    name = ctypes.util.find_library("c")
    if not name:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    accepted = mallopt(_M_MMAP_MAX, 0) == 1 and mallopt(_M_TRIM_THRESHOLD, -1) == 1  # -1: never trim
    log.debug("glibc malloc tuned for training: %s", accepted)
    return accepted
