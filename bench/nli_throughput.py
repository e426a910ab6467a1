"""NLI training throughput: Lightning (`NLITask` + `L.Trainer`) against a plain PyTorch loop of the same network
(BiLSTM-max, GloVe 50d subset, batch 64) on the same batches of the data module's bucketed train loader (SNLI dev),
in fp32 and, where oneDNN has a bf16 LSTM, in bf16-mixed. Target: Lightning at >= 0.9x the plain loop; any less is
overhead worth finding. Prints a Markdown table headed by the CPU and the load average.

Both variants run in this process, alternating in rounds (Lightning, plain, plain, Lightning, ...), so a machine
shared with other work slows both alike: each round is one short fit of the loader's first batches (the first
batch untimed: it creates the optimizer state), figures are medians over rounds, the ratio the median of the
rounds' ratios. An untimed plain pass first builds oneDNN's primitives for every batch shape, so neither variant
pays for them. H=2048 costs about 16x H=512 per batch, so it times fewer. The defaults took 4.5 minutes with
--threads 1 on 2 cores shared with other work (load average 3-4).

    python bench/nli_throughput.py                    # H=512 and H=2048, 3 rounds of 20 (512) and 2 (2048) batches
    python bench/nli_throughput.py --hidden 512 --threads 1 --save
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import os
import statistics
import time
import warnings
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import datasets
import lightning as L
import torch

from lstmlab.data.nli_datamodule import NLIDataModule
from lstmlab.models.nli_classifier import NLIClassifier
from lstmlab.tasks.nli import NLITask
from lstmlab.utils.cpu import bf16_lstm_supported, describe_cpu

ROOT = Path(__file__).resolve().parents[1]
SKIPPED = 1  # untimed batches at the start of each round: optimizer state, Lightning's first-step set-up
NO_BF16 = "n/a (this CPU has no bf16 LSTM in oneDNN)"
Batch = dict[str, torch.Tensor]


def load_average() -> str:
    return "/".join(f"{load:.2f}" for load in os.getloadavg())


def adam(params) -> torch.optim.Optimizer:
    """The optimizer of conf/model/nli.yaml."""
    return torch.optim.Adam(params, lr=1e-3, fused=True)


def build_task(datamodule: NLIDataModule, hidden: int) -> NLITask:
    """The same initial weights on every call (seeded), so both variants train the same network."""
    torch.manual_seed(0)
    return NLITask.build(datamodule, functools.partial(NLIClassifier.from_options, hidden_size=hidden),
                         optimizer=adam)


def round_batches(datamodule: NLIDataModule, count: int) -> list[Batch]:
    """The first `count` batches of the train loader: what each round's fit reads (epoch 0's order)."""
    loader = iter(datamodule.train_dataloader())
    return [next(loader) for _ in range(count)]


def plain_round(net: NLIClassifier, datamodule: NLIDataModule, steps: int, bf16: bool) -> float:
    """Seconds for batches SKIPPED.. of `steps` forward + backward + clip + Adam steps over the train loader."""
    optimizer = adam(net.parameters())
    net.train()
    started = 0.0
    for index, batch in enumerate(datamodule.train_dataloader()):
        if index == SKIPPED:
            started = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            scores = net(batch["premise_words"], batch["premise_mask"], batch["hypothesis_words"],
                         batch["hypothesis_mask"])
            loss = net.loss(scores, batch["labels"])
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 5.0)
        optimizer.step()
        if index + 1 == steps:
            break
    return time.perf_counter() - started


class _Timer(L.Callback):
    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if batch_idx == SKIPPED:
            self.started = time.perf_counter()

    def on_train_end(self, trainer, pl_module) -> None:
        self.seconds = time.perf_counter() - self.started


def lightning_round(task: L.LightningModule, datamodule: Any, steps: int, bf16: bool) -> float:
    """Seconds for the same steps through the task + Trainer (metrics, logging and gradient clipping included)."""
    timer = _Timer()
    trainer = L.Trainer(accelerator="cpu", devices=1, max_steps=steps, precision="bf16-mixed" if bf16 else "32-true",
                        gradient_clip_val=5.0, limit_val_batches=0, logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False, callbacks=[timer])
    trainer.fit(task, train_dataloaders=datamodule.train_dataloader())
    return timer.seconds


def compare(variants: dict[str, Callable[[], float]], rounds: int) -> dict[str, list[float]]:
    """Seconds per round of each variant, the order reversed every other round (ABBA) so drift favours neither."""
    seconds: dict[str, list[float]] = {name: [] for name in variants}
    for index in range(rounds):
        order = list(variants) if index % 2 == 0 else list(reversed(variants))
        for name in order:
            seconds[name].append(variants[name]())
    return seconds


def measure_variants(make_task: Callable[[], L.LightningModule], plain: Callable[..., float], datamodule: Any,
                     steps: int, rounds: int, bf16: bool, items: int) -> dict[str, float]:
    """Median items/s of Lightning (a task from `make_task`) and of the `plain` loop (on another, identically
    seeded network), and the median of the rounds' Lightning/plain ratios; `items` are what the timed steps read."""
    task = make_task()
    net = make_task().net
    plain(net, datamodule, steps, bf16)  # warm-up: oneDNN primitives for every batch shape
    seconds = compare({"lightning": lambda: lightning_round(task, datamodule, steps, bf16),
                       "plain": lambda: plain(net, datamodule, steps, bf16)}, rounds)
    ratios = [p / lt for lt, p in zip(seconds["lightning"], seconds["plain"], strict=True)]
    return {"plain": items / statistics.median(seconds["plain"]),
            "lightning": items / statistics.median(seconds["lightning"]), "ratio": statistics.median(ratios)}


