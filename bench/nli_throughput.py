"""NLI training throughput at other widths than `make bench`'s (bench/suite.py measures experiment=nli_cpu, H=256):
lstmlab (`NLITask` + `L.Trainer`) against a plain PyTorch loop of the same network (BiLSTM-max, GloVe 50d subset,
batch 64) on the same batches of the data module's bucketed train loader (SNLI dev), in fp32 and, where oneDNN has
a bf16 LSTM, in bf16-mixed (bench/harness.py: alternating rounds, medians). Target: lstmlab at >= 0.9x the plain
loop; any less is overhead worth finding. H=2048 costs about 16x H=512 per batch, so it times fewer.

    python bench/nli_throughput.py                    # H=512 and H=2048, 3 rounds of 20 (512) and 2 (2048) batches
    python bench/nli_throughput.py --hidden 512 --threads 1 --save
"""

from __future__ import annotations

import argparse
import time

from harness import quiet_rounds
from machine import load_average
from measurements import training_rows
from report import report, show
from training_tasks import NLI, Prepared

from lstmlab.utils.cpu import bf16_lstm_supported


def timed_batches(hidden: int, batches: int) -> int:
    """`batches` at H=512, scaled by (512/H)^2 for other sizes (a step costs about H^2), at least 2."""
    return max(2, round(batches * (512 / hidden) ** 2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hidden", type=int, nargs="+", default=[512, 2048], help="LSTM units per direction")
    parser.add_argument("--batches", type=int, default=20, help="timed batches per round at H=512 (scaled by "
                                                                  "(512/H)^2 for other sizes)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per variant; figures are medians over rounds")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's choice, one per core)")
    parser.add_argument("--save", action="store_true", help="also write bench/results/nli_throughput.md and .json")
    args = parser.parse_args()
    quiet_rounds(args.threads)
    load_before, started = load_average(), time.perf_counter()

    rows = []
    for hidden in args.hidden:
        prepared = Prepared.build(NLI, [f"model.net.hidden_size={hidden}"])
        rows += training_rows(prepared, timed_batches(hidden, args.batches), args.rounds, bf16_lstm_supported(),
                              family=f"nli, H={hidden}")
    show("nli_throughput", report(rows, time.perf_counter() - started, load_before), rows, args.save)


if __name__ == "__main__":
    main()
