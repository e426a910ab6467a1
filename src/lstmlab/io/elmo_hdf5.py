"""ELMo representations in the HDF5 layout of allennlp's `elmo` command, written whole or not at all.

Line i of the input (from 0) is the dataset "i": [layers, tokens, dim] for `all` layers, [tokens, dim] for `top`
(the last LSTM layer) or `average` (the mean of all layers). The dataset "sentence_to_index" holds one JSON string
mapping each sentence (its tokens joined by single spaces) to its dataset name; the file's attributes record the
layer choice, the width and the number of layers.

A failed write (a full disk) is an OSError naming the output, not a crash (`lstmlab.io.hdf5_output`).
"""

from __future__ import annotations

import json
from contextlib import ExitStack
from pathlib import Path
from types import TracebackType

import numpy as np

from lstmlab.io.hdf5_output import Hdf5Output
from lstmlab.utils.atomic_file import atomic_file, naming_output

LAYER_CHOICES = ("all", "top", "average")


def select_layers(layers: np.ndarray, choice: str) -> np.ndarray:
    """[L, T, dim] -> what `choice` (one of LAYER_CHOICES) asks for."""
    if choice == "all":
        return layers
    return layers[-1] if choice == "top" else layers.mean(axis=0)


class ElmoHdf5Writer:
    """`with ElmoHdf5Writer(path, layers, dim, num_layers) as writer: writer.write(index, tokens, layers)`; the file
    appears at `path` when the block ends without an error, and an older file stays as it was otherwise."""

    def __init__(self, path: Path, layers: str, dim: int, num_layers: int) -> None:
        if layers not in LAYER_CHOICES:
            raise ValueError(f"layers={layers!r}: expected one of {', '.join(LAYER_CHOICES)}")
        self.path = path
        self.attributes = {"layers": layers, "dim": dim, "num_layers": num_layers}
        self.sentence_to_index: dict[str, str] = {}

    def __enter__(self) -> ElmoHdf5Writer:
        with ExitStack() as stack:  # unwound at once if opening fails, else kept for __exit__
            self._temporary = stack.enter_context(atomic_file(self.path))
            self._output = Hdf5Output(self._temporary)
            stack.callback(self._output.close)
            self._stack = stack.pop_all()
        return self

    def write(self, index: int, tokens: list[str], layers: np.ndarray) -> None:
        """One sentence: `layers` [L, len(tokens), dim], every layer of the model."""
        with naming_output(self.path, self._temporary), self._output.operation():
            self._output.store.create_dataset(str(index), data=select_layers(layers, self.attributes["layers"]))
        self.sentence_to_index[" ".join(tokens)] = str(index)

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
                 ) -> None:
        if kind is None:
            try:
                with naming_output(self.path, self._temporary), self._output.operation():
                    self._write_index()
            except BaseException as failure:  # the file is still closed, and removed
                self._stack.__exit__(type(failure), failure, failure.__traceback__)
                raise
        self._stack.__exit__(kind, error, trace)

    def _write_index(self) -> None:
        import h5py

        store = self._output.store
        store.create_dataset("sentence_to_index", data=np.array([json.dumps(self.sentence_to_index)], dtype=object),
                             dtype=h5py.string_dtype("utf-8"))
        store.attrs.update(self.attributes)
