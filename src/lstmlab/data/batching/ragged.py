"""Variable-length rows stored as one flat numpy array plus offsets.

A Python list of tensors costs a few hundred bytes of object overhead per sentence and per tensor; flat arrays cost
4 bytes per token plus 8 per sentence (docs/benchmarks.md, "Data memory").
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable

import numpy as np


class Ragged:
    """Row i is `values[offsets[i]:offsets[i + 1]]`."""

    def __init__(self, values: np.ndarray, offsets: np.ndarray) -> None:
        if offsets.ndim != 1 or len(offsets) == 0 or offsets[0] != 0 or offsets[-1] != len(values):
            raise ValueError("offsets must start at 0 and end at len(values)")
        self.values = values
        self.offsets = offsets

    @classmethod
    def from_rows(cls, rows: Iterable[Iterable[int]], typecode: str = "i") -> Ragged:
        builder = RaggedBuilder(typecode)
        for row in rows:
            builder.append(row)
        return builder.build()

    @classmethod
    def empty_rows(cls, count: int) -> Ragged:
        """`count` rows with nothing in them (the characters of a model that reads none)."""
        return cls(np.zeros(0, dtype=np.int32), np.zeros(count + 1, dtype=np.int64))

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, index: int) -> np.ndarray:
        return self.values[self.offsets[index] : self.offsets[index + 1]]

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    @property
    def nbytes(self) -> int:
        return self.values.nbytes + self.offsets.nbytes


class RaggedBuilder:
    """Appends rows into typed arrays (4 or 8 bytes an entry), never a Python object per value."""

    def __init__(self, typecode: str = "i") -> None:
        self.values = array(typecode)
        self.lengths = array("q")

    def append(self, row: Iterable[int]) -> None:
        before = len(self.values)
        self.values.extend(row)
        self.lengths.append(len(self.values) - before)

    def build(self) -> Ragged:
        offsets = np.zeros(len(self.lengths) + 1, dtype=np.int64)
        np.cumsum(np.frombuffer(self.lengths, dtype=np.int64), out=offsets[1:])
        return Ragged(np.frombuffer(self.values, dtype=self.values.typecode).copy(), offsets)
