"""SIGTERM as an exception, for a command's lifetime, and a check that holds even where that exception is lost.

Python's default SIGTERM ends the process at once, so no temporary file would be removed; raised as an exception
instead, `with` blocks and `finally` clauses run. But a signal handler runs between any two bytecodes, and an
exception it raises inside a finalizer (a `__del__`, a weakref callback) is printed as "Exception ignored in" and
dropped: the command would run on and publish its output. So the request is also recorded, and `atomic_file`
checks it (`raise_if_terminated`) before it renames an output into place.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the process is when it arrives, so that `with` blocks and `finally` clauses run."""


_requested = False


def raise_if_terminated() -> None:
    """Raise Terminated if SIGTERM arrived inside `terminate_as_interrupt`, even if its first raise was lost."""
    if _requested:
        raise Terminated


@contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """For the block, SIGTERM raises Terminated (and is recorded); a second one during the clean-up is ignored."""
    global _requested

    def stop(signum: int, frame: object) -> None:
        global _requested
        _requested = True
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise Terminated

    _requested = False
    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
        _requested = False
