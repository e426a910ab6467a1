"""Bidirectional LM training throughput: Lightning (`LanguageModelTask` + `L.Trainer`) against a plain PyTorch loop
of the same network (conf/model/bilm_small.yaml: Kim et al.'s small char-aware LM per direction, full softmax; SGD
at lr 1, clipping at norm 5) on the same windows of the data module's train loader (20 rows x 35 tokens), in fp32
and, where oneDNN has a bf16 LSTM, in bf16-mixed. Target: Lightning at >= 0.9x the plain loop; any less is
overhead worth finding. Prints a Markdown table headed by the CPU and the load average.

The plain loop does per window what the task does: each distinct word of the window through the character CNN
once, both LMs from the state the previous window left (detached; zeros at window 0), the row-sum loss
((mean forward NLL + mean backward NLL) x 35), backward, clip, SGD step; no metrics, no logging. Both variants start
from the same weights (seeded) and run in this process as in bench/nli_throughput.py: alternating in rounds
(ABBA), each round a short fit from window 0 (the first window untimed), figures medians over rounds, after an
untimed plain pass that builds oneDNN's primitives. Tokens/s counts each token of text once (both LMs read it).

Data: PTB train (`--data ptb`, the default; not bundled: $LSTMLAB_DATA_DIR/ptb_lm/ptb.train.txt) or the bundled
inaugural addresses (`--data inaugural`: raw text, rule tokenizer, words seen twice or more, as conf/data/lm_text).

    python bench/bilm_throughput.py                                # PTB, 3 rounds of 20 timed windows
    python bench/bilm_throughput.py --data inaugural --threads 1 --save
"""

from __future__ import annotations

import argparse
import json
import os
import time
from datetime import date
from pathlib import Path

import torch
from hydra.utils import instantiate
from nli_throughput import NO_BF16, SKIPPED, load_average, measure_variants, quiet_rounds, rate, round_batches
from omegaconf import OmegaConf

from lstmlab.data.lm_batches import DIRECTIONS
from lstmlab.data.lm_datamodule import LanguageModelDataModule
from lstmlab.models.bilm import BiLanguageModel
from lstmlab.modules.recurrent_stack import LayerState, detach_state
from lstmlab.tasks.language_model import LanguageModelTask
from lstmlab.utils.cpu import bf16_lstm_supported, describe_cpu

ROOT = Path(__file__).resolve().parents[1]
MODEL_CONFIG = ROOT / "conf" / "model" / "bilm_small.yaml"
ROWS, WINDOW = 20, 35  # conf/data/ptb_lm.yaml: batch_size, window
CLIP = 5.0


def ptb_file(name: str, otherwise: str) -> Path:
    """$LSTMLAB_DATA_DIR/ptb_lm/<name>, or a FileNotFoundError that says what to set, or `otherwise` to do."""
    folder = os.environ.get("LSTMLAB_DATA_DIR")
    if not folder:
        raise FileNotFoundError(f"PTB is not bundled (LDC license) and LSTMLAB_DATA_DIR is not set: point it at a "
                                f"folder holding ptb_lm/{name} (Mikolov's PTB language-modelling text), or {otherwise}")
    path = Path(folder) / "ptb_lm" / name
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: LSTMLAB_DATA_DIR must hold ptb_lm/{name} (Mikolov's PTB "
                                f"language-modelling text), or {otherwise}")
    return path


def build_datamodule(data: str) -> LanguageModelDataModule:
    """The train split as conf/data/ptb_lm.yaml (or lm_text.yaml) reads it, as 20 rows read 35 tokens at a time."""
    if data == "ptb":
        options = {"train_path": str(ptb_file("ptb.train.txt", "use --data inaugural (bundled text)")),
                   "tokenizer": "whitespace"}
    else:
        options = {"train_path": str(ROOT / "data/inaugural/train.txt.gz"), "tokenizer": "rule", "min_word_freq": 2}
    datamodule = LanguageModelDataModule(**options, window=WINDOW, batch_size=ROWS, lowercase=False,
                                         max_word_length=50)
    datamodule.setup("fit")
    return datamodule


def sgd(params) -> torch.optim.Optimizer:
    """The optimizer of conf/model/bilm_small.yaml (without its plateau schedule, which needs validation)."""
    return torch.optim.SGD(params, lr=1.0)


def build_task(datamodule: LanguageModelDataModule) -> LanguageModelTask:
    """The same initial weights on every call (seeded), so both variants train the same network."""
    torch.manual_seed(0)
    return LanguageModelTask.build(datamodule, instantiate(OmegaConf.load(MODEL_CONFIG).net), optimizer=sgd)


