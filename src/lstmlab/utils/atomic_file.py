"""Files that appear whole or not at all, with the mode a plain `open`/`mkdir` would give them.

An output is written to a temporary sibling (same folder, so same file system), flushed to disk and renamed onto
its name in one step; on any failure the temporary file is removed and an older output stays as it was.
`mkstemp`/`mkdtemp` make their files private, so what is published gets the usual mode (0666/0777 less the umask).
A failed write (a full disk) is reported naming the output, not the temporary name the user never asked for.
"""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from lstmlab.utils.termination import raise_if_stopped


def umask() -> int:
    """The process umask (only readable by setting it, so it is set straight back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def usual_mode(path: Path) -> None:
    """0666 (files) or 0777 (folders, and the files in them) less the umask."""
    mask = umask()
    if path.is_dir():
        for child in path.iterdir():
            usual_mode(child)
        os.chmod(path, 0o777 & ~mask)
    else:
        os.chmod(path, 0o666 & ~mask)


def temporary_sibling(path: Path) -> Path:
    """An empty hidden file beside `path`; an error names `path`, not a temporary name the user never asked for."""
    try:
        descriptor, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    except OSError as error:
        raise type(error)(error.errno, error.strerror, str(path)) from None
    os.close(descriptor)
    return Path(name)


_NO_ROOM = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})  # only writes fail so, naming no file


def _underlying(error: OSError) -> OSError:
    """The OS error beneath a library's own report of it (h5py: 'File close failed' after a failed write)."""
    while error.errno is None and isinstance(error.__context__, OSError):
        error = error.__context__
    return error


@contextmanager
def naming_output(path: Path, temporary: Path) -> Iterator[None]:
    """Re-raise an OS error of the block that is the failed writing of `path` through `temporary` (it names the
    temporary file or folder, or no file and a full disk) as the same error naming `path`."""
    try:
        yield
    except OSError as error:
        reason = _underlying(error)
        about_temporary = reason.filename is not None and str(reason.filename).startswith(str(temporary))
        if not about_temporary and not (reason.filename is None and reason.errno in _NO_ROOM):
            raise
        raise OSError(reason.errno, reason.strerror, str(path)) from error


def flush_to_disk(path: Path) -> None:
    """Make the file's data durable before it is renamed into place: else a crash soon after the rename could
    leave an empty output."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def publish(temporary: Path, path: Path) -> None:
    """Flush `temporary` to disk, give it the usual mode and rename it onto `path` (unless SIGTERM or Ctrl-C came in a
    command and its exception was lost: see `lstmlab.utils.termination`)."""
    flush_to_disk(temporary)
    raise_if_stopped()
    usual_mode(temporary)
    os.replace(temporary, path)


@contextmanager
def atomic_file(path: Path) -> Iterator[Path]:
    """`with atomic_file(path) as temporary:` write `temporary`; it becomes `path` when the block succeeds."""
    temporary = temporary_sibling(path)
    try:
        with naming_output(path, temporary):
            yield temporary
            publish(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
