"""Reader for whitespace-separated column files such as CoNLL-2000 (`word POS chunk`, blank line between sentences)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

from lstmlab.data.errors import DataFormatError
from lstmlab.data.text_files import read_blocks, resolve_data_file

log = logging.getLogger(__name__)

DOCSTART = "-DOCSTART-"


def read_columns(path: str | Path, token_column: int = 0, tag_column: int = 1) -> Iterator[dict]:
    """Yield {"tokens", "tags", "lines"} per sentence; every line must have as many columns as the first one.

    CoNLL-2003-style `-DOCSTART-` lines are document separators, not words: they are skipped and counted.
    """
    path = resolve_data_file(path)
    width: int | None = None
    sentences = docstarts = 0
    for block in read_blocks(path):
        tokens: list[str] = []
        tags: list[str] = []
        lines: list[int] = []
        for number, line in block:
            fields = line.split()
            if width is None:
                width = len(fields)
                if width <= max(token_column, tag_column):
                    raise DataFormatError(
                        path, number,
                        f"expected at least {max(token_column, tag_column) + 1} whitespace-separated columns "
                        f"(token column {token_column}, tag column {tag_column}), found {width}",
                    )
            elif len(fields) != width:
                raise DataFormatError(
                    path, number, f"expected {width} columns like the first line, found {len(fields)}"
                )
            if fields[token_column] == DOCSTART:
                docstarts += 1
                continue
            tokens.append(fields[token_column])
            tags.append(fields[tag_column])
            lines.append(number)
        if tokens:
            sentences += 1
            yield {"tokens": tokens, "tags": tags, "lines": lines}
    if sentences == 0:
        raise DataFormatError(path, None, "no sentences found (the file is empty)")
    log.info("%s: %d sentences; skipped %d -DOCSTART- lines", path, sentences, docstarts)
