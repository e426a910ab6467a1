"""The CRF's Viterbi decoding in numpy, after the ONNX graph has computed the emissions: the same recursion as
`lstmlab.modules.crf.CRF.decode`, over a batch at once, a loop over positions."""

from __future__ import annotations

import numpy as np


def viterbi(emissions: np.ndarray, mask: np.ndarray, transitions: np.ndarray, start: np.ndarray, end: np.ndarray
            ) -> np.ndarray:
    """emissions [B, T, K], mask [B, T] (a prefix of each row) -> the best tag sequence per row [B, T] (0 outside
    the mask). transitions [from, to], start [K], end [K]."""
    batch, steps, tags = emissions.shape
    identity = np.arange(tags)
    every_row = int(mask.sum(axis=1).min())  # positions real in every row: no masking needed there
    score = start + emissions[:, 0]  # [B, K]
    pointers = np.empty((steps, batch, tags), dtype=np.intp)
    pointers[0] = identity
    for t in range(1, steps):
        candidates = score[:, :, None] + transitions  # [B, from, to]
        best = candidates.argmax(axis=1)  # [B, to]
        step = candidates.max(axis=1) + emissions[:, t]
        if t < every_row:
            score, pointers[t] = step, best
            continue
        keep = mask[:, t, None]
        score = np.where(keep, step, score)
        # outside the mask a tag points to itself, so backtracking passes through padding unchanged
        pointers[t] = np.where(keep, best, identity)
    path = np.empty((batch, steps), dtype=np.int64)
    path[:, -1] = (score + end).argmax(axis=1)
    rows = np.arange(batch)
    for t in range(steps - 1, 0, -1):
        path[:, t - 1] = pointers[t, rows, path[:, t]]
    return np.where(mask, path, 0)
