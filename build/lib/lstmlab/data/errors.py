"""The one error type that every reader raises for bad input, so messages always say where."""

from __future__ import annotations

from pathlib import Path


class DataFormatError(ValueError):
    """A data file is not what its reader expects: the message names the file, the line and what was expected."""

    def __init__(self, path: str | Path, line: int | None, message: str) -> None:
        self.path = str(path)
        self.line = line
        self.reason = message
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {message}")
