"""Memory and time of a large training split: a synthetic 1M-sentence tagging file (JSON lines, EWT's
vocabulary and sentence lengths, shuffled words), loaded and encoded the way `TaggingDataModule` does it,
against the per-sentence tensors the first version kept (three tensors per sentence).

    python bench/data_memory.py                  # 1,000,000 sentences
    python bench/data_memory.py --sentences 100000
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import tempfile
import time
from datetime import date
from pathlib import Path

import torch

from lstmlab.data.readers.conllu import read_conllu
from lstmlab.data.tagging.datamodule import TaggingDataModule
from lstmlab.utils.cpu import describe_cpu

ROOT = Path(__file__).resolve().parents[1]


def rss_mb() -> float:
    """Resident memory now (not the peak), from /proc."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def write_synthetic(path: Path, sentences: int) -> int:
    """EWT train sentences with their words shuffled across the corpus: real lengths and word frequencies."""
    source = list(read_conllu(ROOT / "data/ud_english_ewt/en_ewt-ud-train.conllu.gz"))
    pairs = [(t, g) for s in source for t, g in zip(s["tokens"], s["tags"], strict=True)]
    rng = random.Random(0)
    tokens = 0
    with path.open("w", encoding="utf-8") as out:
        for _ in range(sentences):
            length = len(rng.choice(source)["tokens"])
            words = [rng.choice(pairs) for _ in range(length)]
            out.write(json.dumps({"tokens": [w for w, _ in words], "tags": [g for _, g in words]}) + "\n")
            tokens += length
    return tokens


def per_sentence_tensors(module: TaggingDataModule) -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """The first version's storage: words [T], chars [T, L] and tags [T] tensors for every sentence."""
    split = module.splits["train"]
    stored = []
    for index in range(len(split)):
        batch = split.__getitems__([index])
        stored.append((batch["words"][0].clone(), batch["chars"][0].clone(), batch["tags"][0].clone()))
    return stored


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sentences", type=int, default=1_000_000)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "synthetic.jsonl"
        started = time.perf_counter()
        tokens = write_synthetic(path, args.sentences)
        rows.append(("write the synthetic file", f"{time.perf_counter() - started:.1f} s",
                     f"{path.stat().st_size / 2**20:,.0f} MB on disk"))

        gc.collect()
        before = rss_mb()
        module = TaggingDataModule(format="jsonl", train_path=str(path), cache_dir=str(Path(folder) / "cache"))
        started = time.perf_counter()
        dataset = module.read_split("train", str(path))
        rows.append(("parse to Arrow (datasets, cached afterwards)", f"{time.perf_counter() - started:.1f} s", ""))
        started = time.perf_counter()
        module.setup("fit")
        split = module.splits["train"]
        rows.append(("vocabularies + encode (flat arrays)", f"{time.perf_counter() - started:.1f} s",
                     f"{split.tokens.nbytes / 2**20 + split.tags.nbytes / 2**20:,.0f} MB arrays, "
                     f"RSS +{rss_mb() - before:,.0f} MB"))
        del dataset

        loader = module.train_dataloader()
        batches = min(2000, len(loader))
        loader = iter(loader)
        started = time.perf_counter()
        for _ in range(batches):
            next(loader)
        rows.append((f"train loader: {batches} batches of 32", f"{time.perf_counter() - started:.1f} s",
                     f"{batches / (time.perf_counter() - started):,.0f} batches/s"))

        gc.collect()
        before = rss_mb()
        started = time.perf_counter()
        stored = per_sentence_tensors(module)
        rows.append(("for comparison: three tensors per sentence", f"{time.perf_counter() - started:.1f} s",
                     f"RSS +{rss_mb() - before:,.0f} MB"))
        del stored

    print(f"\n{args.sentences:,} sentences, {tokens:,} tokens; {describe_cpu()}; {date.today()}\n")
    print("| step | time | memory |\n|---|---:|---|")
    for row in rows:
        print(f"| {row[0]} | {row[1]} | {row[2]} |")


if __name__ == "__main__":
    main()
