"""`lstmlab-export --format onnx`: a trained model as an ONNX export folder (`lstmlab.runtime.onnx_folder`), fp32 or
int8, written only once it has passed its checks (`onnx_checks`): the fp32 graph against the PyTorch model, the int8
graph against the fp32 one. A model that fails is refused with the figures; nothing is written.

int8 is ONNX Runtime's dynamic quantization (weights of the LSTMs and matrix products stored as int8, activations
quantized per call): PyTorch's `quantize_dynamic` returns an `nn.LSTM` unchanged since torch 2.13.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path

from lstmlab.data.readers.senteval import read_stsb_file
from lstmlab.data.text_files import resolve_data_file
from lstmlab.data.tokenization.rules import rule_name
from lstmlab.export.check_data import CheckData, model_card_data, read_check_data, vocabulary_sentences
from lstmlab.export.onnx_checks import CheckResult, check_for
from lstmlab.export.onnx_graphs import ExportRefused, graph_bytes, graph_for
from lstmlab.io.export_names import CONFIG_FILE, GRAPH_FILE
from lstmlab.io.model_card import CARD_FILE, card_record, card_text
from lstmlab.io.model_folder import LSTMLAB_VERSION, check_save_target, replace_export_files
from lstmlab.models.bilm import BiLanguageModel
from lstmlab.models.bilstm_tagger import BiLSTMTagger
from lstmlab.models.nli_classifier import NLIClassifier
from lstmlab.runtime.onnx_folder import FORMAT, FORMAT_VERSION, MANIFEST_KEY, OnnxModel
from lstmlab.tasks import Task, load_task, task_class


@dataclass
class ExportReport:
    folder: Path
    kind: str
    precision: str
    check: CheckResult
    check_source: str
    size_bytes: int


def with_manifest(graph: bytes, manifest: dict) -> bytes:
    """The graph with the manifest in its metadata (`MANIFEST_KEY`), so that one file holds both."""
    import onnx

    model = onnx.load_from_string(graph)
    del model.metadata_props[:]
    entry = model.metadata_props.add()
    entry.key, entry.value = MANIFEST_KEY, json.dumps(manifest, ensure_ascii=False)
    return model.SerializeToString()


def quantized(graph: bytes, work: Path) -> bytes:
    """ONNX Runtime's dynamic int8 quantization of the LSTMs and matrix products (signed int8 weights). Its advice
    to run shape inference first (a root-logger warning) concerns static quantization; it is silenced here."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    source, target = work / "fp32.onnx", work / "int8.onnx"
    source.write_bytes(graph)
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        quantize_dynamic(source, target, op_types_to_quantize=["LSTM", "MatMul", "Gemm"],
                         weight_type=QuantType.QInt8)
    finally:
        root.setLevel(level)
    return target.read_bytes()


def runtime_api(kind: str, graph: bytes, work: Path, name: str):
    """The runtime's API object (or, for a classifier, its OnnxModel) over `graph`."""
    from lstmlab.runtime import Elmo, SentenceEncoder, Tagger

    (work / name).mkdir()
    (work / name / GRAPH_FILE).write_bytes(graph)
    model = OnnxModel.load(work / name, kind)
    classes = {api.kind: api for api in (Tagger, SentenceEncoder, Elmo)}
    return classes[kind](model) if kind in classes else model


def pytorch_api(task: Task):
    """The PyTorch API object the export is compared with (None for a classifier, whose network is compared)."""
    from lstmlab.inference.elmo import Elmo
    from lstmlab.inference.sentence_encoder import SentenceEncoder
    from lstmlab.inference.tagger import Tagger

    classes = {BiLSTMTagger.kind: Tagger, NLIClassifier.kind: SentenceEncoder, BiLanguageModel.kind: Elmo}
    return classes[task.kind](task.net, task.vocabs) if task.kind in classes else None


def check_data_for(model: str, task: Task, check_data: str | None) -> CheckData:
    """The named file, else the validation file the model's card records (where it is on this machine), else
    sentences of the model's vocabulary (parity only)."""
    data = model_card_data(model)
    path = check_data or data.get("val_path")
    if isinstance(path, list):
        path = path[0] if path else None
    if check_data is None and path is not None:
        path = recorded_file(str(path), data.get("format") == "hub")
    if path is None:
        return vocabulary_sentences(task.vocabs)
    return read_check_data(task.kind, str(path), data)


