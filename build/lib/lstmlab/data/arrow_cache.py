"""Parse a local data file once into a cached `datasets.Dataset` (Arrow), whatever its format.

The cache is keyed by the file (path, size, mtime), by the reader's options, and by the source code of the reader
and of the line reading under it, so an edited file or a changed reader is parsed again, and nothing else is.
"""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import datasets

from lstmlab.data import text_files
from lstmlab.data.errors import DataFormatError

Reader = Callable[..., Iterator[dict]]


def reader_fingerprint(reader: Reader) -> str:
    """A digest of the code that parses a file: the reader and the line reading under it."""
    code = inspect.getsource(reader) + inspect.getsource(text_files)
    return hashlib.sha256(code.encode("utf-8")).hexdigest()[:16]


def _generate(reader: Reader, path: str, reader_options: dict, file_key: str, reader_key: str) -> Iterator[dict]:
    """Examples of one file; `file_key` and `reader_key` are unused here but key the datasets cache."""
    yield from reader(path, **reader_options)


def _file_key(files: Sequence[Path]) -> str:
    return ";".join(f"{file.resolve()}:{file.stat().st_size}:{file.stat().st_mtime_ns}" for file in files)


def cached_parse(
    reader: Reader, path: str | Path, reader_options: dict, features: datasets.Features, cache_dir: str | None,
    files: Sequence[Path] | None = None,
) -> datasets.Dataset:
    """`reader(path, **reader_options)`'s examples as a Dataset. `files` are what the reader reads (default: the
    file `path`). A reader's DataFormatError (file, line, what was expected) or FileNotFoundError reaches the
    caller as itself, not wrapped by `datasets`."""
    file_key = _file_key(files if files is not None else [Path(path)])
    try:
        return datasets.Dataset.from_generator(
            _generate,
            gen_kwargs={
                "reader": reader, "path": str(path), "reader_options": reader_options,
                "file_key": file_key,
                "reader_key": reader_fingerprint(reader),
            },
            cache_dir=cache_dir,
            features=features,
        )
    except datasets.exceptions.DatasetGenerationError as error:
        cause = error.__cause__ or error.__context__
        if isinstance(cause, DataFormatError | FileNotFoundError):
            raise cause from None
        raise
