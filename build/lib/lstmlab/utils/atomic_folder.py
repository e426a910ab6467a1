"""Replace a folder by another in one step, so that readers see the old folder or the new one, never neither.

A rename onto an existing, non-empty folder fails, and removing the old folder first leaves a moment with no
folder at all. Linux's renameat2(RENAME_EXCHANGE) swaps two paths atomically; where it is missing (other
systems, old kernels or C libraries) the old folder is renamed aside and the new one renamed in, which
leaves a gap of two system calls, never a half-written folder.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import functools
import os
from pathlib import Path

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


@functools.cache
def _renameat2():
    name = ctypes.util.find_library("c")
    if not name:
        return None
    function = getattr(ctypes.CDLL(name, use_errno=True), "renameat2", None)
    if function is not None:
        function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    return function


def exchange(first: Path, second: Path) -> bool:
    """Swap two existing paths atomically; False where this system cannot."""
    function = _renameat2()
    if function is None:
        return False
    if function(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE) == 0:
        return True
    error = ctypes.get_errno()
    if error in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):  # this file system or kernel cannot swap
        return False
    raise OSError(error, os.strerror(error), str(second))


def replace_folder(new: Path, target: Path) -> None:
    """Put the folder `new` at `target`; an existing `target` ends up at `new` (the caller removes it)."""
    if not target.exists():
        os.replace(new, target)
    elif not exchange(new, target):
        aside = new.with_name(new.name + ".old")
        os.replace(target, aside)
        os.replace(new, target)
        os.replace(aside, new)
