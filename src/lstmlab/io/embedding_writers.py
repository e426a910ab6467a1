"""Sentence-embedding files written in pieces, whole or absent: `.npy`, `.h5` (HDF5) and `.parquet`.

Every writer takes rows batch by batch (`write`), so an export of millions of sentences holds one batch in
memory, not the whole matrix. Rows go to a hidden temporary file beside the output (same folder, so same file
system); `commit()` finishes the format, flushes it to disk and renames it onto the output in one step.
Leaving the `with` block without `commit()` (an error, Ctrl-C, a full disk) removes the temporary file: readers see
the old output or the new one, never a partial file. Every format is written through a Python file object, so a
failed write is an OSError with its errno (Arrow's own writer reports it in its own words, HDF5's crashes: see
`lstmlab.io.hdf5_output`), which the writer re-raises naming the output.

What each format keeps: `.npy` the float32 [N, dim] matrix only (memory-mappable, `np.load(path, mmap_mode="r")`);
`.h5` datasets `embeddings` [N, dim] float32, `sentences` (UTF-8 strings) and `empty` (bool), with the export's
attributes on the file; `.parquet` one row per sentence, columns `line` (1-based), `sentence`, `embedding`
(fixed_size_list<float32>[dim]) and `empty`, with the attributes as JSON under the schema metadata key `lstmlab`.
"""

from __future__ import annotations

import contextlib
import json
import struct
from abc import ABC, abstractmethod
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import ClassVar

import numpy as np

from lstmlab.io.hdf5_output import Hdf5Output
from lstmlab.utils.atomic_file import naming_output, publish, temporary_sibling

Attributes = Mapping[str, str | int | float | bool]

_HDF5_CHUNK_BYTES = 1 << 20  # HDF5 advises chunks of about 1 MiB: large enough to read fast, small to cache


class EmbeddingWriter(ABC):
    """One output file of sentence embeddings. Subclasses supply the format (`_open`, `_write`, `_finish`,
    optionally `_close`); this class owns the temporary file and the rename that makes the output appear whole."""

    suffix: ClassVar[str]

    def __init__(self, path: str | Path, dim: int, attributes: Attributes | None = None) -> None:
        self.path = Path(path)
        self.dim = dim
        self.attributes = dict(attributes or {})
        self.rows = 0
        self.empty_rows = 0
        self._finished = False
        self.temp_path = temporary_sibling(self.path)
        try:
            with naming_output(self.path, self.temp_path):
                self._open()
        except BaseException:
            self.temp_path.unlink(missing_ok=True)
            raise

    def write(self, batch: np.ndarray, sentences: list[str], empty: np.ndarray) -> None:
        """Append one row per sentence: `batch` [n, dim], `sentences` their text, `empty` [n] bool (zero rows)."""
        if self._finished:
            raise RuntimeError(f"{self.path}: write() after commit() or abort()")
        batch = np.ascontiguousarray(batch, dtype="<f4")
        empty = np.asarray(empty, dtype=bool)
        if batch.ndim != 2 or batch.shape[1] != self.dim or not len(batch) == len(sentences) == len(empty):
            raise ValueError(f"expected a [{len(sentences)}, {self.dim}] batch and {len(sentences)} empty flags, "
                             f"got {list(batch.shape)} and {list(empty.shape)}")
        with naming_output(self.path, self.temp_path):
            self._write(batch, sentences, empty)
        self.rows += len(batch)
        self.empty_rows += int(empty.sum())

    def commit(self) -> Path:
        """Finish the file and put it at `path`, replacing any older output in one step."""
        if self._finished:
            raise RuntimeError(f"{self.path}: commit() after commit() or abort()")
        self._finished = True
        try:
            with naming_output(self.path, self.temp_path):
                self._finish()
                publish(self.temp_path, self.path)
        except BaseException:
            self.temp_path.unlink(missing_ok=True)
            raise
        return self.path

    def abort(self) -> None:
        """Drop the temporary file; the older output, if any, stays as it was. Safe to call more than once."""
        if self._finished:
            return
        self._finished = True
        # The file is being thrown away: a failure to close it must not hide the error that made the caller abort.
        try:
            with contextlib.suppress(Exception):
                self._close()
        finally:
            self.temp_path.unlink(missing_ok=True)

    def __enter__(self) -> EmbeddingWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
                 ) -> None:
        self.abort()  # a no-op after commit(); otherwise the block ended early and the output must not appear

    @abstractmethod
    def _open(self) -> None:
        """Open `temp_path` for this format."""

    @abstractmethod
    def _write(self, batch: np.ndarray, sentences: list[str], empty: np.ndarray) -> None:
        """Append rows; `batch` is already little-endian float32 [n, dim] and checked against `sentences`."""

    @abstractmethod
    def _finish(self) -> None:
        """Complete the format (header, footer, attributes) and close the file."""

    def _close(self) -> None:
        """Release the file before it is deleted; finishing it is as good where that costs nothing extra."""
        self._finish()


