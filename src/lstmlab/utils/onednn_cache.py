"""Bound oneDNN's kernel cache in training and in the commands that read long inputs, so that their memory grows
less with what they read.

oneDNN (PyTorch's CPU kernels for LSTMs and convolutions) builds one primitive per input shape and keeps up to 1,024
of them, each with its own buffers. Training meets many shapes too: a tagger's char LSTM reads (words in the batch,
longest word) shapes that change at every batch, and a full EWT epoch peaked far higher with the full cache and no
faster (docs/benchmarks.md, "Training memory against Flair"). An export that sorts sentences by length meets a new
(batch, length) at nearly every batch, so its memory grew with the input until that cache was full
(docs/benchmarks.md, "Bidirectional LM"). A cache of 64 keeps the kernels of the shapes in use, so a run of equal
shapes stays as fast as with the full cache; with none at all, each call rebuilds its kernels.
"""

from __future__ import annotations

import os

CAPACITY_VARIABLE = "ONEDNN_PRIMITIVE_CACHE_CAPACITY"


def bound_primitive_cache(capacity: int = 64) -> bool:
    """Set oneDNN's cache capacity unless the user chose one; True when set here. oneDNN reads it when it builds its
    first kernel: call this before any model runs."""
    if CAPACITY_VARIABLE in os.environ:
        return False
    os.environ[CAPACITY_VARIABLE] = str(capacity)
    return True
