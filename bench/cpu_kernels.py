"""The CPU facts lstmlab's design relies on, measured on this machine: padded vs packed BiLSTM, fp32 vs bf16
autocast, nn.Dropout vs rand_like dropout, glibc malloc defaults vs MALLOC_* settings, Adam vs fused Adam.
Prints a Markdown table headed by the CPU (`describe_cpu()`) and the date; docs/cpu_facts.md records a run.

    python bench/cpu_kernels.py           # about 2-3 minutes on 2 cores
    python bench/cpu_kernels.py --quick   # fewer repetitions: about a minute, rougher figures
    python bench/cpu_kernels.py --threads 1   # on a busy machine: 2 OpenMP threads on 2 busy cores stall each other

Runs on any x86-64 CPU: where oneDNN has no bf16 LSTM (AVX2-only CPUs such as AMD Zen 3) the bf16 row reads n/a.
Each comparison alternates its variants, so a machine shared with other work slows both alike; times are medians.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import date

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from lstmlab.utils.cpu import bf16_lstm_supported, describe_cpu

NO_BF16 = "n/a (this CPU has no bf16 LSTM in oneDNN)"
TUNED_MALLOC = {"MALLOC_MMAP_MAX_": "0", "MALLOC_TRIM_THRESHOLD_": "100000000000"}  # as in the Makefile
TAGGER_INPUT = 100  # 50-d GloVe + 50 char-CNN filters, the input of conf/model/tagger.yaml's BiLSTM


def compare(variants: dict[str, Callable[[], object]], reps: int, inner: int = 1) -> dict[str, float]:
    """Median seconds per call of each variant; variants take turns (blocks of `inner` calls) after one warm-up."""
    for fn in variants.values():
        fn()
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(reps):
        for name, fn in variants.items():
            started = time.perf_counter()
            for _ in range(inner):
                fn()
            samples[name].append((time.perf_counter() - started) / inner)
    return {name: statistics.median(times) for name, times in samples.items()}


def ms(seconds: float) -> str:
    return f"{1000 * seconds:,.2f} ms" if seconds < 0.01 else f"{1000 * seconds:,.0f} ms"


def sentence_lengths() -> torch.Tensor:
    """64 lengths drawn from 5..40 with a fixed seed: unbucketed, so padding is large and packing has most to gain."""
    return torch.randint(5, 41, (64,), generator=torch.Generator().manual_seed(0))


def lstm_batch(hidden: int) -> tuple[nn.LSTM, torch.Tensor, torch.Tensor]:
    """A BiLSTM I=300 and a batch of 64 sentences of `sentence_lengths()`, zero-padded to the longest."""
    torch.manual_seed(0)
    lstm = nn.LSTM(300, hidden, batch_first=True, bidirectional=True)
    lengths = sentence_lengths()
    x = torch.randn(64, int(lengths.max()), 300)
    x *= (torch.arange(x.shape[1]).unsqueeze(0) < lengths.unsqueeze(1)).unsqueeze(2)
    return lstm, x.requires_grad_(), lengths


def lstm_step(lstm: nn.LSTM, x: torch.Tensor, lengths: torch.Tensor, packed: bool = False,
              bf16: bool = False) -> Callable[[], None]:
    """Forward + backward, input gradients included (the tagger's embeddings and char encoder train)."""

    def step() -> None:
        lstm.zero_grad(set_to_none=True)
        x.grad = None
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            if packed:
                output = lstm(pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False))[0].data
            else:
                output = lstm(x)[0]
        output.float().sum().backward()

    return step


def padded_vs_packed(hidden: int, reps: int) -> dict[str, float]:
    lstm, x, lengths = lstm_batch(hidden)
    return compare({"padded": lstm_step(lstm, x, lengths), "packed": lstm_step(lstm, x, lengths, packed=True)}, reps)


def fp32_vs_bf16(reps: int) -> dict[str, float]:
    lstm, x, lengths = lstm_batch(512)
    return compare({"fp32": lstm_step(lstm, x, lengths), "bf16": lstm_step(lstm, x, lengths, bf16=True)}, reps)


def dropout(reps: int) -> dict[str, float]:
    """nn.Dropout's bernoulli_ kernel vs the rand_like mask of lstmlab.modules.dropout.Dropout."""
    p = 0.33
    x = torch.randn(32, 22, 512, generator=torch.Generator().manual_seed(0))
    module = nn.Dropout(p).train()
    return compare({"nn.Dropout": lambda: module(x),
                    "rand_like": lambda: x * torch.rand_like(x).ge_(p).div_(1 - p)}, reps, inner=20)


def adam(reps: int) -> dict[str, float]:
    """One Adam step over a 2-layer BiLSTM H=256's parameters; on CPU the default is the per-tensor for-loop."""
    torch.manual_seed(0)
    lstm = nn.LSTM(TAGGER_INPUT, 256, num_layers=2, batch_first=True, bidirectional=True)
    for param in lstm.parameters():
        param.grad = torch.randn_like(param)
    steps = {name: torch.optim.Adam(lstm.parameters(), lr=1e-6, **options).step
             for name, options in (("default", {}), ("foreach", {"foreach": True}), ("fused", {"fused": True}))}
    return compare(steps, reps, inner=10)


