"""Peak memory and speed of `lstmlab-embed` on a large input: 1M synthetic sentences (5-30 words drawn from the
bundled GloVe subset's words, frequent words more often) exported by the bag-of-vectors encoder over that file and,
with --model, by a trained NLI encoder. Each export runs in its own process, so each peak RSS is its own; memory
should stay flat (one chunk of lines at a time), well under 1.5 GB. Prints a Markdown table.

    python bench/export_memory.py                                  # 1M sentences, bag of vectors, .npy
    python bench/export_memory.py --model logs/nli/runs/<ts>/model --sentences 100000 --formats .npy .parquet
"""

from __future__ import annotations

import argparse
import gzip
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
GLOVE = ROOT / "data" / "glove" / "glove.6B.50d.subset.txt.gz"
BAG_OF_VECTORS = "bag-of-vectors"


def write_sentences(path: Path, count: int, seed: int = 0) -> None:
    """`count` lines of 5-30 words; words drawn with Zipf-like frequencies (the GloVe file is frequency-sorted)."""
    with gzip.open(GLOVE, "rt", encoding="utf-8") as vectors:
        words = [line.split(" ", 1)[0] for line in vectors if line[:1].isalpha()]
    rng = np.random.default_rng(seed)
    weights = 1.0 / np.arange(1, len(words) + 1)
    with path.open("w", encoding="utf-8") as out:
        for start in range(0, count, 100_000):
            lengths = rng.integers(5, 31, size=min(100_000, count - start))
            picks = rng.choice(len(words), size=int(lengths.sum()), p=weights / weights.sum())
            bounds = np.concatenate([[0], np.cumsum(lengths)])
            out.writelines(" ".join(words[i] for i in picks[a:b]).capitalize() + " .\n"
                           for a, b in zip(bounds[:-1], bounds[1:], strict=True))


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(encoder_name: str, input_path: str, output_path: str) -> dict:
    """One export in this process, as `lstmlab-embed` runs it (malloc tuning included), no progress bar."""
    from lstmlab.cli.embed import export
    from lstmlab.inference.sentence_encoder import SentenceEncoder
    from lstmlab.utils.malloc_tuning import tune_malloc

    tune_malloc()
    if encoder_name == BAG_OF_VECTORS:
        encoder = SentenceEncoder.from_vectors(GLOVE)
    else:
        encoder = SentenceEncoder.load(encoder_name)
    rss_loaded = peak_rss_mb()
    start = time.perf_counter()
    with open(input_path, "rb") as handle:
        rows, _ = export(encoder, handle, input_path, Path(output_path), model=encoder_name, progress=False)
    return {"rows": rows, "dim": encoder.dim, "seconds": time.perf_counter() - start,
            "rss_loaded_mb": rss_loaded, "rss_peak_mb": peak_rss_mb(),
            "output_mb": Path(output_path).stat().st_size / 2**20}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, default=1_000_000)
    parser.add_argument("--model", help="an NLI run directory, export folder or .ckpt, measured too")
    parser.add_argument("--formats", nargs="+", default=[".npy"], choices=[".npy", ".h5", ".parquet"])
    parser.add_argument("--child", nargs=3, metavar=("ENCODER", "INPUT", "OUTPUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(*args.child)))
        return

    from lstmlab.utils.cpu import describe_cpu

    encoders = [BAG_OF_VECTORS] + ([args.model] if args.model else [])
    with tempfile.TemporaryDirectory() as folder:
        input_path = Path(folder) / "sentences.txt"
        start = time.perf_counter()
        write_sentences(input_path, args.sentences)
        print(f"wrote {args.sentences:,} sentences ({input_path.stat().st_size / 2**20:,.0f} MiB) "
              f"in {time.perf_counter() - start:.1f} s", file=sys.stderr)
        results = []
        for encoder in encoders:
            for suffix in args.formats:
                output = Path(folder) / f"embeddings{suffix}"
                command = [sys.executable, __file__, "--child", encoder, str(input_path), str(output)]
                done = subprocess.run(command, check=True, capture_output=True, text=True)
                results.append({"encoder": encoder, "format": suffix, **json.loads(done.stdout.splitlines()[-1])})
                output.unlink()
                print(f"{encoder} {suffix}: done", file=sys.stderr)

    print(f"\n{describe_cpu()}\nRSS is each process's peak in MiB (imports included); 'loaded' is the peak before "
          "the export starts (imports + encoder)\n")
    header = ["encoder", "format", "sentences", "dim", "seconds", "sentences/s", "RSS loaded", "peak RSS",
              "output MiB"]
    print("| " + " | ".join(header) + " |")
    print("|---|---" + "|---:" * (len(header) - 2) + "|")
    for r in results:
        cells = [r["encoder"], r["format"], f"{r['rows']:,}", str(r["dim"]), f"{r['seconds']:.1f}",
                 f"{r['rows'] / r['seconds']:,.0f}", f"{r['rss_loaded_mb']:,.0f}", f"{r['rss_peak_mb']:,.0f}",
                 f"{r['output_mb']:,.0f}"]
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
