"""Reading text data files line by line: plain or gzipped, strict UTF-8, BOM and CRLF tolerated."""

from __future__ import annotations

import gzip
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TypeVar

from lstmlab.data.errors import DataFormatError

Item = TypeVar("Item")


def resolve_data_file(path: str | Path) -> Path:
    """Return `path`, or `path.gz` when only the gzipped copy exists (bundled data is gzipped)."""
    path = Path(path).expanduser()
    candidates = [path] if path.suffix == ".gz" else [path, path.with_name(path.name + ".gz")]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    tried = " or ".join(str(c) for c in candidates)
    raise FileNotFoundError(
        f"data file not found: {tried}. Set the path on the command line (e.g. data.train_path=...) "
        "or point paths.data_dir / LSTMLAB_DATA_DIR at the folder that holds it."
    )


def decode_lines(handle: Iterable[bytes], name: str | Path, encoding: str = "utf-8") -> Iterator[tuple[int, str]]:
    """Yield (1-based line number, line without its line ending) from a binary stream; strict UTF-8 unless another
    `encoding` is named (TREC's files are Latin-1)."""
    for number, raw in enumerate(handle, start=1):
        try:
            line = raw.decode(encoding)
        except UnicodeDecodeError as error:
            raise DataFormatError(
                name, number, f"is not valid {error.encoding.upper()} (byte {raw[error.start]:#04x} at column "
                f"{error.start + 1})"
            ) from None
        if number == 1:
            line = line.removeprefix("\ufeff")
        yield number, line.rstrip("\r\n")


def read_lines(path: str | Path, encoding: str = "utf-8") -> Iterator[tuple[int, str]]:
    """Numbered lines of a plain or gzipped text file, UTF-8 by default (a byte-order mark and CRLF endings are
    accepted)."""
    path = resolve_data_file(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as handle:
        yield from decode_lines(handle, path, encoding)


def read_blocks(path: str | Path) -> Iterator[list[tuple[int, str]]]:
    """Yield groups of non-blank numbered lines separated by blank lines (sentences in CoNLL-style files)."""
    block: list[tuple[int, str]] = []
    for number, line in read_lines(path):
        if line.strip():
            block.append((number, line))
        elif block:
            yield block
            block = []
    if block:
        yield block


def chunked(items: Iterable[Item], size: int) -> Iterator[list[Item]]:
    """Lists of `size` items (the last one shorter): streaming commands read, process and write one at a time."""
    chunk: list[Item] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
