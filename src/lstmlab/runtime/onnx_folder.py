"""An ONNX export folder, as `lstmlab-export --format onnx` writes it and the runtime reads it:

    model.onnx    the graph; its metadata (`lstmlab`) holds the manifest: kind, format, precision, network config,
                  vocabularies, tokenizer settings, decoding parameters (a CRF's), the parity measured at export
    config.json   the same manifest, for people and tools that read JSON
    README.md     the model card

The runtime reads model.onnx alone, in one read, so a folder being replaced by a newer export never mixes two.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from lstmlab.data.tokenization.rules import ENGLISH_RULE, RULES
from lstmlab.data.vocab.text_vocabs import TextVocabs
from lstmlab.io.export_names import GRAPH_FILE
from lstmlab.io.hub import resolve_model_path
from lstmlab.io.model_errors import ModelFileError, WrongModelKind
from lstmlab.runtime.text_pipeline import ReadsRawText

MANIFEST_KEY = "lstmlab"  # the graph's metadata entry that holds the manifest
FORMAT = "lstmlab-onnx"
FORMAT_VERSION = 1  # what this lstmlab writes and reads
PRECISIONS = ("fp32", "int8")


def is_onnx_export(path: str | Path) -> bool:
    """Whether `path` is an ONNX export folder (or its model.onnx)."""
    path = Path(path)
    return (path / GRAPH_FILE).is_file() or (path.is_file() and path.suffix == ".onnx")


def _graph_file(path: Path) -> Path:
    if path.is_file() and path.suffix == ".onnx":
        return path
    if (path / GRAPH_FILE).is_file():
        return path / GRAPH_FILE
    if path.exists():
        raise ModelFileError(
            f"{path}: not an ONNX export (no {GRAPH_FILE}); this install runs ONNX exports only (it has no torch): "
            f"export the model where lstmlab is installed with torch: lstmlab-export --model {path} --format onnx "
            f"-o {path.name or 'model'}-onnx")
    raise ModelFileError(f"{path}: no such file or folder; expected an ONNX export folder (lstmlab-export -o ...)")


def session_options(threads: int | None) -> Any:
    """ONNX Runtime's options: every graph optimisation, `threads` intra-op threads (None: the cores this process
    may use), one operator at a time (a recurrent graph is a chain)."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    options.intra_op_num_threads = threads or len(os.sched_getaffinity(0))
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # errors only: its warnings about unused initializers are not the user's
    return options


@dataclass
class OnnxModel:
    """A loaded export: its session and manifest. `run(**arrays)` feeds the inputs the graph has by name."""

    session: Any
    manifest: dict
    path: Path

    @classmethod
    def load(cls, path: str | Path, kind: str, threads: int | None = None, revision: str | None = None) -> OnnxModel:
        """The export at `path` (a folder or its model.onnx, or a Hugging Face Hub id: `org/name[@rev]`), of model
        `kind`; another kind, a damaged file or a format this lstmlab does not read is a ModelFileError that says
        so."""
        try:
            import onnxruntime
        except ImportError:
            raise ModelFileError(f"{path}: running an ONNX export needs ONNX Runtime: pip install onnxruntime "
                                 "(or pip install lstmlab-runtime)") from None
        graph = _graph_file(resolve_model_path(path, revision))
        try:
            session = onnxruntime.InferenceSession(graph.read_bytes(), session_options(threads),
                                                   providers=["CPUExecutionProvider"])
            text = session.get_modelmeta().custom_metadata_map[MANIFEST_KEY]
            manifest = json.loads(text)
        except KeyError:
            raise ModelFileError(f"{graph}: an ONNX graph without lstmlab's manifest: not an lstmlab export") from None
        except Exception as error:  # ONNX Runtime raises its own types for damaged graphs
            raise ModelFileError(f"{graph}: not a readable ONNX graph ({type(error).__name__}: {error})") from None
        check_manifest(manifest, graph, kind)
        return cls(session, manifest, graph.parent)

    @property
    def kind(self) -> str:
        return self.manifest["kind"]

    @property
    def net_config(self) -> dict:
        return self.manifest["net_config"]

    @property
    def vocabs(self) -> TextVocabs:
        return TextVocabs.from_dict(self.manifest["vocabs"])

    @property
    def tokenizer(self) -> str:
        """The name of the rule raw text is split by (`lstmlab.data.tokenization.rules.RULES`)."""
        return self.manifest.get("tokenizer", ENGLISH_RULE)

    @property
    def input_names(self) -> list[str]:
        return [graph_input.name for graph_input in self.session.get_inputs()]

    def run(self, **arrays: np.ndarray) -> list[np.ndarray]:
        """The graph's outputs for the given inputs; those the graph does not read (a tagger without a character
        encoder reads no characters) are left out."""
        return self.session.run(None, {name: arrays[name] for name in self.input_names})


class ExportedModel(ReadsRawText):
    """What the runtime's Tagger, SentenceEncoder and Elmo share: an export of their `kind`, its vocabularies, the
    rule its manifest names for raw text, and `load`."""

    kind: ClassVar[str]

    def __init__(self, model: OnnxModel) -> None:
        self.model = model
        self.vocabs: TextVocabs = model.vocabs
        self.tokenize = RULES[model.tokenizer]

    @classmethod
    def load(cls, path: str | Path, device: str = "cpu", revision: str | None = None, threads: int | None = None):
        """From an ONNX export folder (`lstmlab-export --format onnx`), or a Hub id holding one, of this class's
        kind; `threads` ONNX Runtime threads (None: every core this process may use)."""
        check_cpu_only(device)
        return cls(OnnxModel.load(path, cls.kind, threads, revision))


def check_manifest(manifest: dict, where: Path, kind: str | None) -> None:
    """Refuse a manifest of another format, a newer version, another model kind or a tokenizer this lstmlab does not
    know, in one line naming `where`. A manifest without a tokenizer is English (EWT's rule)."""
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ModelFileError(f"{where}: its manifest is not an {FORMAT} one: not an lstmlab ONNX export")
    version = manifest.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        writer = manifest.get("lstmlab_version") or "a newer lstmlab"
        raise ModelFileError(f"{where}: ONNX export format {version!r} (written by lstmlab {writer}) cannot be read "
                             f"by this lstmlab, which reads format {FORMAT_VERSION}; pip install -U lstmlab-runtime")
    if kind is not None and manifest.get("kind") != kind:
        raise WrongModelKind(f"{where}: this is a {manifest.get('kind')!r} model, expected a {kind!r} model")
    tokenizer = manifest.get("tokenizer", ENGLISH_RULE)
    if tokenizer not in RULES:
        raise ModelFileError(f"{where}: raw text is split by the rule {tokenizer!r}, which this lstmlab does not know "
                             f"(it knows {', '.join(RULES)}); pip install -U lstmlab-runtime")


def check_cpu_only(device: str, bf16: bool = False) -> None:
    """The runtime computes on the CPU, in the export's precision: another device or bf16 is refused."""
    if str(device) != "cpu":
        raise ValueError(f"device {device!r}: an ONNX export runs on the CPU here; load the PyTorch model for a GPU")
    if bf16:
        raise ValueError("bf16: an ONNX export runs in the precision it was exported in (fp32 or int8); "
                         "use lstmlab-export --int8 for a faster model")
