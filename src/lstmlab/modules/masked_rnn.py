"""A multi-layer, uni- or bidirectional recurrent encoder over padded batches whose outputs do not depend on the
padding; any cell of `recurrent_cells` (tanh RNN, GRU, LSTM, LSTM variants).

cuDNN/oneDNN's bidirectional layers run the backward direction from the end of the padded row, so a sentence's
states change with the batch it is in. Here the backward direction reads each sentence reversed within its own
length (padding stays at the end), which costs nothing measurable and makes results batch-independent.
Every layer's output is zero at padding positions, so whatever reads it (pooling, the next layer, a CRF) sees no
trace of the padding. No packing: padded batches beat packed sequences on CPU (docs/cpu_facts.md). Plain cells
run the fused `nn.RNN` / `nn.GRU` / `nn.LSTM`; the LSTM variants, or any cell with `unrolled=True` (to read
per-step gradients), run step by step with the same parameter names, so weights move between the two.
"""

from __future__ import annotations

import torch
from torch import nn

from lstmlab.modules.dropout import Dropout
from lstmlab.modules.onnx_recurrent import OnnxRecurrentLayer, layer_weights
from lstmlab.modules.recurrent_cells import CellOptions, UnrolledRecurrentLayer, chrono_init_, fused_layer

LayerOutputs = torch.Tensor | list[torch.Tensor]  # the top layer, or every layer with return_all_layers


def reverse_within_length(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Reverse x[b, :lengths[b]] for each row b of a [B, T, ...] tensor; padding positions stay in place."""
    steps = torch.arange(x.shape[1], device=x.device).unsqueeze(0)  # [1, T]
    lengths = lengths.unsqueeze(1)
    index = torch.where(steps < lengths, lengths - 1 - steps, steps)  # [B, T]
    index = index.view(*index.shape, *([1] * (x.dim() - 2))).expand_as(x)
    return x.gather(1, index)


def run_layer(layers: list[nn.Module], x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """One layer (its forward direction, and its backward one if given) over x [B, T, I]: [B, T, D], both
    directions reading each sentence within its length."""
    states = layers[0](x)[0]
    if len(layers) == 2:
        backward_states = layers[1](reverse_within_length(x, lengths))[0]
        states = torch.cat([states, reverse_within_length(backward_states, lengths)], dim=-1)
    return states


class MaskedRNN(nn.Module):
    """x [B, T, I], mask [B, T] (True on real steps, a prefix of each row) -> [B, T, D] of the top layer (D = H,
    or 2H when bidirectional), or every layer's output with `return_all_layers` (ELMo-style features); zero where
    mask is False.

    `return_final` adds the top layer's final state [B, D]: the forward state at the last real step (and the
    backward state at the first), i.e. each direction after reading the whole sequence, not at the padding;
    zeros for a row with no real step."""

    def __init__(
        self, input_size: int, hidden_size: int, num_layers: int = 1, dropout: float = 0.0, cell: str = "lstm",
        bidirectional: bool = True, peephole: bool = False, coupled_gates: bool = False, unrolled: bool = False,
        chrono_init: int | None = None,
    ) -> None:
        super().__init__()
        self.options = CellOptions(cell, peephole, coupled_gates, chrono_init)
        self.unrolled = unrolled or self.options.is_variant
        directions = 2 if bidirectional else 1
        self.forward_layers = nn.ModuleList()
        self.backward_layers = nn.ModuleList()
        for layer in range(num_layers):
            size = input_size if layer == 0 else directions * hidden_size
            for layers in (self.forward_layers, self.backward_layers)[:directions]:
                layers.append(UnrolledRecurrentLayer(size, hidden_size, self.options) if self.unrolled
                              else fused_layer(size, hidden_size, cell))
                if chrono_init is not None:
                    chrono_init_(layers[-1], self.options)
        self.dropout = Dropout(dropout)
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bidirectional = bidirectional
        self.output_dim = directions * hidden_size

    def unrolled_copy(self) -> MaskedRNN:
        """The same encoder with the same weights, run step by step, so that each step's state can be read."""
        copy = MaskedRNN(self.input_size, self.hidden_size, len(self.forward_layers), self.dropout.p,
                         self.options.cell, self.bidirectional, self.options.peephole, self.options.coupled_gates,
                         unrolled=True, chrono_init=self.options.chrono_init)
        copy.load_state_dict(self.state_dict())
        return copy.train(self.training)

    def forward(
        self, x: torch.Tensor, mask: torch.Tensor, return_all_layers: bool = False, return_final: bool = False
    ) -> LayerOutputs | tuple[LayerOutputs, torch.Tensor]:
        lengths = mask.sum(dim=1)
        padding = ~mask.unsqueeze(2)  # [B, T, 1]
        outputs = []
        for index in range(len(self.forward_layers)):
            if index > 0:
                x = self.dropout(x)
            layers = [self.forward_layers[index], *self.backward_layers[index : index + 1]]
            if torch.onnx.is_in_onnx_export() and not self.unrolled:  # one ONNX operator per layer
                states = OnnxRecurrentLayer.apply(x, lengths, self.options.cell, run_layer, *layer_weights(layers))
            else:
                states = run_layer(layers, x, lengths)
            x = states.masked_fill(padding, 0.0)  # a small share of a training step
            outputs.append(x)
        result = outputs if return_all_layers else x
        if not return_final:
            return result
        rows = torch.arange(x.shape[0], device=x.device)
        final = x[rows, (lengths - 1).clamp_min(0), : self.hidden_size]
        if self.bidirectional:
            final = torch.cat([final, x[:, 0, self.hidden_size :]], dim=-1)
        return result, final