def malloc_child(steps: int) -> None:
    """Tagger-sized training steps cycling over 16 batches of different lengths, as epochs do; prints JSON.
    Two warm-up passes let a malloc that keeps its memory reach its high-water mark: the faults counted after
    that are the ones glibc's defaults cause by handing memory back and taking it again every step."""
    torch.manual_seed(0)
    lstm = nn.LSTM(TAGGER_INPUT, 256, num_layers=2, batch_first=True, bidirectional=True)
    head = nn.Linear(512, 18)
    params = [*lstm.parameters(), *head.parameters()]
    optimizer = torch.optim.Adam(params, lr=2e-3, fused=True)
    generator = torch.Generator().manual_seed(0)
    batches = []
    for _ in range(16):
        length = int(torch.randint(5, 41, (), generator=generator))
        batches.append((torch.randn(32, length, TAGGER_INPUT, generator=generator),
                        torch.randint(0, 18, (32, length), generator=generator)))

    def step(x: torch.Tensor, tags: torch.Tensor) -> None:
        loss = nn.functional.cross_entropy(head(lstm(x)[0]).flatten(0, 1), tags.flatten())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    for batch in 2 * batches:
        step(*batch)
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    started = time.perf_counter()
    for index in range(steps):
        step(*batches[index % len(batches)])
    print(json.dumps({"step_s": (time.perf_counter() - started) / steps,
                      "faults_per_step": (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults) / steps}))


def malloc_settings(steps: int, rounds: int) -> dict[str, dict[str, float]]:
    """Run malloc_child under glibc defaults and under the Makefile's settings, alternating; best round of each."""
    default_env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    envs = {"default": default_env, "tuned": {**default_env, **TUNED_MALLOC}}
    results: dict[str, list[dict[str, float]]] = {name: [] for name in envs}
    command = [sys.executable, __file__, "--threads", str(torch.get_num_threads()), "--malloc-child", str(steps)]
    for _ in range(rounds):
        for name, env in envs.items():
            run = subprocess.run(command, env=env, check=True, capture_output=True, text=True)
            results[name].append(json.loads(run.stdout.strip().splitlines()[-1]))
    return {name: min(runs, key=lambda r: r["step_s"]) for name, runs in results.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (about a minute)")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's choice, one per core)")
    parser.add_argument("--malloc-child", type=int, metavar="STEPS", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.malloc_child:
        malloc_child(args.malloc_child)
        return

    reps = 3 if args.quick else 10
    started = time.perf_counter()
    h512 = padded_vs_packed(512, reps)
    h2048 = padded_vs_packed(2048, 1 if args.quick else 2)
    bf16 = fp32_vs_bf16(reps) if bf16_lstm_supported() else None
    drop = dropout(10 if args.quick else 30)
    malloc = malloc_settings(32 if args.quick else 64, 1 if args.quick else 2)
    optim = adam(10 if args.quick else 30)

    lengths = sentence_lengths()
    batch = f"B=64 T=5..40 ({1 - int(lengths.sum()) / (64 * int(lengths.max())):.0%} padding)"

    def faults(name: str) -> str:
        return f"{ms(malloc[name]['step_s'])}, {malloc[name]['faults_per_step']:,.0f} page faults/step"

    rows = [
        (f"BiLSTM I=300 H=512 {batch} fwd+bwd", f"packed {ms(h512['packed'])}", f"padded {ms(h512['padded'])}",
         f"{h512['packed'] / h512['padded']:.2f}x", "1.6x"),
        (f"BiLSTM I=300 H=2048 {batch} fwd+bwd", f"packed {ms(h2048['packed'])}",
         f"padded {ms(h2048['padded'])}", f"{h2048['packed'] / h2048['padded']:.2f}x", "2.9x"),
        ("padded BiLSTM H=512 fwd+bwd", f"fp32 {ms(bf16['fp32'])}" if bf16 else f"fp32 {ms(h512['padded'])}",
         f"bf16 autocast {ms(bf16['bf16'])}" if bf16 else NO_BF16,
         f"{bf16['fp32'] / bf16['bf16']:.2f}x" if bf16 else "n/a", "~1.8x (68-80 vs ~41 ms at T=20)"),
        ("dropout p=0.33 on 32x22x512, forward", f"nn.Dropout {ms(drop['nn.Dropout'])}",
         f"rand_like {ms(drop['rand_like'])}", f"{drop['nn.Dropout'] / drop['rand_like']:.2f}x", "~2.5x"),
        ("training step, BiLSTM 2x256 + Adam, glibc malloc", f"defaults {faults('default')}",
         f"MALLOC_* set {faults('tuned')}", f"{malloc['default']['step_s'] / malloc['tuned']['step_s']:.2f}x",
         "1.33-1.43x (faults 25-30% of time)"),
        ("Adam step, 2-layer BiLSTM H=256 params", f"default (for-loop) {ms(optim['default'])}",
         f"fused {ms(optim['fused'])}", f"{optim['default'] / optim['fused']:.2f}x", "~3.4x"),
        ("Adam step, same params", f"foreach=True {ms(optim['foreach'])}", f"fused {ms(optim['fused'])}",
         f"{optim['foreach'] / optim['fused']:.2f}x", ""),
    ]
    print(f"\n{date.today()}; CPU: {describe_cpu()}")
    print(f"{' '.join(['python bench/cpu_kernels.py', *sys.argv[1:]])}; medians, variants alternated; "
          f"{time.perf_counter() - started:.0f} s in all\n")
    print("| measurement | alternative | lstmlab's choice | choice faster by | Zen 5, 2 threads (earlier) |")
    print("|---|---|---|---:|---:|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    if bf16 is None:
        print("\nbf16 not measured: oneDNN on this CPU cannot build a bf16 LSTM (that needs AVX-512 bf16 or AMX).")


if __name__ == "__main__":
    main()
