"""Give files and folders made private by `mkstemp`/`mkdtemp` the mode a plain `open`/`mkdir` would have, before
they are renamed into place as outputs."""

from __future__ import annotations

import os
from pathlib import Path


def umask() -> int:
    """The process umask (only readable by setting it, so it is set straight back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def usual_mode(path: Path) -> None:
    """0666 (files) or 0777 (folders, and the files in them) less the umask."""
    mask = umask()
    if path.is_dir():
        for child in path.iterdir():
            usual_mode(child)
        os.chmod(path, 0o777 & ~mask)
    else:
        os.chmod(path, 0o666 & ~mask)
