"""`make bench`: one table of every family's speed on this machine, in about 5-10 minutes on 2 cores.

Per family (bench/training_tasks.py: the tagger, the NLI encoder, the biLM, the sequence classifier), training
throughput of lstmlab (the task under `L.Trainer`, with the default `callbacks.divergence_stop`) against a plain
PyTorch loop of the same network on the same batches (bench/harness.py: alternating rounds, medians), in fp32 and,
where oneDNN has a bf16 LSTM, bf16-mixed; the padding of those batches; for the tagger the per-step cost of the
divergence check (`callbacks.divergence_stop=null` against the default); inference and export speed
(`Tagger.predict` on EWT test, `SentenceEncoder.encode` on SNLI test, the ELMo export of the inaugural test text;
untrained networks: speed does not depend on the weights); and each family's peak RSS. Each family runs in a
process of its own, so that its peak RSS is its own. Headed by the command, the CPU model and flags, the load
average and the date.

    python bench/suite.py                          # what make bench runs
    python bench/suite.py --rounds 5 --batches 60  # longer, steadier figures
    python bench/suite.py --families tagger --threads 1 --save   # on a busy machine; --save writes bench/results/
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from typing import Any

from harness import quiet_rounds
from machine import load_average, peak_rss_mb
from measurements import INFERENCE, training_rows
from report import report, show
from training_tasks import FAMILIES, Prepared, TrainingBench

from lstmlab.utils.cpu import bf16_lstm_supported


def measure_family(bench: TrainingBench, batches: int, rounds: int, threads: int | None) -> dict[str, Any]:
    """Every row of one family, measured in this process, and its peak RSS."""
    quiet_rounds(threads)
    started = time.perf_counter()
    prepared = Prepared.build(bench)
    bf16 = bf16_lstm_supported()
    # the tagger's divergence_stop row needs more rounds: its difference is a few percent at most
    rows = training_rows(prepared, batches, rounds + 2 if bench.name == "tagger" else rounds, bf16,
                         divergence_off=bench.name == "tagger")
    if bench.name in INFERENCE:
        rows += INFERENCE[bench.name](prepared, rounds, bf16)
    rows.append({"family": bench.name, "what": "peak RSS of this family's process (data, networks, inference)",
                 "speed": f"{peak_rss_mb():,.0f} MB"})
    return {"rows": rows, "seconds": time.perf_counter() - started}


def run_family(name: str, args: argparse.Namespace) -> dict[str, Any]:
    """`measure_family` in a fresh process (its own peak RSS, no state left by the previous family)."""
    batches = args.windows if name == "bilm" else args.batches
    command = [sys.executable, __file__, "--child", name, "--batches", str(batches), "--rounds", str(args.rounds)]
    command += ["--threads", str(args.threads)] if args.threads else []
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"bench/suite.py: the {name} measurements failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--families", nargs="+", choices=list(FAMILIES), default=list(FAMILIES))
    parser.add_argument("--batches", type=int, default=20, help="timed training batches per round (default 20)")
    parser.add_argument("--windows", type=int, default=4, help="the biLM's timed windows per round (default 4: a "
                                                                 "window of 20 x 35 tokens costs ~10 tagger batches)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per variant; figures are medians over rounds")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's choice, one per core)")
    parser.add_argument("--save", action="store_true", help="also write bench/results/suite.md and .json")
    parser.add_argument("--child", choices=list(FAMILIES), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure_family(FAMILIES[args.child], args.batches, args.rounds, args.threads)))
        return

    load_before, started = load_average(), time.perf_counter()
    results = {name: run_family(name, args) for name in args.families}
    rows = [row for result in results.values() for row in result["rows"]]
    took = ", ".join(f"{name} {result['seconds']:.0f} s" for name, result in results.items())
    show("suite", report(rows, time.perf_counter() - started, load_before, f" ({took})"), rows, args.save)


if __name__ == "__main__":
    main()
