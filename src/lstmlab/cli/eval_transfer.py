"""`lstmlab-eval-transfer --model RUN_DIR [--tasks mr,cr,...]`: score sentence embeddings on SentEval's transfer tasks.

MR CR SUBJ MPQA SST2 TREC MRPC SICK-R SICK-E STS-B (all ten by default), by the protocol of
docs/transfer_protocol.md; prints the results as a row of the InferSent paper's Table 4 and writes transfer.json
and transfer.md into the folder -o/--output. `--vectors GLOVE.txt.gz` instead of --model scores the bag-of-vectors
baseline (the mean of the sentence's word vectors) the same way.

Task data is read from --data-dir (default: $LSTMLAB_DATA_DIR, else data/ of the checkout), laid out as SentEval's
data/downstream: senteval/{MR,CR,SUBJ,MPQA,TREC,MRPC,SST/binary}/, sick/ and stsbenchmark/.
--path TASK=DIR points one task elsewhere (for stsb and sickr, the test file itself will do).
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from lstmlab.cli import options
from lstmlab.cli.command import run_command
from lstmlab.data import locations
from lstmlab.data.readers.senteval import TASKS, TaskData
from lstmlab.transfer.evaluate import Encoder, EvaluationSettings, evaluate_task
from lstmlab.transfer.report import make_report, text_table, write_report
from lstmlab.utils.malloc_tuning import tune_malloc

if TYPE_CHECKING:
    from lstmlab.inference.sentence_encoder import SentenceEncoder

log = logging.getLogger("lstmlab.cli.eval_transfer")


def _task_names(text: str) -> list[str]:
    names = [name.strip().lower() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in TASKS]
    if unknown or not names:
        what = f"unknown task {', '.join(unknown)}" if unknown else "no task given"
        raise argparse.ArgumentTypeError(f"{what}: choose from {','.join(TASKS)}")
    return names


def _path_override(text: str) -> tuple[str, Path]:
    name, equals, path = text.partition("=")
    name = name.strip().lower()
    if not equals or not path or name not in TASKS:
        raise argparse.ArgumentTypeError(f"expected TASK=PATH with TASK one of {','.join(TASKS)}, got {text!r}")
    return name, Path(path).expanduser()


def _at_least_two(text: str) -> int:
    value = int(text)
    if value < 2:
        raise argparse.ArgumentTypeError(f"needs at least 2 folds, got {value}")
    return value


def locate(name: str, data_dir: Path, overrides: dict[str, Path]) -> Path:
    """Where task `name` is read from; a missing one says how to point at it."""
    spec = TASKS[name]
    path = overrides.get(name, data_dir / spec.folder)
    if not path.exists():
        raise FileNotFoundError(
            f"{spec.title} data not found: {path} does not exist. Point --data-dir (or LSTMLAB_DATA_DIR) at the "
            f"folder that holds {spec.folder}/, or give this task's own folder with --path {name}=DIR"
        )
    return path


class CommandEncoder:
    """A SentenceEncoder behind the protocol's `Encoder`, whose encode(sentences, batch_size) knows neither
    --tokenized nor --bf16: both are applied to every call here."""

    def __init__(self, encoder: SentenceEncoder, tokenized: bool, bf16: bool) -> None:
        self.encoder, self.tokenized, self.bf16 = encoder, tokenized, bf16
        self.dim = encoder.dim

    def encode(self, sentences: list[str], batch_size: int = options.BATCH_SIZE) -> np.ndarray:
        inputs = [sentence.split() for sentence in sentences] if self.tokenized else sentences
        return self.encoder.encode(inputs, batch_size=batch_size, bf16=self.bf16)


def load_encoder(args: argparse.Namespace) -> tuple[Encoder, str, dict[str, str]]:
    """(encoder on --device, row label, source) for --model or --vectors; the source notes --tokenized and --bf16."""
    from lstmlab.inference.sentence_encoder import (
        SentenceEncoder,  # torch and the model code only once arguments are fine
    )

    if args.vectors:
        encoder = SentenceEncoder.from_vectors(args.vectors)
        encoder.net.to(args.device)
        label, source = f"bag of vectors: {args.vectors.name}", {"vectors": str(args.vectors)}
    else:
        encoder = SentenceEncoder.load(args.model, device=args.device)
        label, source = str(args.model), {"model": str(args.model)}
    if args.tokenized:
        source["input"] = "whitespace-tokenized"
    if args.bf16:
        source["precision"] = "bf16"
    return CommandEncoder(encoder, args.tokenized, args.bf16), label, source


def evaluate(args: argparse.Namespace) -> dict:
    """Read every task first (so that a missing file fails before any embedding), then evaluate them in turn."""
    start = time.perf_counter()
    names = [name for name in TASKS if name in args.tasks]
    overrides = dict(args.path)
    tasks: dict[str, TaskData] = {name: TASKS[name].load(locate(name, args.data_dir, overrides)) for name in names}
    for name, task in tasks.items():
        for skipped in task.skipped:
            log.warning("%s: skipped %s:%d (%s)", TASKS[name].title, skipped.path, skipped.line, skipped.reason)
    encoder, label, source = load_encoder(args)
    settings = EvaluationSettings(seed=args.seed, folds=args.folds, inner_folds=args.inner_folds,
                                  batch_size=args.batch_size)
    results = {}
    for name, task in tasks.items():
        results[name] = result = evaluate_task(encoder, task, settings)
        scores = ", ".join(f"{metric} {value:.4g}" for metric, value in result.metrics.items())
        log.info("%s: %s (%s examples, %.1f s)", TASKS[name].title, scores,
                 "/".join(f"{count:,}" for count in result.sizes.values()), result.seconds)
    return make_report(label, source, encoder.dim, settings, results, time.perf_counter() - start)


def build_parser() -> argparse.ArgumentParser:
    parser = options.command_parser("lstmlab-eval-transfer", __doc__)
    what = parser.add_mutually_exclusive_group(required=True)
    options.add_model(what, "a sentence encoder trained on NLI (lstmlab-train experiment=nli_cpu, ...) or saved by "
                            "SentenceEncoder.save", required=False)
    what.add_argument("--vectors", type=Path, help="word vectors file (GloVe text format, .txt or .txt.gz): "
                                                   "evaluate the bag-of-vectors baseline")
    parser.add_argument("--tasks", type=_task_names, default=list(TASKS),
                        help=f"comma-separated, from {','.join(TASKS)} (default: all)")
    parser.add_argument("--data-dir", type=Path,
                        default=locations.data_dir(),
                        help="folder holding senteval/, sick/, stsbenchmark/ (default: $LSTMLAB_DATA_DIR, else data/)")
    parser.add_argument("--path", type=_path_override, action="append", default=[], metavar="TASK=PATH",
                        help="read TASK from PATH instead (repeatable)")
    options.add_tokenized(parser, default=False, why="the protocol hands the encoder the raw text of the task "
                                                    "files; --tokenized splits them as SentEval does")
    options.add_output(parser, "folder that transfer.json and transfer.md go into (default: "
                               "logs/transfer/<timestamp>/)", check=Path)
    options.add_batch_size(parser)
    parser.add_argument("--seed", type=int, default=1111, help="cross-validation folds and classifiers (SentEval's)")
    parser.add_argument("--folds", type=_at_least_two, default=10,
                        help="cross-validation folds that score MR, CR, SUBJ, MPQA")
    parser.add_argument("--inner-folds", type=_at_least_two, default=10,
                        help="cross-validation folds that choose the classifier's C")
    options.add_device(parser)
    options.add_bf16(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.bf16 and args.vectors:
        parser.error("--bf16 is for a --model's LSTM; the bag of vectors (--vectors) has none and computes in "
                     "float32")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    tune_malloc()
    output_dir = args.output or Path.cwd() / "logs" / "transfer" / datetime.now().strftime("%Y-%m-%d_%H-%M-%S")

    def work() -> str:
        report = evaluate(args)
        json_path, markdown_path = write_report(report, output_dir)
        print(text_table(report))
        return f"{report['seconds']:.0f} s; report in {json_path} and {markdown_path.name}"

    return run_command("lstmlab-eval-transfer", work)


if __name__ == "__main__":
    sys.exit(main())
