"""Tagger throughput for other shapes than `make bench`'s (bench/suite.py measures experiment=pos_quick as it is):
training, lstmlab against a plain PyTorch loop of the same network on the same batches, in fp32 and, where oneDNN
has a bf16 LSTM, bf16-mixed; inference speed of `Tagger.predict` and of the `lstmlab-tag` command, start-up and
model loading included. One table headed by the command, the CPU and the date (bench/report.py).

    python bench/tagger_throughput.py --layers 2 --crf
    python bench/tagger_throughput.py --batch-size 64 --batches 40 --threads 1 --save
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness import quiet_rounds, rate
from machine import load_average, peak_rss_mb
from measurements import tagger_inference, training_rows
from report import Row, report, show
from training_tasks import TAGGER, Prepared

from lstmlab.io.model_folder import save_model_folder
from lstmlab.utils.cpu import bf16_lstm_supported

ROOT = Path(__file__).resolve().parents[1]
EWT_TEST = ROOT / "data" / "ud_english_ewt" / "en_ewt-ud-test.conllu.gz"


def command_row(prepared: Prepared, family: str) -> Row:
    """tokens/s of `lstmlab-tag --tokenized` on EWT test, from the command's start to its end."""
    from lstmlab.data.readers.conllu import read_conllu

    sentences = [s["tokens"] for s in read_conllu(EWT_TEST)]
    task = prepared.make_task()
    with tempfile.TemporaryDirectory() as folder:
        model = save_model_folder(Path(folder) / "model", task.payload(), task.net.state_dict())
        text = Path(folder) / "test.txt"
        text.write_text("\n".join(" ".join(s) for s in sentences) + "\n", encoding="utf-8")
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "lstmlab.cli.tag", "--model", str(model), "--tokenized", str(text)],
                       check=True, stdout=subprocess.DEVNULL)
        seconds = time.perf_counter() - started
    return {"family": family, "what": "inference: lstmlab-tag command, start-up and model loading included",
            "precision": "fp32", "speed": f"{rate(sum(len(s) for s in sentences) / seconds)} tokens/s"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--layers", type=int, default=1, help="BiLSTM layers (pos_quick: 1)")
    parser.add_argument("--crf", action="store_true", help="a CRF output layer")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--batches", type=int, default=20, help="timed training batches per round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per variant; figures are medians over rounds")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's choice, one per core)")
    parser.add_argument("--save", action="store_true", help="also write bench/results/tagger_<shape>.md and .json")
    args = parser.parse_args()
    quiet_rounds(args.threads)
    load_before, started = load_average(), time.perf_counter()

    prepared = Prepared.build(TAGGER, [f"model.net.num_layers={args.layers}", f"model.net.use_crf={args.crf}",
                                       f"data.batch_size={args.batch_size}"])
    family = f"tagger, {args.layers} layer{'s' if args.layers > 1 else ''}{' + CRF' if args.crf else ''}"
    bf16 = bf16_lstm_supported()
    rows = training_rows(prepared, args.batches, args.rounds, bf16, family=family)
    rows += [{**row, "family": family} for row in tagger_inference(prepared, args.rounds, bf16)]
    rows += [command_row(prepared, family),
             {"family": family, "what": "peak RSS of this process", "speed": f"{peak_rss_mb():,.0f} MB"}]
    name = f"tagger_{args.layers}l{'_crf' if args.crf else ''}_b{args.batch_size}"
    show(name, report(rows, time.perf_counter() - started, load_before), rows, args.save)


if __name__ == "__main__":
    main()
