"""Loading an NLI training split the size of SNLI train (550k pairs): time and peak memory of
`NLIDataModule(...).setup("fit")` the first time (parse to an Arrow cache, vocabularies, GloVe matching, encoding)
and the second time (Arrow cache hit), and the memory the encoded split keeps. Full SNLI is not bundled, so the file
is synthetic: SNLI dev pairs drawn with replacement, each token replaced with probability 0.1 by a random word of
the GloVe subset, so the vocabulary grows to SNLI train's order (about 37k words) instead of staying dev's.

Each load runs in a fresh process, so each peak (VmHWM from /proc/self/status) is its own; the first and second
loads alternate over `--rounds` (a fresh cache each round), figures are medians. The default took 1.5 minutes on
2 cores shared with other work (load average 3).

    python bench/nli_load.py                  # 550,000 pairs
    python bench/nli_load.py --pairs 100000 --rounds 3
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from machine import load_average

ROOT = Path(__file__).resolve().parents[1]
GLOVE = ROOT / "data" / "glove" / "glove.6B.50d.subset.txt.gz"
REPLACED = 0.1  # share of tokens replaced by a random GloVe word


def memory_mb(field: str) -> float:
    """A /proc/self/status field (VmRSS: now, VmHWM: the peak so far) in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/self/status (Linux only)")


def write_synthetic(path: Path, pairs: int, seed: int = 0) -> None:
    """`pairs` SNLI-style JSON lines (gold_label, sentence1, sentence2; tokens separated by spaces)."""
    with gzip.open(ROOT / "data/snli/snli_1.0_dev.tok.jsonl.gz", "rt", encoding="utf-8") as lines:
        source = [json.loads(line) for line in lines]
    with gzip.open(GLOVE, "rt", encoding="utf-8") as vectors:
        words = [line.split(" ", 1)[0] for line in vectors]
    rng = random.Random(seed)

    def perturb(sentence: str) -> str:
        return " ".join(rng.choice(words) if rng.random() < REPLACED else t for t in sentence.split())

    with path.open("w", encoding="utf-8") as out:
        for _ in range(pairs):
            pair = rng.choice(source)
            out.write(json.dumps({"gold_label": pair["gold_label"], "sentence1": perturb(pair["sentence1"]),
                                  "sentence2": perturb(pair["sentence2"])}) + "\n")


def child(path: str, cache_dir: str) -> dict:
    """One setup("fit") in this process: seconds, memory before and at the peak, what the split keeps."""
    import datasets

    from lstmlab.data.nli.datamodule import NLIDataModule

    datasets.disable_progress_bars()
    before = memory_mb("VmRSS")
    module = NLIDataModule(train_path=path, tokenizer="whitespace", vectors={"path": str(GLOVE)}, cache_dir=cache_dir)
    started = time.perf_counter()
    module.setup("fit")
    seconds = time.perf_counter() - started
    split = module.splits["train"]
    return {"seconds": seconds, "rss_before_mb": before, "peak_mb": memory_mb("VmHWM"),
            "split_mb": (split.sentences.nbytes + split.labels.nbytes) / 2**20,
            "pairs": len(split), "tokens": split.num_tokens, "words": len(module.vocabs.words)}


def folder_mb(folder: Path) -> float:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=550_000, help="pairs in the synthetic file")
    parser.add_argument("--rounds", type=int, default=1, help="first + second loads, each with a fresh cache")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's choice, one per core)")
    parser.add_argument("--child", nargs=2, metavar=("FILE", "CACHE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        if args.threads:
            import torch

            torch.set_num_threads(args.threads)
        print(json.dumps(child(*args.child)))
        return

    load_before, started = load_average(), time.perf_counter()
    runs: dict[str, list[dict]] = {"first": [], "second": []}
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "snli_synthetic_train.jsonl"
        write_synthetic(path, args.pairs)
        cache_mb = 0.0
        command = [sys.executable, __file__, *(["--threads", str(args.threads)] if args.threads else [])]
        for index in range(args.rounds):
            cache = Path(folder) / f"cache{index}"
            for name in ("first", "second"):
                done = subprocess.run([*command, "--child", str(path), str(cache)], check=True, capture_output=True,
                                      text=True)
                runs[name].append(json.loads(done.stdout.strip().splitlines()[-1]))
            cache_mb = folder_mb(cache)
        file_mb = path.stat().st_size / 2**20

    def median(name: str, key: str) -> float:
        return statistics.median(run[key] for run in runs[name])

    facts = runs["first"][0]
    print(f"\n{facts['pairs']:,} synthetic SNLI-style pairs ({file_mb:,.0f} MB JSONL, {facts['tokens']:,} tokens, "
          f"{facts['words']:,} words in the vocabulary with the GloVe 50d subset); {args.rounds} round(s), medians; "
          f"{date.today()}; {time.perf_counter() - started:.0f} s in all")
    print(f"load average (1/5/15 min): {load_before} at start, {load_average()} at end\n")
    print("| NLIDataModule.setup(\"fit\"), each in a fresh process | time | peak RSS (VmHWM) | notes |\n"
          "|---|---:|---:|---|")
    for name, what, note in (("first", "first time: parse + Arrow cache + vocabularies + encode",
                              f"Arrow cache {cache_mb:,.0f} MB on disk"),
                             ("second", "second time: Arrow cache hit", "")):
        print(f"| {what} | {median(name, 'seconds'):.1f} s | {median(name, 'peak_mb'):,.0f} MB | "
              f"{median(name, 'rss_before_mb'):,.0f} MB of it after imports{'; ' if note else ''}{note} |")
    split_mb = median("first", "split_mb")
    print(f"| the encoded split it keeps (sentences + labels arrays) | | {split_mb:,.1f} MB | "
          f"{split_mb * 2**20 / facts['pairs']:.0f} bytes per pair |")

if __name__ == "__main__":
    main()
