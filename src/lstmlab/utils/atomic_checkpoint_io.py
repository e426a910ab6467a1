"""Checkpoints that appear whole or not at all: written to a temporary sibling, then renamed (`atomic_file`).

A failed write (a full disk) leaves the previous checkpoint of that name as it was and no temporary file, and is
an OSError naming the checkpoint.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch.plugins.io import TorchCheckpointIO

from lstmlab.utils.atomic_file import atomic_file


class AtomicCheckpointIO(TorchCheckpointIO):
    """Local checkpoint files; loading and removing are TorchCheckpointIO's."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path: str | Path, storage_options: Any = None) -> None:
        if storage_options is not None:
            raise TypeError(f"{type(self).__name__} takes no storage_options (got {storage_options!r})")
        path = Path(path)
        # serialized in memory first, as Lightning does: torch's zip writer turns a failed write into a
        # RuntimeError about stream positions, losing the OSError (a full disk) it was
        buffer = io.BytesIO()
        torch.save(checkpoint, buffer)
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_file(path) as temporary, temporary.open("wb") as out:
            out.write(buffer.getbuffer())
