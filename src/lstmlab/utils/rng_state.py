"""Every random state Lightning does not save in a checkpoint (Python's, numpy's, torch's CPU and current CUDA
generators), captured and restored per DDP rank, so that a resumed run draws the same dropout masks, word dropout
and anything else random as an uninterrupted one would."""

from __future__ import annotations

import logging
import random
from typing import Any

import numpy as np
import torch

from lstmlab.utils.ddp import gather_from_ranks

log = logging.getLogger(__name__)


def collect_rng_states() -> dict[str, Any]:
    """This process's torch (CPU, and the current CUDA device), Python and numpy generator states, as tensors
    and plain types so the checkpoint loads with `weights_only=True`."""
    _, keys, position, has_gauss, cached = np.random.get_state()
    states: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "python": random.getstate(),
        "numpy": {"keys": torch.from_numpy(keys.astype(np.int64)), "position": int(position),
                  "has_gauss": int(has_gauss), "cached_gaussian": float(cached)},
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        states["cuda"] = torch.cuda.get_rng_state()
    return states


def restore_rng_states(states: dict[str, Any]) -> None:
    torch.set_rng_state(states["torch"])
    version, internal, gauss = states["python"]
    random.setstate((version, tuple(internal), gauss))
    saved = states["numpy"]
    np.random.set_state(("MT19937", saved["keys"].numpy().astype(np.uint32), saved["position"],
                         saved["has_gauss"], saved["cached_gaussian"]))
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state(states["cuda"])


def gather_rng_states() -> list[dict[str, Any]]:
    """Every rank's states (each DDP process draws its own dropout masks)."""
    return gather_from_ranks(collect_rng_states())


def restore_rank_rng_states(per_rank: list[dict[str, Any]], rank: int) -> None:
    if len(per_rank) > rank:
        restore_rng_states(per_rank[rank])
    else:
        log.warning("the checkpoint holds random states for %d processes, not for rank %d: not restored",
                    len(per_rank), rank)
