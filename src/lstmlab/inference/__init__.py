"""The public Python APIs of trained models, each loaded from a run directory, an export folder, a checkpoint or an
ONNX export: `Tagger` (part-of-speech tags), `SentenceEncoder` (sentence vectors), `Elmo` (contextual word vectors).

The PyTorch back end; its text pipeline and result types, which need no torch, are `lstmlab.runtime`'s, shared with
the ONNX back end. Imported on first use."""

from __future__ import annotations

import importlib

_HOMES = {"Elmo": "lstmlab.inference.elmo", "ElmoOutput": "lstmlab.runtime.elmo_output",
          "SentenceEncoder": "lstmlab.inference.sentence_encoder", "TaggedSentence": "lstmlab.runtime.tagged_sentence",
          "Tagger": "lstmlab.inference.tagger"}
__all__ = sorted(_HOMES)


def __getattr__(name: str) -> object:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_HOMES[name]), name)
