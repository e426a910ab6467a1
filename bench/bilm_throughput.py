"""Bidirectional LM training throughput on PTB, or longer than `make bench` measures it (bench/suite.py: a few
windows of the bundled inaugural text): lstmlab (`LanguageModelTask` + `L.Trainer`) against a plain PyTorch loop of
the same network (conf/model/bilm_small.yaml: Kim et al.'s small char-aware LM per direction, full softmax; SGD at
lr 1, clipping at norm 5) on the same windows of the data module's train loader (20 rows x 35 tokens), in fp32 and,
where oneDNN has a bf16 LSTM, in bf16-mixed (bench/harness.py: alternating rounds, medians). Target: lstmlab at
>= 0.9x the plain loop; any less is overhead worth finding.

The plain loop does per window what the task does (bench/training_tasks.py: `bilm_loss`): each distinct word of
the window through the character CNN once, both LMs from the state the previous window left (detached; zeros at
window 0), the row-sum loss, backward, clip, SGD step; no metrics, no logging. Tokens/s counts each token of text
once (both LMs read it).

Data: PTB train (`--data ptb`, the default, experiment=bilm_ptb; not bundled: $LSTMLAB_DATA_DIR/ptb_lm/ptb.train.txt)
or the bundled inaugural addresses (`--data inaugural`, experiment=bilm_text).

    python bench/bilm_throughput.py                                # PTB, 3 rounds of 20 timed windows
    python bench/bilm_throughput.py --data inaugural --threads 1 --save
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import time
from pathlib import Path

from harness import quiet_rounds
from machine import load_average
from measurements import training_rows
from report import report, show
from training_tasks import BILM, Prepared

from lstmlab.utils.cpu import bf16_lstm_supported

EXPERIMENTS = {"ptb": "bilm_ptb", "inaugural": "bilm_text"}


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", choices=EXPERIMENTS, default="ptb",
                        help="PTB train from $LSTMLAB_DATA_DIR (default) or the bundled inaugural addresses")
    parser.add_argument("--batches", type=int, default=20, help="timed windows per round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per variant; figures are medians over rounds")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's choice, one per core)")
    parser.add_argument("--save", action="store_true",
                        help="also write bench/results/bilm_throughput_<data>.md and .json")
    args = parser.parse_args()
    if args.data == "ptb":
        try:
            ptb_file("ptb.train.txt", "use --data inaugural (bundled text)")
        except FileNotFoundError as error:
            parser.error(str(error))
    quiet_rounds(args.threads)
    load_before, started = load_average(), time.perf_counter()

    prepared = Prepared.build(dataclasses.replace(BILM, experiment=EXPERIMENTS[args.data]))
    rows = training_rows(prepared, args.batches, args.rounds, bf16_lstm_supported(), family=f"bilm, {args.data}")
    show(f"bilm_throughput_{args.data}", report(rows, time.perf_counter() - started, load_before), rows, args.save)


if __name__ == "__main__":
    main()
