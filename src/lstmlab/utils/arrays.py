"""Results of either back end as numpy: PyTorch's tensors (on any device) or the ONNX runtime's arrays."""

from __future__ import annotations

from typing import Any

import numpy as np


def as_numpy(values: Any) -> np.ndarray:
    """A numpy array of a tensor (copied to the CPU first) or of an array (as it is)."""
    return values.cpu().numpy() if hasattr(values, "cpu") else np.asarray(values)