def recorded_file(path: str, hub_layout: bool) -> str | None:
    """The validation data a card records, where it is on this machine: a file (or its .gz), or a local folder in a
    hub layout; None for a file of another machine or a Hub dataset (nothing is downloaded to check an export)."""
    if hub_layout:
        return path if Path(path).is_dir() else None
    try:
        return str(resolve_data_file(path))
    except FileNotFoundError:
        return None


def export_card(model: str, manifest: dict, check: CheckResult) -> str:
    """The source's model card (its metrics, data and command), with a section on this export."""
    from lstmlab.io.hub import resolve_model_path

    source = resolve_model_path(model, None)
    folder = source / "model" if (source / "model").is_dir() else source if source.is_dir() else source.parent
    metrics, config, command = card_record(folder)
    text = card_text({"kind": manifest["kind"], "format_version": manifest["format_version"],
                      "lstmlab_version": LSTMLAB_VERSION, "net_config": manifest["net_config"]},
                     task_class(manifest["kind"]).card_details(config), metrics, config, command)
    figures = "\n".join(f"| {key} | {value:.6g} |" if isinstance(value, float) else f"| {key} | {value} |"
                        for key, value in check.figures.items())
    return (text + f"\n## ONNX export ({manifest['precision']})\n\nRuns without PyTorch: "
            "`pip install lstmlab-runtime`, then the same calls and commands as above on this folder. Checked at "
            f"export on {manifest['checked_on']}:\n\n| check | value |\n|---|---|\n{figures}\n")


def export_onnx(model: str, output: str | Path, int8: bool = False, check_data: str | None = None,
                check_similarity: str | None = None) -> ExportReport:
    """Export `model` (a run directory, export folder, checkpoint or Hub id) into `output` (a new or empty folder,
    or an lstmlab export to replace); ExportRefused with the figures where a check fails. `check_similarity`: an STS
    Benchmark file, for a sentence encoder."""
    missing = [name for name in ("onnx", "onnxruntime") if importlib.util.find_spec(name) is None]
    if missing:
        raise ValueError(f"exporting to ONNX needs {' and '.join(missing)}: pip install 'lstmlab[export]'")
    output = Path(output)
    check_save_target(output)  # before the work: a folder of a user's files is refused at once
    task = load_task(model)
    graph = graph_for(task.kind, task.net.eval(), (len(task.vocabs.words), len(task.vocabs.chars)))
    check_export = check_for(task.kind)  # a kind without a check is refused before the graph is traced
    manifest = {"format": FORMAT, "format_version": FORMAT_VERSION, "kind": task.kind,
                "precision": "int8" if int8 else "fp32", "lstmlab_version": LSTMLAB_VERSION,
                "net_config": task.net.config_dict(), "vocabs": task.vocabs.to_dict(),
                "tokenizer": rule_name(task.vocabs.language),
                "inputs": list(graph.inputs), "outputs": list(graph.outputs), **graph.manifest}
    fp32 = with_manifest(graph_bytes(graph), manifest)
    data = check_data_for(model, task, check_data)
    if check_similarity is not None:
        if task.kind != NLIClassifier.kind:
            raise ValueError(f"--check-similarity is for sentence encoders; {model} is a {task.kind!r} model")
        data.similarity = read_stsb_file(resolve_data_file(check_similarity))
    with tempfile.TemporaryDirectory(prefix="lstmlab-export-") as temporary:
        work = Path(temporary)
        final = with_manifest(quantized(fp32, work), manifest) if int8 else fp32
        check = check_export(task, pytorch_api(task), runtime_api(task.kind, fp32, work, "fp32"),
                             runtime_api(task.kind, final, work, "int8") if int8 else None, data)
    if check.failures:
        shown = ", ".join(f"{key} {value:.4g}" if isinstance(value, float) else f"{key} {value}"
                          for key, value in check.figures.items())
        raise ExportRefused(f"{model}: {manifest['precision']} export refused, nothing written: "
                            f"{'; '.join(check.failures)} (checked on {data.source}: {shown})")
    manifest["checked_on"] = data.source
    manifest["checks"] = check.figures
    final = with_manifest(final, manifest)
    replace_export_files(output, {GRAPH_FILE: final, CONFIG_FILE: json.dumps(manifest, indent=1).encode(),
                                  CARD_FILE: export_card(model, manifest, check).encode()}, GRAPH_FILE)
    return ExportReport(output, task.kind, manifest["precision"], check, data.source, len(final))
