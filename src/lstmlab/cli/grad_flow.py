"""`lstmlab-grad-flow`: how much gradient reaches each step of one long sequence through backpropagation in time,
per recurrent cell: ||dL/dh_t|| for every step t, written as CSV and as a PNG on a log scale.

The tanh RNN's gradient shrinks geometrically with the distance from the loss (Hochreiter 1991; Bengio et al.
1994); the LSTM's cell state carries it back. The sequence is one of the long-memory task's (its loss is the
classifier's at the last step), for untrained networks of each cell (`--cells`) or trained long-memory models
(`--model`). The network runs unrolled (same weights), so each step's state is a tensor of the autograd graph.

    lstmlab-grad-flow --cells rnn,gru,lstm --lag 200 -o gradient_flow
    lstmlab-grad-flow --model logs/long_memory/runs/<rnn run> --model logs/long_memory/runs/<lstm run> -o trained
"""

from __future__ import annotations

import argparse
import copy
import csv
import sys
from pathlib import Path

import numpy as np
import torch

from lstmlab.cli.command import run_command
from lstmlab.data.classification.long_memory import generate_sequences, long_memory_vocabs
from lstmlab.models.sequence_classifier import ClassifierConfig, SequenceClassifier
from lstmlab.modules.masked_rnn import MaskedRNN
from lstmlab.modules.recurrent_cells import CELL_TYPES
from lstmlab.tasks import load_task
from lstmlab.utils.atomic_file import atomic_file
from lstmlab.utils.line_plot import line_plot

CELL_PRESETS = {**{cell: {"cell": cell} for cell in CELL_TYPES},
                "lstm_peephole": {"cell": "lstm", "peephole": True},
                "lstm_coupled": {"cell": "lstm", "coupled_gates": True}}


def unrolled(net: SequenceClassifier) -> tuple[SequenceClassifier, MaskedRNN]:
    """A copy of `net` whose recurrent encoder runs step by step, and that encoder (which records its steps)."""
    twin = copy.deepcopy(net).eval()
    for parent in list(twin.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, MaskedRNN):
                setattr(parent, name, child.unrolled_copy().eval())
    encoders = [module for module in twin.modules() if isinstance(module, MaskedRNN)]
    if not encoders:
        raise ValueError(f"{type(net).__name__} has no recurrent encoder")
    encoders[0].forward_layers[0].record_steps = True
    return twin.double(), encoders[0]  # float64: a vanished gradient reads 1e-60, not an underflowed 0


def step_gradient_norms(net: SequenceClassifier, words: torch.Tensor, labels: torch.Tensor) -> np.ndarray:
    """[T] mean over the sequences of ||dL/dh_t||, h_t the first layer's forward state at step t, L the
    cross-entropy of the classifier's answer (summed over the sequences, so each gets its own gradient)."""
    twin, encoder = unrolled(net)
    scores = twin(words, torch.ones_like(words, dtype=torch.bool))
    steps = encoder.forward_layers[0].recorded_steps
    for state in steps:
        state.retain_grad()
    torch.nn.functional.cross_entropy(scores.float(), labels, reduction="sum").backward()
    return np.array([state.grad.norm(dim=1).mean().item() for state in steps])


def untrained_network(preset: str, vocabs_size: int, classes: int, hidden_size: int, seed: int) -> SequenceClassifier:
    if preset not in CELL_PRESETS:
        raise ValueError(f"--cells: unknown cell {preset!r}; allowed values: {', '.join(CELL_PRESETS)}")
    torch.manual_seed(seed)
    return SequenceClassifier(ClassifierConfig(num_words=vocabs_size, num_classes=classes, word_dim=16,
                                               encoder="lstm", hidden_size=hidden_size, dropout=0.0,
                                               **CELL_PRESETS[preset]))


def trained_network(path: str) -> tuple[str, SequenceClassifier]:
    task = load_task(path)
    net = task.net
    if not isinstance(net, SequenceClassifier) or "m0" not in task.vocabs.words.stoi:
        raise ValueError(f"{path}: not a long-memory classifier (lstmlab-train experiment=long_memory)")
    config = net.config
    name = config.cell or "lstm"
    name += "_peephole" if config.peephole else ""
    name += "_coupled" if config.coupled_gates else ""
    return f"{name} ({Path(path).name})", net


def write_outputs(norms: dict[str, np.ndarray], prefix: Path) -> tuple[Path, Path]:
    """CSV (step, one column per network) and PNG, each written whole or not at all."""
    csv_path, png_path = prefix.with_suffix(".csv"), prefix.with_suffix(".png")
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    steps = len(next(iter(norms.values())))
    with atomic_file(csv_path) as temporary, temporary.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["step", *norms])
        for t in range(steps):
            writer.writerow([t + 1, *(f"{values[t]:.6g}" for values in norms.values())])
    with line_plot(png_path, "step t (the loss is at the last step)", "||dL/dh_t||",
                   "Gradient reaching each step (backpropagation through time)", log_y=True) as axis:
        for name, values in norms.items():
            axis.plot(np.arange(1, steps + 1), values, label=name)
    return csv_path, png_path


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="lstmlab-grad-flow", description=__doc__.split("\n\n")[0])
    parser.add_argument("--cells", default="", help="untrained networks of these cells, comma-separated: "
                                                    f"{','.join(CELL_PRESETS)}")
    parser.add_argument("--model", action="append", default=[], help="a trained long-memory run (repeatable)")
    parser.add_argument("--lag", type=int, default=100, help="irrelevant steps between memory and query")
    parser.add_argument("--sequences", type=int, default=1, help="average the norms over this many sequences")
    parser.add_argument("--hidden-size", type=int, default=64, help="untrained networks' hidden size")
    parser.add_argument("--seed", type=int, default=0, help="draws the sequence and the untrained weights")
    parser.add_argument("-o", "--output", default="gradient_flow", help="writes OUTPUT.csv and OUTPUT.png")
    args = parser.parse_args(argv)
    if not args.cells and not args.model:
        parser.error("name --cells, or one --model or more")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)

    def work() -> str:
        vocabs = long_memory_vocabs(num_symbols=4, num_noise_symbols=4, memory_length=2)
        symbols, labels = generate_sequences(args.sequences, args.lag, 2, 4, 4, seed=args.seed)
        words, targets = torch.from_numpy(symbols + 2), torch.from_numpy(labels)  # word id = symbol id + 2
        networks = {preset: untrained_network(preset, len(vocabs.words), len(vocabs.labels), args.hidden_size,
                                              args.seed) for preset in filter(None, args.cells.split(","))}
        networks.update(trained_network(path) for path in args.model)
        norms = {name: step_gradient_norms(net, words, targets) for name, net in networks.items()}
        csv_path, png_path = write_outputs(norms, Path(args.output))
        ratios = ", ".join(f"{name} {values[0] / values[-1]:.1e}" for name, values in norms.items())
        return f"wrote {csv_path} and {png_path}; ||dL/dh_1|| / ||dL/dh_T||: {ratios}"

    return run_command("lstmlab-grad-flow", work)


if __name__ == "__main__":
    sys.exit(main())
