"""The unrolled recurrent cells (LSTM variants, per-step gradients) against the fused `nn.LSTM` (oneDNN on CPU,
cuDNN on GPU), training step = forward + backward, and the ways to make a step-by-step loop faster: eager
PyTorch (what lstmlab runs), the same loop compiled by TorchScript, and `torch.compile` of one step. Prints a
Markdown table headed by the CPU and the date.

    python bench/cell_speed.py            # about 2 minutes on 2 cores
    python bench/cell_speed.py --quick    # fewer repetitions

Times are medians over alternating rounds, so a busy machine slows every variant alike; compare ratios.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from datetime import date

import torch
from cpu_kernels import compare, ms
from torch import nn

from lstmlab.modules.recurrent_cells import CellOptions, UnrolledRecurrentLayer, fused_layer
from lstmlab.utils.cpu import describe_cpu


@torch.jit.script
def scripted_lstm(inputs: torch.Tensor, weight_hh: torch.Tensor, bias_hh: torch.Tensor, h: torch.Tensor,
                  c: torch.Tensor) -> torch.Tensor:
    """The plain LSTM loop of `UnrolledRecurrentLayer`, compiled by TorchScript (no Python between steps)."""
    outputs: list[torch.Tensor] = []
    for t in range(inputs.shape[1]):
        gates = inputs[:, t] + torch.nn.functional.linear(h, weight_hh, bias_hh)
        i, f, g, o = gates.chunk(4, 1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        outputs.append(h)
    return torch.stack(outputs, 1)


def training_step(forward: Callable[[torch.Tensor], torch.Tensor], module: nn.Module,
                  x: torch.Tensor) -> Callable[[], None]:
    def step() -> None:
        module.zero_grad(set_to_none=True)
        forward(x).sum().backward()

    return step


def variants(hidden: int, batch: int, steps: int) -> tuple[dict[str, Callable[[], None]], float]:
    """The training steps to compare, and torch.compile's compile time (seconds)."""
    torch.manual_seed(0)
    x = torch.randn(batch, steps, hidden)
    fused = fused_layer(hidden, hidden, "lstm")
    unrolled = UnrolledRecurrentLayer(hidden, hidden, CellOptions("lstm"))
    unrolled.load_state_dict(fused.state_dict())
    peephole = UnrolledRecurrentLayer(hidden, hidden, CellOptions("lstm", peephole=True))
    coupled = UnrolledRecurrentLayer(hidden, hidden, CellOptions("lstm", coupled_gates=True))
    compiled = UnrolledRecurrentLayer(hidden, hidden, CellOptions("lstm"))
    compiled.lstm_step = torch.compile(compiled.lstm_step, dynamic=False)

    def script(inputs: torch.Tensor) -> torch.Tensor:
        zeros = inputs.new_zeros(inputs.shape[0], hidden)
        projected = nn.functional.linear(inputs, unrolled.weight_ih_l0, unrolled.bias_ih_l0)
        return scripted_lstm(projected, unrolled.weight_hh_l0, unrolled.bias_hh_l0, zeros, zeros)

    started = time.perf_counter()
    training_step(lambda inputs: compiled(inputs)[0], compiled, x)()  # first call compiles
    compile_seconds = time.perf_counter() - started
    return {
        "nn.LSTM (fused)": training_step(lambda inputs: fused(inputs)[0], fused, x),
        "unrolled, eager": training_step(lambda inputs: unrolled(inputs)[0], unrolled, x),
        "unrolled, TorchScript loop": training_step(script, unrolled, x),
        "unrolled, torch.compile step": training_step(lambda inputs: compiled(inputs)[0], compiled, x),
        "peephole, eager": training_step(lambda inputs: peephole(inputs)[0], peephole, x),
        "coupled gates, eager": training_step(lambda inputs: coupled(inputs)[0], coupled, x),
    }, compile_seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    reps = 5 if args.quick else 15
    print(f"{describe_cpu()}; {args.threads} threads; {date.today()}\n")
    print("| LSTM layer, batch x steps x hidden | variant | training step | vs nn.LSTM |")
    print("|---|---|---:|---:|")
    for hidden, batch, steps in ((64, 64, 100), (256, 32, 50)):
        steps_to_time, compile_seconds = variants(hidden, batch, steps)
        times = compare(steps_to_time, reps)
        reference = times["nn.LSTM (fused)"]
        for name, seconds in times.items():
            extra = f" (compiling took {compile_seconds:.0f} s)" if "compile" in name else ""
            print(f"| {batch} x {steps} x {hidden} | {name}{extra} | {ms(seconds)} | {seconds / reference:.2f}x |")


if __name__ == "__main__":
    main()
