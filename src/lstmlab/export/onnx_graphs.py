"""What each model kind's ONNX graph computes, its inputs and outputs, and what the runtime needs beside it.

The graph is the network's own forward pass, traced (torch.onnx.export with the TorchScript exporter, `dynamo=False`:
its dynamic axes hold for any batch, length and word width, and it honours `autograd.Function.symbolic`, which
writes each recurrent layer as one operator (`lstmlab.modules.onnx_recurrent`); the dynamo exporter's graph of the
same BiLSTM failed on a second shape in torch 2.13). That exporter is deprecated since torch 2.9 but shipped through
2.14, the newest torch pyproject.toml admits; tests/export/test_onnx_export.py pins what this relies on.

Text work (tokenizing, lookup, padding) and decoding stay outside, in numpy, shared with PyTorch's path: the graph
reads padded id arrays, as the network does.

- tagger: words, chars, mask -> emissions [B, T, tags]; the argmax or the CRF's Viterbi (its parameters in the
  manifest) runs in numpy (`lstmlab.runtime.viterbi`)
- nli (a sentence encoder): words, mask -> vectors [B, dim], the OOV policy inside the graph
- bilm (ELMo): chars, mask -> layers [L, B, T, dim], the sentence boundary token inside the graph
- classifier: words, mask -> scores [B, classes]
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import torch
from torch import nn

from lstmlab.io.model_errors import ModelFileError
from lstmlab.models.bilm import BiLanguageModel
from lstmlab.models.bilstm_tagger import BiLSTMTagger
from lstmlab.models.nli_classifier import NLIClassifier
from lstmlab.models.sequence_classifier import SequenceClassifier
from lstmlab.modules.recurrent_cells import UnrolledRecurrentLayer

OPSET = 17
AXES = {"words": {0: "batch", 1: "steps"}, "mask": {0: "batch", 1: "steps"},
        "chars": {0: "batch", 1: "steps", 2: "word_length"}, "emissions": {0: "batch", 1: "steps"},
        "vectors": {0: "batch"}, "scores": {0: "batch"}, "layers": {1: "batch", 2: "steps"}}


class ExportRefused(ModelFileError):
    """A model that has no faithful ONNX graph (an LSTM variant run step by step), or whose int8 graph misses the
    accuracy it must keep."""


@dataclass
class OnnxGraph:
    module: nn.Module  # forward(*inputs) in the order of `inputs`
    inputs: dict[str, torch.Tensor]  # example inputs, for tracing
    outputs: tuple[str, ...]
    manifest: dict = field(default_factory=dict)  # what the runtime needs beside the graph (a CRF's parameters)


class _Call(nn.Module):
    """A network's method as a module's forward, for tracing."""

    def __init__(self, net: nn.Module, method: str) -> None:
        super().__init__()
        self.net = net
        self.method = method

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        return getattr(self.net, self.method)(*inputs)


def example_inputs(num_words: int, num_chars: int, names: tuple[str, ...], min_chars: int = 1
                   ) -> dict[str, torch.Tensor]:
    """A padded batch of three sentences of 7, 4 and 1 words (ids drawn from the vocabularies) for tracing."""
    generator = torch.Generator().manual_seed(0)
    mask = torch.arange(7).expand(3, 7) < torch.tensor([[7], [4], [1]])
    words = torch.randint(2, max(num_words, 3), (3, 7), generator=generator).masked_fill(~mask, 0)
    chars = torch.randint(1, max(num_chars, 2), (3, 7, max(6, min_chars)), generator=generator)
    chars = chars.masked_fill(~mask.unsqueeze(2), 0)
    chars[:, :, 4:] = 0  # words of 4 characters, padded to the width
    examples = {"words": words, "chars": chars, "mask": mask}
    return {name: examples[name] for name in names}


def refuse_step_by_step(net: nn.Module, kind: str) -> None:
    """LSTM variants (peephole connections, coupled gates) run one step at a time in Python: ONNX's LSTM has neither,
    and a traced loop would fix the sentence length. Refused in one line."""
    if any(isinstance(module, UnrolledRecurrentLayer) for module in net.modules()):
        raise ExportRefused(f"this {kind} model's recurrent layers are an LSTM variant (peephole connections or "
                            "coupled gates) run step by step, which ONNX's LSTM operator does not compute: export "
                            "refused; a model with cell=lstm, gru or rnn and no variant exports")


def tagger_graph(net: nn.Module, words: int, chars: int) -> OnnxGraph:
    crf = None if net.crf is None else {"transitions": net.crf.transitions.tolist(),
                                        "start": net.crf.start.tolist(), "end": net.crf.end.tolist()}
    return OnnxGraph(net, example_inputs(words, chars, ("words", "chars", "mask")), ("emissions",),
                     {"crf": crf} if crf else {})


def encoder_graph(net: nn.Module, words: int, chars: int) -> OnnxGraph:
    return OnnxGraph(_Call(net, "embed"), example_inputs(words, chars, ("words", "mask")), ("vectors",),
                     {"dim": net.embedding_dim})


def elmo_graph(net: nn.Module, words: int, chars: int) -> OnnxGraph:
    inputs = example_inputs(words, net.config.num_chars, ("chars", "mask"), len(net.config.boundary_chars))
    return OnnxGraph(_Call(net, "sentence_layers"), inputs, ("layers",),
                     {"dim": net.output_dim, "num_layers": net.num_output_layers})


def classifier_graph(net: nn.Module, words: int, chars: int) -> OnnxGraph:
    return OnnxGraph(net, example_inputs(words, chars, ("words", "mask")), ("scores",),
                     {"num_classes": net.config.num_classes})


GRAPHS = {BiLSTMTagger.kind: tagger_graph, NLIClassifier.kind: encoder_graph, BiLanguageModel.kind: elmo_graph,
          SequenceClassifier.kind: classifier_graph}


def graph_for(kind: str, net: nn.Module, vocabs_sizes: tuple[int, int]) -> OnnxGraph:
    """The graph of a network of model `kind`; vocabs_sizes: (words, characters)."""
    if kind not in GRAPHS:
        raise ExportRefused(f"a {kind!r} model has no ONNX graph in this lstmlab")
    refuse_step_by_step(net, kind)
    return GRAPHS[kind](net, *vocabs_sizes)


def graph_bytes(graph: OnnxGraph) -> bytes:
    """The traced graph as an ONNX model (fp32), dynamic in batch, length and word width."""
    import io

    buffer = io.BytesIO()
    names = list(graph.inputs)
    # ONNX has no unique over rows: a biLM's character CNN reads every position while tracing (the same result)
    bilms = [module for module in graph.module.modules() if hasattr(module, "distinct_words")]
    for module in bilms:
        module.distinct_words = False
    try:
        with torch.no_grad(), warnings.catch_warnings():
            # its warning on LSTMs exported at batch > 1 concerns initial states given as inputs; these graphs take
            # none (zeros), and are checked at other batch sizes and lengths before they are written
            warnings.filterwarnings("ignore", message="Exporting a model to ONNX with a batch_size other than 1")
            # nn.LSTM's own shape checks, constant for a given network: the tracer's warnings on them are noise
            warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
            torch.onnx.export(graph.module.eval(), tuple(graph.inputs.values()), buffer, input_names=names,
                              output_names=list(graph.outputs), opset_version=OPSET, dynamo=False,
                              dynamic_axes={name: AXES[name] for name in (*names, *graph.outputs)})
    finally:
        for module in bilms:
            module.distinct_words = True
    return without_unused_weights(buffer.getvalue())


def without_unused_weights(graph: bytes) -> bytes:
    """The graph without initializers no node reads: the recurrent layers' weights in PyTorch's gate order, which
    the exporter keeps beside the reordered copies it folded (`lstmlab.modules.onnx_recurrent`)."""
    import onnx

    model = onnx.load_from_string(graph)
    used = {name for node in model.graph.node for name in node.input}
    kept = [tensor for tensor in model.graph.initializer if tensor.name in used]
    del model.graph.initializer[:]
    model.graph.initializer.extend(kept)
    return model.SerializeToString()
