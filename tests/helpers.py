"""Helpers that tests in several folders share: what an embedding file holds, files left behind, the sentences of
the embedding tests, the pre-format-2 weight names, a user's environment, a model saved in another language."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import h5py
import numpy as np
import pyarrow.parquet as pq
import torch

from lstmlab.io.embedding_writers import WRITERS
from lstmlab.io.model_folder import load_model_file, save_model_folder

RUN_ENV = {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
FORMATS = sorted(WRITERS)

SENTENCES = [  # reverse length order, so that any sorting by length inside the encoder must be undone
    "the quick brown fox jumps over the lazy dog near the river bank .",
    "a man is playing a guitar on the street .",
    "two children are reading books .",
    "the cat sleeps .",
    "rain .",
]



def read_embeddings(path: Path) -> dict:
    """What a user gets back from an export file: embeddings, and where the format keeps them, sentences,
    empty flags, 1-based line numbers and attributes."""
    if path.suffix == ".npy":
        return {"embeddings": np.load(path, mmap_mode="r")}
    if path.suffix == ".h5":
        with h5py.File(path, "r") as file:
            return {"embeddings": file["embeddings"][:], "sentences": list(file["sentences"].asstr()[:]),
                    "empty": file["empty"][:], "attributes": dict(file.attrs)}
    table = pq.read_table(path)
    dim = table.schema.field("embedding").type.list_size
    flat = table.column("embedding").combine_chunks().values.to_numpy()
    return {"embeddings": flat.reshape(-1, dim), "sentences": table.column("sentence").to_pylist(),
            "empty": table.column("empty").to_numpy(), "lines": table.column("line").to_pylist(),
            "attributes": json.loads(table.schema.metadata[b"lstmlab"])}


def leftovers(folder: Path, *expected: str) -> list[str]:
    """Files in `folder` other than the expected ones (a temporary file left behind shows up here)."""
    return sorted(p.name for p in folder.iterdir() if p.name not in expected)


def old_layout(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Today's RecurrentLast names back to the stacked ones: encoder.rnn.forward_layers.1.weight_ih_l0 ->
    encoder.forward_rnn.weight_ih_l1."""
    pattern = re.compile(r"encoder\.rnn\.(forward|backward)_layers\.(\d+)\.(\w+)_l0")
    return {pattern.sub(lambda m: f"encoder.{m[1]}_rnn.{m[3]}_l{m[2]}", key): value for key, value in state.items()}


def user_env(**extra: str) -> dict[str, str]:
    """The environment a user's shell has: no virtualenv of this checkout, no LSTMLAB_DATA_DIR unless given."""
    env = {key: value for key, value in os.environ.items()
           if key not in ("VIRTUAL_ENV", "PYTHONPATH", "LSTMLAB_DATA_DIR")}
    return {**env, **RUN_ENV, **extra}


def saved_with_language(model: Path, language: str, folder: Path) -> Path:
    """The model at `model` saved again into `folder` with vocabularies that say `language`, as a model trained on a
    treebank of that language saves them."""
    payload, state = load_model_file(model)
    payload["vocabs"]["language"] = language
    return save_model_folder(folder, payload, state)
