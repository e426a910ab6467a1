"""`lstmlab-embed --model RUN_DIR input.txt -o emb.npy`: one sentence vector per input line, in input order.

The output format follows the extension: .npy (float32 [N, dim], memory-mappable), .h5 (datasets `embeddings`,
`sentences`, `empty`, plus attributes) or .parquet (columns `line`, `sentence`, `embedding`, `empty`). The input
is read, encoded and written in chunks of lines, so memory stays flat however long it is; the output appears
whole when the export succeeds, and otherwise not at all (an older output is left as it was).

Every line must be one sentence, so an empty (or blank) line is an error that names the file and line: it is
most often a paragraph break or a stray newline, and a vector for it would mean nothing. With --allow-empty such
a line gets a zero vector instead (so row i is still line i), the final message counts them, and the .h5 and
.parquet outputs flag them in `empty`.

Lines are split into tokens by the rule of the model's language (`lstmlab.data.tokenization.rules`), or on
whitespace alone with --tokenized.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

import numpy as np
from tqdm import tqdm

from lstmlab import SentenceEncoder
from lstmlab.cli import options
from lstmlab.cli.command import run_model_on_input, throughput_summary
from lstmlab.data.errors import DataFormatError
from lstmlab.data.text_files import chunked, decode_lines
from lstmlab.io.embedding_writers import WRITERS, open_writer, writer_class
from lstmlab.io.hub import model_name
from lstmlab.runtime.text_pipeline import is_empty
from lstmlab.utils.arrays import as_numpy

# lines read, encoded and written at a time, sorted by length within it (on a GPU, the next chunk prepared while
# the network encodes): memory is a few chunks, whatever the input size
CHUNK_LINES = 8192



def checked_lines(handle: Iterable[bytes], name: str, allow_empty: bool) -> Iterator[str]:
    for number, line in decode_lines(handle, name):
        if not allow_empty and is_empty(line):
            raise DataFormatError(name, number, "empty line: expected one sentence per line (or use --allow-empty)")
        yield line


def _empty_flags(lines: list[str]) -> np.ndarray:
    return np.fromiter((is_empty(line) for line in lines), dtype=bool, count=len(lines))


def _output_path(text: str) -> Path:
    """argparse type for -o: checked before the model is loaded or any input read, not after the work is done."""
    try:
        writer_class(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return options.output_file(text)


def export(encoder: SentenceEncoder, handle: Iterable[bytes], name: str, output: Path, *, model: str,
           tokenized: bool = False, batch_size: int = options.BATCH_SIZE, normalize: bool = False,
           allow_empty: bool = False, bf16: bool = False, progress: bool = True, total: int | None = None
           ) -> tuple[int, int]:
    """Encode every line of `handle` (named `name` in errors) into `output`; (rows, empty rows). The output appears
    only on success. `model` is recorded in the .h5/.parquet attributes; `total` lines sizes the progress bar."""
    attributes = {"model": model, "dim": encoder.dim, "normalized": normalize, "tokenized": tokenized}
    with open_writer(output, encoder.dim, attributes) as writer, tqdm(
        total=total, unit="sent", desc="embedding", file=sys.stderr, disable=not progress
    ) as progress_bar:
        chunks = chunked(checked_lines(handle, name, allow_empty), CHUNK_LINES)
        split = str.split if tokenized else encoder.tokenize
        for lines, vectors in encoder.encode_chunks(chunks, batch_size, bf16, split, normalize=normalize):
            writer.write(as_numpy(vectors), lines, _empty_flags(lines))
            progress_bar.update(len(lines))
        writer.commit()
    return writer.rows, writer.empty_rows


def build_parser() -> argparse.ArgumentParser:
    parser = options.model_command_parser(
        "lstmlab-embed", __doc__, "a sentence encoder trained on NLI (lstmlab-train experiment=nli_cpu, ...) or saved "
        "by SentenceEncoder.save", f"output file; the format follows the extension: {', '.join(WRITERS)}",
        output_check=_output_path)
    parser.add_argument("--normalize", action="store_true", help="scale each vector to unit L2 length")
    parser.add_argument("--allow-empty", action="store_true",
                        help="give empty lines a zero vector (flagged in `empty`) instead of stopping with an error")
    return options.add_run_options(parser, tokenized=False)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    def process(encoder: SentenceEncoder, handle: BinaryIO, name: str, total: int | None) -> Callable[[float], str]:
        rows, empty_rows = export(
            encoder, handle, name, args.output, model=model_name(args.model), tokenized=args.tokenized,
            batch_size=args.batch_size, normalize=args.normalize, allow_empty=args.allow_empty, bf16=args.bf16,
            progress=not args.quiet, total=total)
        empty_note = f" ({empty_rows:,} empty: zero vectors)" if empty_rows else ""
        return throughput_summary(f"{rows:,} sentences{empty_note} x {encoder.dim} dims", rows, "sentences",
                                  args.output)

    return run_model_on_input("lstmlab-embed", args, SentenceEncoder.load, process, action="embed")


if __name__ == "__main__":
    sys.exit(main())
