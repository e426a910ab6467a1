"""One layer of `MaskedRNN` as one ONNX recurrent operator, for the ONNX export: `LSTM` / `GRU` / `RNN` with
`sequence_lens`, bidirectional where the layer is.

ONNX's recurrent operators read each sequence within its own length in both directions, which is exactly what
`MaskedRNN` computes with its reversals within length. Traced as it runs in PyTorch, a layer becomes two
one-directional operators plus the gathers, transposes and concatenations of those reversals, a large share of the
graph's time in ONNX Runtime at batch 64 (docs/benchmarks.md, "Deployment"). Here the
layer is an `autograd.Function` whose `symbolic` (torch.onnx's documented hook for a custom operator) writes the one
operator, PyTorch's weights put in ONNX's gate order; its `forward`, which tracing runs, computes the layer as
`MaskedRNN` does, from the same weights.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

OPERATORS = {"lstm": "LSTM", "gru": "GRU", "rnn": "RNN"}
# PyTorch's gate blocks in ONNX's order (LSTM: i f g o -> i o f c; GRU: r z n -> z r h)
ONNX_GATE_ORDER = {"LSTM": (0, 3, 1, 2), "GRU": (1, 0, 2), "RNN": (0,)}
LAYER_TYPES = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}
WEIGHT_NAMES = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")


def layer_weights(layers: list[nn.RNNBase]) -> list[torch.Tensor]:
    """The weights `OnnxRecurrentLayer.apply` takes: each direction's input, recurrent and both bias tensors."""
    return [getattr(layer, name) for layer in layers for name in WEIGHT_NAMES]


def _layers_from(cell: str, weights: tuple[torch.Tensor, ...]) -> list[nn.RNNBase]:
    """One-directional layers holding `weights` (4 per direction), to compute with while an export traces."""
    layers = []
    for start in range(0, len(weights), 4):
        w_ih, w_hh = weights[start], weights[start + 1]
        layer = LAYER_TYPES[cell](int(w_ih.shape[1]), int(w_hh.shape[1]), batch_first=True)
        with torch.no_grad():
            for name, tensor in zip(WEIGHT_NAMES, weights[start : start + 4], strict=True):
                getattr(layer, name).copy_(tensor)
        layers.append(layer)
    return layers


def _onnx_order(g, tensor, operator: str, rows: int):  # noqa: ANN001, ANN202 - torch.onnx's graph values
    """A weight's gate blocks (of `rows` rows each) in ONNX's order: slices and a concatenation of an initializer,
    which the exporter folds into one (so that ONNX Runtime's quantizer finds the operator's weights)."""
    order = ONNX_GATE_ORDER[operator]
    if len(order) == 1:
        return tensor
    def constant(value: int):  # noqa: ANN202
        return g.op("Constant", value_t=torch.tensor([value]))

    blocks = [g.op("Slice", tensor, constant(i * rows), constant((i + 1) * rows), constant(0)) for i in order]
    return g.op("Concat", *blocks, axis_i=0)


class OnnxRecurrentLayer(torch.autograd.Function):
    """apply(x [B, T, I], lengths [B], cell, run_layer, *weights) -> [B, T, D*H] (D directions: 4 weights each).
    `run_layer(layers, x, lengths)` computes the layer in PyTorch (`MaskedRNN`'s way)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, lengths: torch.Tensor, cell: str,
                run_layer: Callable[[list[nn.RNNBase], torch.Tensor, torch.Tensor], torch.Tensor],
                *weights: torch.Tensor) -> torch.Tensor:
        return run_layer(_layers_from(cell, weights), x, lengths)

    @staticmethod
    def symbolic(g, x, lengths, cell: str, run_layer, *weights):  # noqa: ANN001, ANN205 - torch.onnx's graph values
        operator = OPERATORS[cell]
        directions = len(weights) // 4
        hidden = weights[1].type().sizes()[1]
        unsqueeze_axes = g.op("Constant", value_t=torch.tensor([0]))
        stacked = []
        for part in range(2):  # W [D, G*H, I], R [D, G*H, H]
            stacked.append(g.op("Concat", *(g.op("Unsqueeze", _onnx_order(g, weights[4 * d + part], operator, hidden),
                                                 unsqueeze_axes) for d in range(directions)), axis_i=0))
        biases = g.op("Concat", *(g.op("Unsqueeze", g.op("Concat", _onnx_order(g, weights[4 * d + 2], operator, hidden),
                                                         _onnx_order(g, weights[4 * d + 3], operator, hidden),
                                                         axis_i=0),
                                       unsqueeze_axes) for d in range(directions)), axis_i=0)
        options = {"hidden_size_i": hidden, "direction_s": "bidirectional" if directions == 2 else "forward"}
        if operator == "GRU":
            options["linear_before_reset_i"] = 1  # PyTorch's GRU applies the reset gate after the product
        sequence = g.op("Transpose", x, perm_i=[1, 0, 2])  # [T, B, I]
        lengths32 = g.op("Cast", lengths, to_i=6)  # INT32
        states = g.op(operator, sequence, *stacked, biases, lengths32, outputs=2, **options)[0]  # [T, D, B, H]
        states = g.op("Transpose", states, perm_i=[2, 0, 1, 3])  # [B, T, D, H]
        return g.op("Reshape", states, g.op("Constant", value_t=torch.tensor([0, 0, -1])))
