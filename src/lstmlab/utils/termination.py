"""SIGTERM as an exception for a command's lifetime, and a check that holds even where that exception (or Ctrl-C's
KeyboardInterrupt) is lost.

Python's default SIGTERM ends the process at once, so no temporary file would be removed; raised as an exception
instead, `with` blocks and `finally` clauses run. But a signal handler runs between any two bytecodes, and an
exception it raises inside a finalizer (a `__del__`, a weakref callback) is printed as "Exception ignored in" and
dropped: the command would run on and publish its output. So the signal is also recorded, and `atomic_file` checks
the record (`raise_if_stopped`) before it renames an output into place.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the process is when it arrives, so that `with` blocks and `finally` clauses run."""


_stopped_by: type[KeyboardInterrupt] | None = None


def raise_if_stopped() -> None:
    """Raise again what SIGTERM or SIGINT raised inside `terminate_as_interrupt`, in case its first raise was lost."""
    if _stopped_by is not None:
        raise _stopped_by


@contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """For the block, SIGTERM raises Terminated and SIGINT KeyboardInterrupt, each recorded; a second SIGTERM during
    the clean-up is ignored."""
    global _stopped_by

    def terminate(signum: int, frame: object) -> None:
        global _stopped_by
        _stopped_by = Terminated
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise Terminated

    def interrupt(signum: int, frame: object) -> None:
        global _stopped_by
        _stopped_by = _stopped_by or KeyboardInterrupt
        raise KeyboardInterrupt

    _stopped_by = None
    previous = signal.signal(signal.SIGTERM, terminate), signal.signal(signal.SIGINT, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous[0])
        signal.signal(signal.SIGINT, previous[1])
        _stopped_by = None
