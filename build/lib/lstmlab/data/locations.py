"""Where data is read from, with no checkout assumed: an installed wheel has no `data/` folder.

Corpora come from `$LSTMLAB_DATA_DIR` (any folder laid out like the repository's `data/`), else from the samples
folder: the `data/` of the checkout this lstmlab runs from (an editable install), else `./data` of the working
directory. A few small files exist only among the bundled samples (the GloVe subset, the inaugural addresses):
`sample_file` looks for those under `$LSTMLAB_DATA_DIR` first, then in the samples folder.
"""

from __future__ import annotations

import os
from pathlib import Path

DATA_DIR_VARIABLE = "LSTMLAB_DATA_DIR"


def checkout_root() -> Path | None:
    """The repository checkout holding this package (src/lstmlab/data/ three levels down), if it is one."""
    root = Path(__file__).resolve().parents[3]
    return root if (root / "conf" / "train.yaml").is_file() and (root / "data").is_dir() else None


def samples_dir() -> Path:
    """The bundled samples: the checkout's data/, else ./data of the working directory."""
    root = checkout_root()
    return root / "data" if root is not None else Path.cwd() / "data"


def data_dir() -> Path:
    """$LSTMLAB_DATA_DIR, else the samples folder."""
    return Path(os.environ[DATA_DIR_VARIABLE]).expanduser() if os.environ.get(DATA_DIR_VARIABLE) else samples_dir()


def sample_file(relative: str) -> str:
    """`relative` (or its .gz) under $LSTMLAB_DATA_DIR where it is there, else under the samples folder (where a
    missing file is then reported by the reader, with this path)."""
    if os.environ.get(DATA_DIR_VARIABLE):
        candidate = Path(os.environ[DATA_DIR_VARIABLE]).expanduser() / relative
        if candidate.is_file() or candidate.with_name(candidate.name + ".gz").is_file():
            return str(candidate)
    return str(samples_dir() / relative)
