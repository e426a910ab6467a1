"""lstmlab: classic recurrent NLP models (BiLSTM taggers, sentence encoders, biLMs), trained well and fast.

Layout: `cli/` the commands, `inference/` the Python APIs below, `tasks/` one LightningModule per task,
`models/` whole networks, `modules/` building blocks, `data/` readers and batching, `io/` model and export files,
`runtime/` the same APIs over ONNX exports without torch.

`Tagger`, `SentenceEncoder` and `Elmo` are PyTorch's where torch is installed (they also load ONNX exports, which
they hand to the runtime), and the ONNX runtime's where it is not (`pip install lstmlab-runtime`).
"""

from __future__ import annotations

import importlib
import importlib.util

__all__ = ["Elmo", "ElmoOutput", "SentenceEncoder", "TaggedSentence", "Tagger"]
__version__ = "0.3.0"


def __getattr__(name: str) -> object:
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    home = "lstmlab.inference" if importlib.util.find_spec("torch") is not None else "lstmlab.runtime"
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value
