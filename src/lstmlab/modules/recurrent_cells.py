"""Recurrent layers written out step by step: the tanh RNN, the GRU, the LSTM, and two LSTM variants.

Two reasons to unroll what `nn.RNN` / `nn.GRU` / `nn.LSTM` run as one fused kernel: the variants (peephole
connections, coupled input and forget gates) exist in no fused kernel, and a fused kernel's per-step states are
not tensors of the autograd graph, so the gradient reaching each step (backpropagation through time) cannot be
read from it. Parameters have `nn.LSTM`'s names, shapes and gate order, so a fused layer's weights load into an
unrolled one and, with the variants off, both compute the same function (tested to 1e-6).

- Peephole connections (Gers & Schmidhuber 2000): the input and forget gates also see C_{t-1}, the output gate
  sees C_t, each through a diagonal weight (one per cell).
- Coupled input and forget gates: C_t = f * C_{t-1} + (1 - f) * C~_t; there is no input gate, so the layer has
  three gate blocks (forget, candidate, output) where the LSTM has four (input, forget, candidate, output).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

CELL_TYPES = ("rnn", "gru", "lstm")

State = torch.Tensor | tuple[torch.Tensor, torch.Tensor]  # h [B, H] (rnn, gru) or (h, c) (lstm)


@dataclass(frozen=True)
class CellOptions:
    """Which recurrent cell; an unknown cell or a variant on a cell other than the LSTM is refused here."""

    cell: str = "lstm"  # one of CELL_TYPES: rnn (tanh), gru, lstm
    peephole: bool = False  # LSTM only: the gates also read the cell state (see the module docstring)
    coupled_gates: bool = False  # LSTM only: no input gate, 1 - forget gate in its place
    chrono_init: int | None = None  # gate biases for memories of up to this many steps (`chrono_init_`; rnn: none)

    def __post_init__(self) -> None:
        if self.cell not in CELL_TYPES:
            raise ValueError(f"cell: unknown cell {self.cell!r}; allowed values: {', '.join(CELL_TYPES)}")
        variants = [name for name in ("peephole", "coupled_gates") if getattr(self, name)]
        if variants and self.cell != "lstm":
            raise ValueError(f"{' and '.join(variants)}: LSTM variants, impossible with cell={self.cell!r}; "
                             f"allowed: cell=lstm, or {'=false, '.join(variants)}=false")
        if self.chrono_init is not None and self.chrono_init < 2:
            raise ValueError(f"chrono_init: the longest memory in steps, at least 2; got {self.chrono_init}")

    @property
    def is_variant(self) -> bool:
        """True where no fused kernel computes this cell."""
        return self.peephole or self.coupled_gates

    @property
    def gate_blocks(self) -> int:
        """Row blocks of the input and recurrent weights (nn.LSTM: 4, nn.GRU: 3, nn.RNN: 1)."""
        if self.cell == "lstm":
            return 3 if self.coupled_gates else 4
        return 3 if self.cell == "gru" else 1


@torch.no_grad()
def chrono_init_(layer: nn.Module, options: CellOptions) -> None:
    """Chrono initialisation (Tallec & Ollivier 2018) of a layer with nn.LSTM's / nn.GRU's parameter names: each
    unit's forget-gate bias log(u), u ~ U(1, T - 1) with T = `options.chrono_init`, so that at the start the units
    keep their state for 1 to T steps, and the input gate's bias -log(u). PyTorch's biases near 0 make the forget
    gate halve the state at every step: untrained, the gradient from 200 steps back is 1e-41 of the last step's, and
    an LSTM stays at chance on the long-memory task from a lag of 20 (docs/results.md). The GRU's update gate is its
    forget gate; the tanh RNN has no gates, so a sweep over cells leaves it as it is."""
    if options.cell == "rnn":
        return
    hidden = layer.hidden_size
    # row blocks: nn.GRU (reset, update, new); nn.LSTM (input, forget, cell, output); coupled (forget, cell, output)
    forget_block, input_block = (1, None) if options.cell == "gru" else (0, None) if options.coupled_gates else (1, 0)
    for name, bias_ih in layer.named_parameters():
        if not name.startswith("bias_ih"):
            continue
        bias_hh = getattr(layer, name.replace("bias_ih", "bias_hh"))
        keep = torch.log(torch.empty(hidden, device=bias_ih.device).uniform_(1, options.chrono_init - 1))
        for block, value in ((forget_block, keep), (input_block, -keep)):
            if block is not None:
                bias_ih[block * hidden : (block + 1) * hidden] = value
                bias_hh[block * hidden : (block + 1) * hidden] = 0


FUSED_LAYERS: dict[str, type[nn.RNNBase]] = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}  # cuDNN / oneDNN


def fused_layer(input_size: int, hidden_size: int, cell: str) -> nn.RNNBase:
    """One layer, one direction, of the fused (cuDNN / oneDNN) implementation."""
    return FUSED_LAYERS[cell](input_size, hidden_size, batch_first=True)


class UnrolledRecurrentLayer(nn.Module):
    """x [B, T, I] -> (h of every step [B, T, H], final state): one layer, one direction, one step at a time.
    The input projection of all steps is one matrix product; only the recurrent product runs per step."""

    def __init__(self, input_size: int, hidden_size: int, options: CellOptions = CellOptions()) -> None:
        super().__init__()
        self.options = options
        self.hidden_size = hidden_size
        blocks = options.gate_blocks * hidden_size
        self.weight_ih_l0 = nn.Parameter(torch.empty(blocks, input_size))
        self.weight_hh_l0 = nn.Parameter(torch.empty(blocks, hidden_size))
        self.bias_ih_l0 = nn.Parameter(torch.empty(blocks))
        self.bias_hh_l0 = nn.Parameter(torch.empty(blocks))
        # diagonal weights from the cell state to the input, forget and output gates (forget, output if coupled)
        gates_seeing_cell = 2 if options.coupled_gates else 3
        self.peephole_weights = nn.Parameter(torch.empty(gates_seeing_cell, hidden_size)) if options.peephole else None
        self.record_steps = False  # keep the last forward's per-step h in `recorded_steps` (gradient flow)
        self.recorded_steps: list[torch.Tensor] = []
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """nn.LSTM's initialisation: every weight uniform in +-1/sqrt(H)."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for weight in self.parameters():
            nn.init.uniform_(weight, -bound, bound)

    def initial_state(self, x: torch.Tensor) -> State:
        zeros = x.new_zeros(x.shape[0], self.hidden_size)
        return (zeros, zeros) if self.options.cell == "lstm" else zeros

    def forward(self, x: torch.Tensor, state: State | None = None) -> tuple[torch.Tensor, State]:
        steps, final = self.run_steps(x, state)
        if self.record_steps:
            self.recorded_steps = steps
        return torch.stack(steps, dim=1), final

    def run_steps(self, x: torch.Tensor, state: State | None = None) -> tuple[list[torch.Tensor], State]:
        """Each step's h as its own tensor of the autograd graph (so `retain_grad` on it gives dL/dh_t)."""
        inputs = F.linear(x, self.weight_ih_l0, self.bias_ih_l0)  # [B, T, blocks]
        state = self.initial_state(x) if state is None else state
        step = {"rnn": self.rnn_step, "gru": self.gru_step, "lstm": self.lstm_step}[self.options.cell]
        outputs = []
        for t in range(x.shape[1]):
            state = step(inputs[:, t], state)
            outputs.append(state[0] if isinstance(state, tuple) else state)
        return outputs, state

    def rnn_step(self, inputs: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        return torch.tanh(inputs + F.linear(h, self.weight_hh_l0, self.bias_hh_l0))

    def gru_step(self, inputs: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        x_reset, x_update, x_new = inputs.chunk(3, dim=1)
        h_reset, h_update, h_new = F.linear(h, self.weight_hh_l0, self.bias_hh_l0).chunk(3, dim=1)
        reset = torch.sigmoid(x_reset + h_reset)
        update = torch.sigmoid(x_update + h_update)
        new = torch.tanh(x_new + reset * h_new)
        return new + update * (h - new)  # (1 - z) * n + z * h

    def lstm_step(self, inputs: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, ...]:
        h, c = state
        gates = inputs + F.linear(h, self.weight_hh_l0, self.bias_hh_l0)
        peep = self.peephole_weights
        if self.options.coupled_gates:
            forget, candidate, output = gates.chunk(3, dim=1)
            if peep is not None:
                forget = forget + peep[0] * c
            forget = torch.sigmoid(forget)
            c = forget * c + (1.0 - forget) * torch.tanh(candidate)
        else:
            input_gate, forget, candidate, output = gates.chunk(4, dim=1)
            if peep is not None:
                input_gate = input_gate + peep[0] * c
                forget = forget + peep[1] * c
            c = torch.sigmoid(forget) * c + torch.sigmoid(input_gate) * torch.tanh(candidate)
        if peep is not None:
            output = output + peep[-1] * c  # the output gate sees the new cell state
        return torch.sigmoid(output) * torch.tanh(c), c
