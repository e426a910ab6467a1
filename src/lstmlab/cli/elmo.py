"""`lstmlab-elmo --model RUN_DIR tokenized.txt -o elmo.h5 [--layers all|top|average]`: contextual embeddings of
every line with a trained biLM, in the HDF5 layout of allennlp's `elmo` command.

Each input line is one sentence of whitespace-separated tokens, as allennlp reads it (--no-tokenized for raw
text). Line i (from 0) is the dataset "i": [layers, tokens, dim] with --layers all (the token layer where the model
has one, then each LSTM layer), [tokens, dim] with top (the last LSTM layer) or average (the mean of all layers).
The dataset "sentence_to_index" holds one JSON string mapping each sentence (its tokens joined by single spaces) to
its dataset name. An empty line or one longer than the model reads is an error naming the line. The input is read
in chunks of 2,048 lines, so memory does not hold the input; the output appears whole when the export succeeds, and
otherwise not at all.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from tqdm import tqdm

from lstmlab import Elmo
from lstmlab.cli import options
from lstmlab.cli.command import run_model_on_input, throughput_summary
from lstmlab.data.errors import DataFormatError
from lstmlab.data.text_files import chunked, decode_lines
from lstmlab.io.elmo_hdf5 import LAYER_CHOICES, ElmoHdf5Writer
from lstmlab.utils.arrays import as_numpy

CHUNK_LINES = 2048  # lines read and sorted by length at a time (the next ones while the network runs)


def numbered_sentences(handle: Iterable[bytes], name: str, elmo: Elmo, tokenized: bool
                       ) -> Iterator[tuple[int, list[str]]]:
    """(0-based index, tokens) per line; an empty or over-long line is a DataFormatError naming it."""
    for number, line in decode_lines(handle, name):
        tokens = line.split() if tokenized else elmo.tokenize(line)
        if not tokens:
            raise DataFormatError(name, number, "empty line: expected one sentence of tokens per line")
        if len(tokens) > elmo.max_sentence_length:
            raise DataFormatError(name, number, f"{len(tokens)} tokens; this model reads at most "
                                                f"{elmo.max_sentence_length} per sentence: split the line")
        yield number - 1, tokens


def export(elmo: Elmo, handle: Iterable[bytes], name: str, output: Path, *, layers: str = "all",
           batch_size: int = options.BATCH_SIZE, tokenized: bool = True, bf16: bool = False, progress: bool = True,
           total: int | None = None) -> tuple[int, int, int]:
    """Write every line's representations into `output`; (sentences, tokens, tokens with unknown characters)."""
    lines = tokens_done = unknown_chars = 0
    with ElmoHdf5Writer(output, layers, elmo.dim, elmo.num_layers) as writer, tqdm(
        total=total, unit="sent", desc="elmo", file=sys.stderr, disable=not progress
    ) as progress_bar:
        chunks = chunked(numbered_sentences(handle, name, elmo, tokenized), CHUNK_LINES)
        for batch, result in elmo.represent_chunks(chunks, batch_size, bf16, split=lambda item: item[1]):
            representations = as_numpy(result.layers)
            unknown_chars += result.unknown_chars
            for row, (index, tokens) in enumerate(batch):
                writer.write(index, tokens, representations[:, row, : len(tokens)])
                tokens_done += len(tokens)
            lines += len(batch)
            progress_bar.update(len(batch))
    return lines, tokens_done, unknown_chars


def build_parser() -> argparse.ArgumentParser:
    parser = options.model_command_parser("lstmlab-elmo", __doc__, "a bidirectional language model (lstmlab-train "
                                          "experiment=bilm_text, bilm_ptb, ...)", "output .h5 file",
                                          input_required=True)
    parser.add_argument("--layers", choices=LAYER_CHOICES, default="all",
                        help="all layers (default), the top LSTM layer, or their average")
    return options.add_run_options(parser, tokenized=True, why="allennlp's elmo command reads tokenized sentences")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    def process(elmo: Elmo, handle: BinaryIO, name: str, total: int | None) -> Callable[[float], str]:
        sentences, tokens, unknown = export(elmo, handle, name, args.output, layers=args.layers,
                                            batch_size=args.batch_size, tokenized=args.tokenized, bf16=args.bf16,
                                            progress=not args.quiet, total=total)
        unknown_note = f"; {unknown:,} tokens with characters the model never saw" if unknown else ""
        return throughput_summary(f"{sentences:,} sentences, {tokens:,} tokens", tokens, "tokens", args.output,
                                  unknown_note)

    return run_model_on_input("lstmlab-elmo", args, Elmo.load, process, action="embed")


if __name__ == "__main__":
    sys.exit(main())
