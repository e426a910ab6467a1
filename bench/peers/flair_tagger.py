"""Flair's SequenceTagger as the peer of lstmlab's tagger: the same UD English EWT, the same GloVe 6B 50d, the
closest equal configuration (2-layer BiLSTM 256 + CRF over [GloVe; char BiLSTM 25/25], batch 32, Adam 0.002),
one thread. Flair's own defaults everywhere else (locked dropout 0.5, word dropout 0.05, the GloVe table frozen,
annealing on plateau, embeddings kept on the CPU between epochs).

Runs in Flair's own virtualenv (README.md beside this file) and imports nothing of lstmlab.

    python bench/peers/flair_tagger.py --train-epochs 1 --threads 1 --json            # train, test, tag
    python bench/peers/flair_tagger.py --model flair-run/final-model.pt --json        # tag with a trained model

Prints one JSON line per event (`--json`), else the same as `key: value` lines:
    stage   a stage of the run begins (bench/train_memory.py reads the process's RSS at each)
    epoch   seconds training, seconds with the dev evaluation, dev UPOS accuracy
    train   epochs, seconds per epoch, dev and test UPOS of the best epoch, peak RSS of the training process
    tag     load time, raw-text latency p50/p99 at batch 1, throughput at batch 64, on EWT test's `# text` lines
The data come from `--data-dir` (default: $LSTMLAB_DATA_DIR, else the repository's data/, whose EWT serves tagging),
laid out as ud_english_ewt/en_ewt-ud-*.conllu[.gz]; training also reads glove_6b_50d/glove.6B.50d.txt.gz.
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

IMPORTS_STARTED = time.perf_counter()
try:
    import conllu  # a dependency of flair
    import flair
    import torch
    from flair.data import Corpus, Dictionary, Sentence
    from flair.datasets import FlairDatapointDataset
    from flair.embeddings import CharacterEmbeddings, StackedEmbeddings, WordEmbeddings
    from flair.models import SequenceTagger
    from flair.trainers import ModelTrainer
    from flair.trainers.plugins import TrainerPlugin
except ImportError as missing:
    sys.exit(f"flair_tagger.py runs in Flair's own virtualenv ({missing}); see bench/peers/README.md")
IMPORT_S = time.perf_counter() - IMPORTS_STARTED  # part of what a user waits for before the first sentence

OUT = sys.stdout  # the JSON lines; Flair's own log goes to stderr
BUNDLED_DATA = Path(__file__).resolve().parents[2] / "data"
SPLITS = {"train": "en_ewt-ud-train.conllu", "dev": "en_ewt-ud-dev.conllu", "test": "en_ewt-ud-test.conllu"}
GLOVE = "glove_6b_50d/glove.6B.50d.txt.gz"
LABEL = "upos"


def emit(event: str, as_json: bool, **fields: Any) -> None:
    """One result line; flushed at once, since a stage line must reach the reader before the stage runs."""
    if as_json:
        OUT.write(json.dumps({"event": event, **fields}) + "\n")
    else:
        OUT.write(f"{event}: " + ", ".join(f"{key}={value}" for key, value in fields.items()) + "\n")
    OUT.flush()


def peak_rss_mb() -> float:
    """This process's peak resident memory so far (Linux VmHWM), MiB."""
    status = Path("/proc/self/status").read_text()
    return next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")) / 1024


def open_text(path: Path) -> TextIO:
    """`path`, or `path.gz` when only that exists (lstmlab's bundled samples are gzipped)."""
    gzipped = path.with_name(path.name + ".gz")
    if not path.exists() and gzipped.exists():
        return gzip.open(gzipped, "rt", encoding="utf-8")
    return path.open(encoding="utf-8")


def read_conllu(path: Path) -> Iterator[tuple[list[str], list[str], str]]:
    """(words, UPOS tags, `# text`) of each sentence. Multiword-token ranges and empty nodes are left out, as
    lstmlab's reader leaves them out: both tools train on the same syntactic words."""
    with open_text(path) as lines:
        for sentence in conllu.parse_incr(lines):
            words = [t for t in sentence if isinstance(t["id"], int)]
            yield [t["form"] for t in words], [t["upos"] for t in words], sentence.metadata.get("text", "")


