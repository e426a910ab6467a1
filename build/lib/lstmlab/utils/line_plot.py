"""One line chart written as a PNG, whole or not at all (the sweep and gradient-flow tools draw theirs here)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from lstmlab.utils.atomic_file import atomic_file


@contextmanager
def line_plot(path: Path, xlabel: str, ylabel: str, title: str = "", log_y: bool = False) -> Iterator[Any]:
    """`with line_plot(path, ...) as axis:` draw labelled lines on the matplotlib axis; saved when the block ends."""
    import matplotlib

    matplotlib.use("Agg")  # no display: files only
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(7, 4.5))
    try:
        yield axis
        if log_y:
            axis.set_yscale("log")
        axis.set_xlabel(xlabel)
        axis.set_ylabel(ylabel)
        if title:
            axis.set_title(title)
        axis.grid(alpha=0.3, which="both")
        axis.legend()
        figure.tight_layout()
        with atomic_file(path) as temporary:
            figure.savefig(temporary, format="png", dpi=100)
    finally:
        plt.close(figure)
