"""One line chart written as a PNG, whole or not at all (the sweep and gradient-flow tools draw theirs here)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from lstmlab.utils.figure_file import figure_file


@contextmanager
def line_plot(path: Path, xlabel: str, ylabel: str, title: str = "", log_y: bool = False) -> Iterator[Any]:
    """`with line_plot(path, ...) as axis:` draw labelled lines on the matplotlib axis; saved when the block ends."""
    with figure_file(path) as (axis,):
        yield axis
        if log_y:
            axis.set_yscale("log")
        axis.set_xlabel(xlabel)
        axis.set_ylabel(ylabel)
        if title:
            axis.set_title(title)
        axis.grid(alpha=0.3, which="both")
        axis.legend()