def flair_sentences(path: Path) -> list[Sentence]:
    sentences = []
    for words, tags, _ in read_conllu(path):
        sentence = Sentence(words)  # a list of words: already tokenized
        for token, tag in zip(sentence.tokens, tags, strict=True):
            token.add_label(LABEL, tag)
        sentences.append(sentence)
    return sentences


def plain_glove(source: Path, work_dir: Path) -> Path:
    """The GloVe file decompressed: Flair reads a word2vec text file only by its `.txt` name (through gensim)."""
    target = work_dir / source.name.removesuffix(".gz")
    if not target.name.endswith(".txt"):
        target = target.with_name(target.name + ".txt")
    if not target.exists():
        opener = gzip.open if source.suffix == ".gz" else open
        with opener(source, "rb") as compressed, target.open("wb") as plain:
            shutil.copyfileobj(compressed, plain)
    return target


def char_dictionary(sentences: list[Sentence]) -> Dictionary:
    """The characters of the training words: Flair's default character dictionary is a download."""
    dictionary = Dictionary()
    for char in sorted({char for sentence in sentences for token in sentence for char in token.text}):
        dictionary.add_item(char)
    return dictionary


class EpochClock(TrainerPlugin):
    """Seconds of each epoch's training and of its dev evaluation, and the dev score; a stage line at each."""

    def __init__(self, as_json: bool) -> None:
        super().__init__()
        self.as_json = as_json
        self.epochs: list[dict[str, float]] = []
        self.started = self.trained = 0.0

    @TrainerPlugin.hook
    def before_training_epoch(self, epoch: int, **_: Any) -> None:
        emit("stage", self.as_json, stage=f"training epoch {epoch}")
        self.started = time.perf_counter()

    @TrainerPlugin.hook
    def after_training_epoch(self, epoch: int, **_: Any) -> None:
        self.trained = time.perf_counter()
        emit("stage", self.as_json, stage=f"dev evaluation and best-model.pt, epoch {epoch}")

    @TrainerPlugin.hook
    def after_evaluation(self, epoch: int, validation_scores: tuple, **_: Any) -> None:
        row = {"epoch": epoch, "train_s": round(self.trained - self.started, 2),
               "with_dev_s": round(time.perf_counter() - self.started, 2),
               "dev_upos": round(100 * validation_scores[0], 2)}
        self.epochs.append(row)
        emit("epoch", self.as_json, **row)


