"""An HDF5 file being written, whose failed write (a full disk) is an OSError rather than a crash.

When a write fails under HDF5 (a full disk, a file-size limit), the library is left in a state in which later
calls, closing the file and even freeing h5py's objects, end the process with a segmentation fault: no error
message, and the temporary file stays behind. So h5py writes here through this object (its `fileobj` driver),
which never fails a write back to HDF5: the first OSError is kept, later writes are dropped, and `operation()`
raises that error after the HDF5 call that met it. HDF5 stays consistent, the file can be closed and deleted,
and the error is Python's own, with its errno.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import h5py


class Hdf5Output:
    """`Hdf5Output(path).store` is the `h5py.File` written to `path`; run each HDF5 call under `operation()`."""

    def __init__(self, path: Path) -> None:
        import h5py  # imported here so that the commands' --help and the other formats do not pay for it

        self.failed_write: OSError | None = None
        self._file = path.open("w+b")
        try:
            self.store: h5py.File = h5py.File(self, "w")
        except BaseException:
            self._file.close()
            raise

    @contextmanager
    def operation(self) -> Iterator[None]:
        """Raise the failed write, if the HDF5 calls of the block met one, instead of whatever HDF5 made of it."""
        try:
            yield
        except Exception as error:
            if self.failed_write is not None:
                raise self.failed_write from error
            raise
        if self.failed_write is not None:
            raise self.failed_write

    def close(self) -> None:
        """Write what HDF5 still holds and close the file; a failed write, here or before, is raised."""
        with self.operation():
            try:
                self.store.close()
            finally:
                try:
                    self._file.close()
                except OSError as error:  # buffered bytes that found no room: the first failure is the one raised
                    self.failed_write = self.failed_write or error

    # --- the file-object methods h5py's fileobj driver calls ----------------------------------------------------
    def read(self, size: int = -1) -> bytes:  # h5py takes an object with read() and seek() for a file object
        return self._file.read(size)

    def readinto(self, buffer: memoryview) -> int:
        return self._file.readinto(buffer)

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        return self._file.seek(offset, whence)

    def tell(self) -> int:
        return self._file.tell()

    def write(self, data: memoryview) -> int:
        if self.failed_write is None:
            try:
                return self._file.write(data)
            except OSError as error:
                self.failed_write = error
        return memoryview(data).nbytes  # dropped: the file is deleted once the error is raised

    def truncate(self, size: int | None = None) -> int:
        if self.failed_write is None:
            try:
                return self._file.truncate(size)
            except OSError as error:
                self.failed_write = error
        return self._file.tell() if size is None else size

    def flush(self) -> None:
        if self.failed_write is None:
            try:
                self._file.flush()
            except OSError as error:
                self.failed_write = error