def measure(datamodule: NLIDataModule, hidden: int, steps: int, rounds: int, bf16: bool) -> dict[str, float]:
    """Median pairs/s of each variant and the median of the rounds' Lightning/plain ratios."""
    pairs = sum(len(b["labels"]) for b in round_batches(datamodule, steps)[SKIPPED:])
    return measure_variants(lambda: build_task(datamodule, hidden), plain_round, datamodule, steps, rounds, bf16,
                            pairs)


def rate(pairs_per_second: float) -> str:
    return f"{pairs_per_second:,.0f}" if pairs_per_second >= 100 else f"{pairs_per_second:.1f}"


def timed_batches(hidden: int, batches: int) -> int:
    """`batches` at H=512, scaled by (512/H)^2 for other sizes (a step costs about H^2), at least 2."""
    return max(2, round(batches * (512 / hidden) ** 2))


def quiet_rounds(threads: int | None) -> None:
    """Set torch's threads (None: torch's choice) and silence what a Trainer per round would print every round."""
    if threads:
        torch.set_num_threads(threads)
    logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)
    for noise in (".*does not have many workers.*", ".*but have no `val_dataloader`.*", ".*LeafSpec.*"):
        warnings.filterwarnings("ignore", noise)
    datasets.disable_progress_bars()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hidden", type=int, nargs="+", default=[512, 2048], help="LSTM units per direction")
    parser.add_argument("--batches", type=int, default=20, help="timed batches per round at H=512 (scaled by "
                                                                  "(512/H)^2 for other sizes)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per variant; figures are medians over rounds")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's choice, one per core)")
    parser.add_argument("--save", action="store_true", help="also write bench/results/nli_throughput.json")
    args = parser.parse_args()
    quiet_rounds(args.threads)
    load_before, started = load_average(), time.perf_counter()

    datamodule = NLIDataModule(train_path=str(ROOT / "data/snli/snli_1.0_dev.tok.jsonl.gz"), tokenizer="whitespace",
                               vectors={"path": str(ROOT / "data/glove/glove.6B.50d.subset.txt.gz")}, batch_size=64)
    datamodule.setup("fit")
    precisions = ["fp32", "bf16-mixed"] if bf16_lstm_supported() else ["fp32"]
    rows = []
    for hidden in args.hidden:
        steps = SKIPPED + timed_batches(hidden, args.batches)
        batches = round_batches(datamodule, steps)[SKIPPED:]
        padding = 1 - sum(b["num_tokens"] for b in batches) / sum(b["num_positions"] for b in batches)
        results = {p: measure(datamodule, hidden, steps, args.rounds, p != "fp32") for p in precisions}
        for precision, result in results.items():
            speedup = f"{result['plain'] / results['fp32']['plain']:.2f}x" if precision != "fp32" else "1.00x"
            rows.append({"hidden": hidden, "precision": precision, "timed_batches": steps - SKIPPED,
                         "padding": padding, **result, "bf16_speedup": speedup})
        if len(precisions) == 1:
            rows.append({"hidden": hidden, "precision": "bf16-mixed", "timed_batches": steps - SKIPPED,
                         "padding": padding, "plain": None})

    print(f"\nNLI training, BiLSTM-max + MLP, GloVe 50d subset (frozen), batch 64, SNLI dev bucketed train loader; "
          f"{args.rounds} rounds per variant; {date.today()}; {time.perf_counter() - started:.0f} s in all")
    print(f"CPU: {describe_cpu()}\nload average (1/5/15 min): {load_before} at start, {load_average()} at end\n")
    print("| H | precision | timed batches | padding | plain loop pairs/s | Lightning pairs/s | Lightning / plain "
          "| plain vs fp32 |\n|---:|---|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        cells = ((rate(row["plain"]), rate(row["lightning"]), f"{row['ratio']:.2f}x", row["bf16_speedup"])
                 if row["plain"] is not None else (NO_BF16, "", "", ""))
        print(f"| {row['hidden']} | {row['precision']} | {row['timed_batches']} x {args.rounds} | "
              f"{100 * row['padding']:.1f}% | " + " | ".join(cells) + " |")
    if args.save:
        out = ROOT / "bench" / "results"
        out.mkdir(exist_ok=True)
        (out / "nli_throughput.json").write_text(json.dumps(
            {"rows": rows, "rounds": args.rounds, "date": str(date.today()), "cpu": describe_cpu(),
             "load_average": [load_before, load_average()]}, indent=1))


if __name__ == "__main__":
    main()
