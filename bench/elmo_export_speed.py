"""ELMo export speed: tokens/s of `lstmlab-elmo` (`lstmlab.cli.elmo.export`) with a trained biLM, writing every
layer (`--layers all`: the token layer where the model has one, then each LSTM layer) or the top layer only
(`top`) to a temporary .h5, fp32, batch 64. Output size matters as much as speed: `all` writes (layers) x 2H
floats per token. Prints a Markdown table headed by the CPU and the load average.

Each export runs in its own process as the command runs it (malloc tuning, oneDNN's bounded kernel cache, no
progress bar, the model loaded before the clock starts, like the command's own tokens/s line), so each peak RSS is
that export's own. The two layer choices alternate in rounds (ABBA), so a machine shared with other work slows both
alike; seconds are medians over rounds, RSS the largest. A second table checks that memory stays flat over a long
input: peak RSS of `--layers top` on the input and on a longer file of other sentences (`--long-input`, by default
PTB train), one export each.

Input: PTB test (the default; not bundled: $LSTMLAB_DATA_DIR/ptb_lm/ptb.test.txt, one tokenized sentence per line)
or `--input FILE` (plain or gzipped; `--no-tokenized` for raw text). Blank lines are skipped: the command refuses them.

    python bench/elmo_export_speed.py --model logs/bilm_ptb/runs/<ts>
    python bench/elmo_export_speed.py --model logs/bilm_text/runs/<ts> --input data/inaugural/test.txt.gz --no-tokenized
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import torch
from machine import load_average, peak_rss_mb

from lstmlab.cli import options
from lstmlab.cli.elmo import export
from lstmlab.inference.elmo import Elmo
from lstmlab.utils.malloc_tuning import tune_malloc
from lstmlab.utils.onednn_cache import bound_primitive_cache

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("all", "top")


def child(model: str, input_path: Path, layers: str, batch_size: int, tokenized: bool) -> dict:
    """One export in this process, as `lstmlab-elmo` runs it: seconds, counts, output size and RSS."""
    tune_malloc()
    bound_primitive_cache()
    elmo = Elmo.load(model)
    rss_loaded = peak_rss_mb()
    opener = gzip.open if input_path.suffix == ".gz" else open
    with tempfile.TemporaryDirectory() as folder, opener(input_path, "rb") as handle:
        output = Path(folder) / "elmo.h5"
        start = time.perf_counter()
        sentences, tokens, _ = export(elmo, (line for line in handle if line.strip()), str(input_path), output,
                                      layers=layers, batch_size=batch_size, tokenized=tokenized, progress=False)
        seconds = time.perf_counter() - start
        output_mb = output.stat().st_size / 2**20
    return {"seconds": seconds, "sentences": sentences, "tokens": tokens, "output_mb": output_mb,
            "rss_loaded_mb": rss_loaded, "rss_peak_mb": peak_rss_mb(), "dim": elmo.dim, "num_layers": elmo.num_layers}


def run_child(args: argparse.Namespace, input_path: Path, layers: str, runs: list[dict]) -> float:
    """One export in a fresh process; its result is appended to `runs`, its seconds returned (for `compare`)."""
    command = [sys.executable, __file__, "--child", layers, "--model", args.model, "--input", str(input_path),
               "--batch-size", str(args.batch_size)]
    command += ["--tokenized" if args.tokenized else "--no-tokenized"]
    command += ["--threads", str(args.threads)] if args.threads else []
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"export with --layers {layers} failed:\n{done.stderr}")
    runs.append(json.loads(done.stdout.splitlines()[-1]))
    return runs[-1]["seconds"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="biLM run directory, exported model folder or .ckpt file")
    parser.add_argument("--input", type=Path, help="one sentence per line, plain or gzipped (default: PTB test from "
                                                   "$LSTMLAB_DATA_DIR/ptb_lm/ptb.test.txt)")
    options.add_tokenized(parser, default=True, why="as lstmlab-elmo's")
    parser.add_argument("--batch-size", type=int, default=64, help="sentences per forward pass (default 64)")
    parser.add_argument("--rounds", type=int, default=3, help="exports per layer choice; seconds are medians")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's choice, one per core)")
    parser.add_argument("--long-input", type=Path, help="a long file for the flat-memory check (default: PTB train "
                                                        "from $LSTMLAB_DATA_DIR/ptb_lm/ptb.train.txt; skipped without)")
    parser.add_argument("--save", action="store_true", help="also write bench/results/elmo_export_speed.json and .md")
    parser.add_argument("--child", choices=LAYERS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.child:
        print(json.dumps(child(args.model, args.input, args.child, args.batch_size, args.tokenized)))
        return

    # imported here, not above: the children's peak RSS must be the command's, without Lightning and datasets
    from bilm_throughput import ptb_file
    from harness import compare, rate

    from lstmlab.utils.cpu import describe_cpu

    try:
        input_path = args.input or ptb_file("ptb.test.txt", "name a file of tokenized sentences with --input")
    except FileNotFoundError as error:
        parser.error(str(error))
    load_before, started = load_average(), time.perf_counter()
    runs: dict[str, list[dict]] = {layers: [] for layers in LAYERS}
    compare({layers: lambda layers=layers: run_child(args, input_path, layers, runs[layers]) for layers in LAYERS},
            args.rounds)

    lengths = [runs["top"][0]]
    long_input = args.long_input
    if long_input is None:
        try:
            long_input = ptb_file("ptb.train.txt", "name one with --long-input")
        except FileNotFoundError as error:
            print(f"no flat-memory check: {error}", file=sys.stderr)
    if long_input is not None:
        run_child(args, long_input, "top", lengths)

    first = runs[LAYERS[0]][0]
    rows = []
    for layers, results in runs.items():
        seconds = statistics.median(r["seconds"] for r in results)
        rows.append({"layers": layers, "seconds": seconds, "sentences_per_s": first["sentences"] / seconds,
                     "tokens_per_s": first["tokens"] / seconds, "output_mb": results[0]["output_mb"],
                     "rss_loaded_mb": max(r["rss_loaded_mb"] for r in results),
                     "rss_peak_mb": max(r["rss_peak_mb"] for r in results)})
    lines = [f"ELMo export (lstmlab.cli.elmo.export), model {args.model} ({first['num_layers']} layers of "
             f"{first['dim']}), fp32, batch {args.batch_size}; input {input_path}: {first['sentences']:,} sentences, "
             f"{first['tokens']:,} tokens; {args.rounds} rounds per variant; {date.today()}; "
             f"{time.perf_counter() - started:.0f} s in all",
             f"CPU: {describe_cpu()}",
             f"load average (1/5/15 min): {load_before} at start, {load_average()} at end",
             "RSS: each export process's peak in MiB (imports included); 'loaded': before the export starts", "",
             "| layers | seconds | sentences/s | tokens/s | output MiB | RSS loaded | peak RSS |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for row in rows:
        lines.append(f"| {row['layers']} | {row['seconds']:.1f} | {rate(row['sentences_per_s'])} | "
                     f"{rate(row['tokens_per_s'])} | {row['output_mb']:,.1f} | {row['rss_loaded_mb']:,.0f} | "
                     f"{row['rss_peak_mb']:,.0f} |")
    if long_input is not None:
        lines += ["", f"Peak RSS against input length, --layers top (the input, then {long_input}):", "",
                  "| sentences | tokens | tokens/s | peak RSS |", "|---:|---:|---:|---:|"]
        lines += [f"| {r['sentences']:,} | {r['tokens']:,} | {rate(r['tokens'] / r['seconds'])} | "
                  f"{r['rss_peak_mb']:,.0f} |" for r in lengths]
    print("\n" + "\n".join(lines))
    if args.save:
        out = ROOT / "bench" / "results"
        out.mkdir(exist_ok=True)
        (out / "elmo_export_speed.md").write_text("\n".join(lines) + "\n")
        (out / "elmo_export_speed.json").write_text(json.dumps(
            {"model": args.model, "input": str(input_path), "sentences": first["sentences"], "tokens": first["tokens"],
             "batch_size": args.batch_size, "rows": rows, "by_length": lengths, "rounds": args.rounds,
             "date": str(date.today()),
             "cpu": describe_cpu(), "load_average": [load_before, load_average()]}, indent=1))


if __name__ == "__main__":
    main()