class NpyWriter(EmbeddingWriter):
    """A `.npy` file whose header is written last, in place.

    The header holds the row count, unknown until the input ends (standard input cannot be counted ahead).
    Rather than count the lines in a first pass (impossible for stdin) or write raw rows and copy them behind a
    header at the end (twice the disk traffic), the header gets a fixed 128 bytes, rewritten at commit() with
    the real shape. The .npy format allows this: the header dict is padded with spaces to a multiple of 64.
    """

    suffix = ".npy"
    HEADER_BYTES = 128

    def _open(self) -> None:
        self._file = self.temp_path.open("wb")
        self._file.write(self._header())  # a valid placeholder, so the file is well-formed at every row count

    def _header(self) -> bytes:
        description = f"{{'descr': '<f4', 'fortran_order': False, 'shape': ({self.rows}, {self.dim}), }}"
        prefix = b"\x93NUMPY\x01\x00"  # magic string, format version 1.0
        length = self.HEADER_BYTES - len(prefix) - 2  # what follows the 2-byte header length
        text = description.ljust(length - 1).encode("latin1") + b"\n"
        if len(text) != length:
            raise ValueError(f"a {self.rows:,} x {self.dim} .npy header does not fit in {self.HEADER_BYTES} bytes")
        return prefix + struct.pack("<H", length) + text

    def _write(self, batch: np.ndarray, sentences: list[str], empty: np.ndarray) -> None:
        self._file.write(batch.data)

    def _finish(self) -> None:
        with self._file:
            self._file.seek(0)
            self._file.write(self._header())

    def _close(self) -> None:
        self._file.close()  # not _finish(): no header to rewrite in a file about to be deleted


class Hdf5Writer(EmbeddingWriter):
    """An HDF5 file of growable, chunked datasets, extended by each batch."""

    suffix = ".h5"

    def _open(self) -> None:
        import h5py

        self._output = Hdf5Output(self.temp_path)
        store = self._output.store
        chunk_rows = max(1, _HDF5_CHUNK_BYTES // (4 * self.dim))
        with self._output.operation():
            self._datasets = {
                "embeddings": store.create_dataset("embeddings", shape=(0, self.dim), maxshape=(None, self.dim),
                                                   dtype="<f4", chunks=(chunk_rows, self.dim)),
                "sentences": store.create_dataset("sentences", shape=(0,), maxshape=(None,),
                                                  dtype=h5py.string_dtype("utf-8"), chunks=(4096,)),
                "empty": store.create_dataset("empty", shape=(0,), maxshape=(None,), dtype=bool, chunks=(65536,)),
            }
            store.attrs.update(self.attributes)

    def _write(self, batch: np.ndarray, sentences: list[str], empty: np.ndarray) -> None:
        end = self.rows + len(batch)
        values = {"embeddings": batch, "sentences": np.array(sentences, dtype=object), "empty": empty}
        with self._output.operation():
            for name, dataset in self._datasets.items():
                dataset.resize(end, axis=0)
                dataset[self.rows:end] = values[name]

    def _finish(self) -> None:
        self._output.close()


class ParquetEmbeddingWriter(EmbeddingWriter):
    """A Parquet file written by pyarrow's ParquetWriter: one row group per `write` call."""

    suffix = ".parquet"

    def _open(self) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        schema = pa.schema([("line", pa.int64()), ("sentence", pa.string()),
                            ("embedding", pa.list_(pa.float32(), self.dim)), ("empty", pa.bool_())],
                           metadata={"lstmlab": json.dumps(self.attributes, ensure_ascii=False)})
        self._handle = self.temp_path.open("wb")
        self._writer = pq.ParquetWriter(self._handle, schema)

    def _write(self, batch: np.ndarray, sentences: list[str], empty: np.ndarray) -> None:
        import pyarrow as pa

        lines = np.arange(self.rows + 1, self.rows + 1 + len(batch), dtype=np.int64)  # one row per input line
        embeddings = pa.FixedSizeListArray.from_arrays(pa.array(batch.reshape(-1)), self.dim)
        table = pa.Table.from_arrays([pa.array(lines), pa.array(sentences, pa.string()), embeddings, pa.array(empty)],
                                     schema=self._writer.schema)
        self._writer.write_table(table)

    def _finish(self) -> None:
        with self._handle:
            self._writer.close()


WRITERS: dict[str, type[EmbeddingWriter]] = {cls.suffix: cls for cls in (NpyWriter, Hdf5Writer, ParquetEmbeddingWriter)}


def writer_class(path: str | Path) -> type[EmbeddingWriter]:
    """The writer for `path`'s extension; a ValueError that lists the known ones otherwise."""
    suffix = Path(path).suffix.lower()
    if suffix not in WRITERS:
        known = ", ".join(WRITERS)
        raise ValueError(f"{path}: unknown output format {suffix or '(no extension)'!r}; use one of {known}")
    return WRITERS[suffix]


def open_writer(path: str | Path, dim: int, attributes: Attributes | None = None) -> EmbeddingWriter:
    """A writer for `path`, chosen by its extension (.npy, .h5, .parquet)."""
    return writer_class(path)(path, dim, attributes)