def plain_round(net: BiLanguageModel, datamodule: LanguageModelDataModule, steps: int, bf16: bool) -> float:
    """Seconds for windows SKIPPED.. of `steps` training steps, each the task's training step written out."""
    optimizer = sgd(net.parameters())
    net.train()
    states: dict[str, list[LayerState]] = {}  # a new pass over the text starts from zeros
    started = 0.0
    for index, batch in enumerate(datamodule.train_dataloader()):
        if index == SKIPPED:
            started = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            words = net.embed_tokens(batch["chars"])
            means = []
            for direction in DIRECTIONS:
                layers, final = net.run_direction(direction, words[batch[f"{direction}_tokens"]], states.get(direction))
                states[direction] = detach_state(final)
                means.append(net.token_nll(layers[-1], batch[f"{direction}_targets"]).mean())
            loss = (means[0] + means[1]) * batch["forward_targets"].shape[1]  # row_sum: per-row sums, averaged
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), CLIP)
        optimizer.step()
        if index + 1 == steps:
            break
    return time.perf_counter() - started


def measure(datamodule: LanguageModelDataModule, steps: int, rounds: int, bf16: bool) -> dict[str, float]:
    """Median tokens/s of each variant and the median of the rounds' Lightning/plain ratios."""
    tokens = sum(b["num_tokens"] for b in round_batches(datamodule, steps)[SKIPPED:])
    return measure_variants(lambda: build_task(datamodule), plain_round, datamodule, steps, rounds, bf16, tokens)


def describe_network(net: BiLanguageModel) -> str:
    config = net.config
    filters = sum(count for _, count in config.char_filters)
    return (f"char CNN of {filters} filters ({config.char_activation}), {config.highway_layers} highway, "
            f"{config.num_layers} LSTM layers of {config.hidden_size} per direction, dropout {config.dropout}, "
            f"{config.softmax} softmax over {config.num_words:,} words")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", choices=("ptb", "inaugural"), default="ptb",
                        help="PTB train from $LSTMLAB_DATA_DIR (default) or the bundled inaugural addresses")
    parser.add_argument("--batches", type=int, default=20, help="timed windows per round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per variant; figures are medians over rounds")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's choice, one per core)")
    parser.add_argument("--save", action="store_true",
                        help="also write bench/results/bilm_throughput_<data>.json and .md")
    args = parser.parse_args()
    quiet_rounds(args.threads)
    load_before, started = load_average(), time.perf_counter()

    try:
        datamodule = build_datamodule(args.data)
    except FileNotFoundError as error:
        parser.error(str(error))
    steps = min(SKIPPED + args.batches, len(datamodule.train_dataloader()))  # one pass at most: no second epoch
    precisions = ["fp32", "bf16-mixed"] if bf16_lstm_supported() else ["fp32"]
    results = {p: measure(datamodule, steps, args.rounds, p != "fp32") for p in precisions}
    rows = []
    for precision, result in results.items():
        speedup = result["plain"] / results["fp32"]["plain"]
        rows.append({"precision": precision, "timed_windows": steps - SKIPPED, **result, "bf16_speedup": speedup})
    network = describe_network(build_task(datamodule).net)

    lines = [f"BiLM training, {network}; SGD lr 1, clip 5, loss row_sum; {args.data} train, {ROWS} rows x "
             f"{WINDOW} tokens; {args.rounds} rounds per variant; {date.today()}; "
             f"{time.perf_counter() - started:.0f} s in all",
             f"CPU: {describe_cpu()}",
             f"load average (1/5/15 min): {load_before} at start, {load_average()} at end", "",
             "| precision | timed windows | plain loop tokens/s | Lightning tokens/s | Lightning / plain "
             "| plain vs fp32 |", "|---|---:|---:|---:|---:|---:|"]
    for row in rows:
        lines.append(f"| {row['precision']} | {row['timed_windows']} x {args.rounds} | {rate(row['plain'])} | "
                     f"{rate(row['lightning'])} | {row['ratio']:.2f}x | {row['bf16_speedup']:.2f}x |")
    if len(precisions) == 1:
        lines.append(f"| bf16-mixed | {NO_BF16} | | | | |")
    print("\n" + "\n".join(lines))
    if args.save:
        out = ROOT / "bench" / "results"
        out.mkdir(exist_ok=True)
        name = f"bilm_throughput_{args.data}"
        (out / f"{name}.md").write_text("\n".join(lines) + "\n")
        (out / f"{name}.json").write_text(json.dumps(
            {"network": network, "data": args.data, "rows": rows, "rounds": args.rounds, "date": str(date.today()),
             "cpu": describe_cpu(), "load_average": [load_before, load_average()]}, indent=1))


if __name__ == "__main__":
    main()