def train(data_dir: Path, work_dir: Path, epochs: int, as_json: bool, seed: int = 12345) -> dict[str, Any]:
    """Train and test the tagger (Flair tests its best epoch); best-model.pt and final-model.pt land in `work_dir`."""
    flair.set_seed(seed)
    emit("stage", as_json, stage="read EWT")
    splits = {name: flair_sentences(data_dir / "ud_english_ewt" / file) for name, file in SPLITS.items()}
    corpus = Corpus(train=FlairDatapointDataset(splits["train"]), dev=FlairDatapointDataset(splits["dev"]),
                    test=FlairDatapointDataset(splits["test"]), sample_missing_splits=False)
    emit("stage", as_json, stage="load GloVe, build the tagger")
    words = WordEmbeddings(str(plain_glove(data_dir / GLOVE, work_dir)), no_header=True)
    chars = CharacterEmbeddings(char_dictionary(splits["train"]), char_embedding_dim=25, hidden_size_char=25)
    tagger = SequenceTagger(hidden_size=256, rnn_layers=2, use_crf=True, tag_type=LABEL,
                            embeddings=StackedEmbeddings([words, chars]),
                            tag_dictionary=corpus.make_label_dictionary(LABEL, add_unk=False))
    clock = EpochClock(as_json)
    started = time.perf_counter()
    scores = ModelTrainer(tagger, corpus).train(
        work_dir, learning_rate=0.002, mini_batch_size=32, eval_batch_size=256, max_epochs=epochs,
        optimizer=torch.optim.Adam, plugins=[clock],
    )
    emit("stage", as_json, stage="after training")
    return {
        "epochs": epochs, "total_s": round(time.perf_counter() - started, 1),
        "train_s_per_epoch": round(statistics.mean(e["train_s"] for e in clock.epochs), 2),
        "with_dev_s_per_epoch": round(statistics.mean(e["with_dev_s"] for e in clock.epochs), 2),
        "dev_upos": max(e["dev_upos"] for e in clock.epochs), "test_upos": round(100 * scores["test_score"], 2),
        "train_tokens": sum(len(s) for s in splits["train"]), "peak_rss_mb": round(peak_rss_mb()),
    }


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def measure_tagging(model: Path, data_dir: Path, latency_sentences: int, batch_size: int = 64) -> dict[str, Any]:
    """Load the model, then tag EWT test's raw `# text` lines through Flair's own tokenizer: one sentence per call
    (latency of the first `latency_sentences`, after 20 untimed ones), and all of them at `batch_size`."""
    texts = [text for _, _, text in read_conllu(data_dir / "ud_english_ewt" / SPLITS["test"])]
    started = time.perf_counter()
    tagger = SequenceTagger.load(str(model))
    load_s = time.perf_counter() - started
    for text in texts[:20]:
        tagger.predict(Sentence(text))
    latencies = []
    for text in texts[:latency_sentences]:
        started = time.perf_counter()
        tagger.predict(Sentence(text))
        latencies.append(1000 * (time.perf_counter() - started))
    started = time.perf_counter()
    sentences = [Sentence(text) for text in texts]
    tagger.predict(sentences, mini_batch_size=batch_size)
    seconds = time.perf_counter() - started
    tokens = sum(len(s) for s in sentences)
    return {"load_s": round(load_s, 2), "latency_sentences": len(latencies),
            "batch1_p50_ms": round(percentile(latencies, 0.5), 2),
            "batch1_p99_ms": round(percentile(latencies, 0.99), 2), "batch": batch_size,
            "sentences": len(texts), "tokens": tokens, "sentences_per_s": round(len(texts) / seconds, 1),
            "tokens_per_s": round(tokens / seconds)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=os.environ.get("LSTMLAB_DATA_DIR") or BUNDLED_DATA,
                        help="holds ud_english_ewt/ and glove_6b_50d/ (default: $LSTMLAB_DATA_DIR, else data/)")
    parser.add_argument("--train-epochs", type=int, default=0, help="train this many epochs first (0: no training)")
    parser.add_argument("--model", type=Path, help="a trained Flair tagger to tag with, when not training")
    parser.add_argument("--work-dir", type=Path, help="Flair's training folder (default: a temporary one)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--no-tag", action="store_true", help="train only: no load, latency and throughput")
    parser.add_argument("--latency-sentences", type=int, default=500)
    parser.add_argument("--json", action="store_true", help="JSON lines (else key=value lines)")
    args = parser.parse_args(argv)
    if args.train_epochs and not (args.data_dir / GLOVE).exists():
        parser.error(f"{args.data_dir / GLOVE}: no such file; training reads the full GloVe 6B 50d: pass --data-dir "
                     "or set LSTMLAB_DATA_DIR to a folder with ud_english_ewt/ and glove_6b_50d/")
    if bool(args.train_epochs) == (args.model is not None):
        parser.error("pass either --train-epochs N (train, then tag with the best epoch) or --model (tag only)")

    torch.set_num_threads(args.threads)
    for handler in logging.getLogger("flair").handlers:  # Flair logs to stdout, where the JSON lines go
        handler.setStream(sys.stderr)
    emit("setup", args.json, flair=flair.__version__, torch=torch.__version__, threads=torch.get_num_threads(),
         import_s=round(IMPORT_S, 2))
    with tempfile.TemporaryDirectory(prefix="flair-tagger-") as temporary:
        work_dir = args.work_dir or Path(temporary)
        work_dir.mkdir(parents=True, exist_ok=True)
        model = args.model
        if args.train_epochs:
            emit("train", args.json, **train(args.data_dir, work_dir, args.train_epochs, args.json))
            best = work_dir / "best-model.pt"
            model = best if best.exists() else work_dir / "final-model.pt"
        if not args.no_tag:
            emit("stage", args.json, stage="load the model and tag raw text")
            emit("tag", args.json, **measure_tagging(model, args.data_dir, args.latency_sentences))


if __name__ == "__main__":
    main()
