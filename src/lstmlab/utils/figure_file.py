"""A matplotlib figure of one or more panels written as a PNG, whole or not at all (the line charts of the
gradient-flow tool and the sweep report's panels are drawn in one)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from lstmlab.utils.atomic_file import atomic_file


@contextmanager
def figure_file(path: Path, panels: int = 1, panel_size: tuple[float, float] = (7, 4.5),
                columns: int = 3) -> Iterator[list[Any]]:
    """`with figure_file(path, n) as axes:` draw on the n matplotlib axes (rows of up to `columns`); the PNG is
    saved when the block ends."""
    import matplotlib

    matplotlib.use("Agg")  # no display: files only
    import matplotlib.pyplot as plt

    columns = min(columns, panels)
    rows = math.ceil(panels / columns)
    figure, grid = plt.subplots(rows, columns, figsize=(panel_size[0] * columns, panel_size[1] * rows),
                                squeeze=False)
    axes = list(grid.flat)
    try:
        yield axes[:panels]
        for unused in axes[panels:]:
            unused.set_visible(False)
        figure.tight_layout()
        with atomic_file(path) as temporary:
            figure.savefig(temporary, format="png", dpi=100)
    finally:
        plt.close(figure)
