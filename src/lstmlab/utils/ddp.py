"""DDP helpers: a strategy that destroys its process group on teardown (without it about half of the CPU (gloo)
runs abort at exit), and a gather of any picklable value from every rank."""

from __future__ import annotations

from typing import Any

import torch.distributed as dist
from lightning.pytorch.strategies import DDPStrategy


class CleanDDPStrategy(DDPStrategy):
    def teardown(self) -> None:
        super().teardown()
        if dist.is_available() and dist.is_initialized():
            dist.destroy_process_group()


def gather_from_ranks(value: Any) -> list[Any]:
    """Every rank's `value` (a picklable object), in rank order; called by all ranks together. One process (no
    process group) gathers its own value."""
    if not (dist.is_available() and dist.is_initialized()):
        return [value]
    gathered: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(gathered, value)
    return gathered
