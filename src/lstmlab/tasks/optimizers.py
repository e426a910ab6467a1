"""The optimizer a task trains with, from the config's factory (`_partial_: true`). Here, beside the tasks, because
`Task.configure_optimizers` is the one place lstmlab builds optimizers, and what it adapts (the fused kernel,
Lightning's gradient clipping under fp16's loss scaler) is about how a task trains, not about any one task."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import torch

log = logging.getLogger(__name__)


def make_optimizer(factory: Callable[..., torch.optim.Optimizer], parameters: Any,
                   scaled: bool = False) -> torch.optim.Optimizer:
    """The configured optimizer; `fused=True` falls back to the default implementation where this torch
    or device has no fused kernel (CPU fused Adam arrived in torch 2.4), with a warning, and under a loss scaler
    (`scaled`: fp16-mixed), where Lightning clips no gradients of an optimizer that unscales them itself."""
    parameters = list(parameters)
    if scaled and getattr(factory, "keywords", {}).get("fused"):
        log.info("fp16-mixed: the default (not fused) optimizer, so that gradients can be clipped after unscaling")
        return factory(params=parameters, fused=None)
    try:
        return factory(params=parameters)
    except (RuntimeError, TypeError) as error:
        if "fused" not in str(error) or not getattr(factory, "keywords", {}).get("fused"):
            raise
        log.warning("fused optimizer unavailable here (%s); using the default implementation", error)
        return factory(params=parameters, fused=None)
