"""Memory and time of pretrained vectors with `extend_vocab` on a 2M-word file: `match_vectors`, then the word
embedding with (a) every row trainable vs (b) the extension rows frozen, through one Adam step. Prints a Markdown
table. Each setup runs in its own process, so each peak RSS is its own.

    python bench/vectors_memory.py                  # 2M words x 50d, 20k training words (~1.5 minutes)
    python bench/vectors_memory.py --words 400000   # quicker
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def write_vectors(path: Path, words: int, dim: int, seed: int = 0) -> None:
    """A GloVe-style text file `w0 ... wN`, numbers like `-.1234`, written with numpy, not a format call each."""
    rng = np.random.default_rng(seed)
    with path.open("wb") as out:
        for start in range(0, words, 100_000):
            count = min(100_000, words - start)
            cells = np.empty((count, dim, 7), dtype=np.uint8)  # " s.dddd" with s "-" or "0"
            cells[:, :, 0] = ord(" ")
            cells[:, :, 1] = np.where(rng.random((count, dim)) < 0.5, ord("-"), ord("0"))
            cells[:, :, 2] = ord(".")
            cells[:, :, 3:] = rng.integers(ord("0"), ord("9") + 1, size=(count, dim, 4), dtype=np.uint8)
            rows = cells.reshape(count, dim * 7)
            out.write(b"".join(b"w%d%s\n" % (start + i, row.tobytes()) for i, row in enumerate(rows)))


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def nbytes(tensors) -> int:
    return sum(t.numel() * t.element_size() for t in tensors)


def child(path: str, setup: str, train_words: int) -> dict:
    """One setup in this process: match (timed), build and fill the embedding, one forward/backward + Adam step."""
    import torch

    from lstmlab.data.vocab.pretrained_vectors import PretrainedVectors, match_vectors
    from lstmlab.data.vocab.vocab import Vocab
    from lstmlab.modules.word_embedding import WordEmbedding

    result = {"setup": setup, "rss_imports_mb": peak_rss_mb()}
    known = train_words * 3 // 4  # most training words are in the file, the rest are not
    train_keys = [f"w{i}" for i in range(known)] + [f"unseen{i}" for i in range(train_words - known)]
    start, start_cpu = time.perf_counter(), time.process_time()
    matched = match_vectors(PretrainedVectors(path, extend_vocab=setup != "no_extend"), train_keys, lowercase=True)
    result["match_s"], result["match_cpu_s"] = time.perf_counter() - start, time.process_time() - start_cpu
    result["rss_match_mb"] = peak_rss_mb()
    if setup == "no_extend":
        return result
    vocab = Vocab.build(train_keys, extra=matched.extra_words)
    trainable = len(vocab) - len(matched.extra_words)
    torch.manual_seed(0)
    embedding = WordEmbedding(len(vocab), matched.dim, trainable_rows=trainable if setup == "frozen" else None)
    embedding.load_pretrained(*matched.rows(vocab))
    del matched
    optimizer = torch.optim.Adam(embedding.parameters(), lr=1e-3)
    words = torch.randint(0, trainable, (32, 40))  # training batches only hold training words
    embedding(words).pow(2).mean().backward()
    optimizer.step()
    params = [p for p in embedding.parameters() if p.requires_grad]
    state = [t for s in optimizer.state.values() for t in s.values() if torch.is_tensor(t)]
    result.update(
        rss_step_mb=peak_rss_mb(), rows=len(vocab), trainable_rows=trainable if setup == "frozen" else len(vocab),
        param_mb=nbytes(params) / 2**20, grad_mb=nbytes(p.grad for p in params) / 2**20,
        adam_mb=nbytes(state) / 2**20, frozen_mb=nbytes(embedding.buffers()) / 2**20,
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--words", type=int, default=2_000_000)
    parser.add_argument("--dim", type=int, default=50)
    parser.add_argument("--train-words", type=int, default=20_000)
    parser.add_argument("--child", nargs=2, metavar=("PATH", "SETUP"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(*args.child, args.train_words)))
        return
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "vectors.txt"
        start = time.perf_counter()
        write_vectors(path, args.words, args.dim)
        print(f"wrote {args.words:,} x {args.dim} vectors ({path.stat().st_size / 2**20:,.0f} MiB) "
              f"in {time.perf_counter() - start:.1f} s", file=sys.stderr)
        results = []
        for setup in ("no_extend", "trainable", "frozen"):
            command = [sys.executable, __file__, "--child", str(path), setup, "--train-words", str(args.train_words)]
            done = subprocess.run(command, check=True, capture_output=True, text=True)
            results.append(json.loads(done.stdout.splitlines()[-1]))
            print(f"{setup}: done", file=sys.stderr)
    print(f"\n{args.words:,}-word x {args.dim}d file, {args.train_words:,} training words (3/4 of them in the file); "
          "RSS is each process's peak (imports included); sizes in MiB\n")
    header = ["setup", "match_vectors s (CPU s)", "peak RSS after match", "peak RSS after load + Adam step",
              "rows (trainable)", "trainable params", "grads", "Adam state", "frozen buffer"]
    print("| " + " | ".join(header) + " |")
    print("|---" + "|---:" * (len(header) - 1) + "|")
    names = {"no_extend": "extend_vocab=false", "trainable": "(a) extend, all rows trainable",
             "frozen": "(b) extend, extension rows frozen"}
    for r in results:
        cells = [names[r["setup"]], f"{r['match_s']:.1f} ({r['match_cpu_s']:.1f})", f"{r['rss_match_mb']:,.0f}"]
        if "rss_step_mb" in r:
            cells += [f"{r['rss_step_mb']:,.0f}", f"{r['rows']:,} ({r['trainable_rows']:,})"]
            cells += [f"{r[k]:,.1f}" for k in ("param_mb", "grad_mb", "adam_mb", "frozen_mb")]
        print("| " + " | ".join(cells + ["-"] * (len(header) - len(cells))) + " |")
    print(f"\nimports alone: {results[0]['rss_imports_mb']:,.0f} MiB peak RSS")

if __name__ == "__main__":
    main()
