"""`lstmlab-tag --model RUN_DIR < raw.txt > tagged.conllu`: tag raw text, one sentence per line.

Lines are tokenized by the rule in `lstmlab.data.tokenize` (or split on whitespace with --tokenized).
The output has one sentence per input line, in CoNLL-U (tag in UPOS or XPOS column) or TSV (token<TAB>tag).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TextIO

from lstmlab.data.errors import DataFormatError
from lstmlab.data.text_files import chunked, decode_lines
from lstmlab.data.tokenize import tokenize
from lstmlab.inference.tagger import TaggedSentence, Tagger
from lstmlab.io.model_folder import ModelFileError
from lstmlab.utils.malloc_tuning import tune_malloc
from lstmlab.utils.onednn_cache import bound_primitive_cache

UPOS_TAGS = frozenset(
    "ADJ ADP ADV AUX CCONJ DET INTJ NOUN NUM PART PRON PROPN PUNCT SCONJ SYM VERB X".split()
)
CHUNK_LINES = 4096  # sentences tagged per batch of input, so large inputs stream


def read_sentences(handle: Iterable[bytes], name: str, pretokenized: bool) -> Iterator[tuple[str, list[str]]]:
    """(text, tokens) per line; an empty line is an error, since every line must be one sentence."""
    for number, line in decode_lines(handle, name):
        tokens = line.split() if pretokenized else tokenize(line)
        if not tokens:
            raise DataFormatError(name, number, "empty line: expected one sentence per line")
        yield line, tokens


def write_conllu(out: TextIO, number: int, text: str, sentence: TaggedSentence, upos: bool) -> None:
    out.write(f"# sent_id = {number}\n# text = {text.strip()}\n")
    for index, (token, tag) in enumerate(sentence, start=1):
        upos_tag, xpos_tag = (tag, "_") if upos else ("_", tag)
        out.write(f"{index}\t{token}\t_\t{upos_tag}\t{xpos_tag}\t_\t_\t_\t_\t_\n")
    out.write("\n")


def write_tsv(out: TextIO, sentence: TaggedSentence) -> None:
    out.writelines(f"{token}\t{tag}\n" for token, tag in sentence)
    out.write("\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="lstmlab-tag", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="run directory, exported model folder or .ckpt file")
    parser.add_argument("input", nargs="?", type=Path, help="text file (default: standard input)")
    parser.add_argument("--tokenized", action="store_true", help="input is tokenized: split on whitespace only")
    parser.add_argument("--format", choices=("conllu", "tsv"), default="conllu")
    parser.add_argument("--batch-size", type=int, default=256)
    args = parser.parse_args(argv)
    tune_malloc()
    bound_primitive_cache()

    try:
        tagger = Tagger.load(args.model)
        upos = set(tagger.tags) <= UPOS_TAGS
        handle = args.input.open("rb") if args.input else sys.stdin.buffer
        name = str(args.input) if args.input else "<stdin>"
        number = 0
        with handle:
            for chunk in chunked(read_sentences(handle, name, args.tokenized), CHUNK_LINES):
                tagged = tagger.predict([tokens for _, tokens in chunk], batch_size=args.batch_size)
                for (text, _), sentence in zip(chunk, tagged, strict=True):
                    number += 1
                    if args.format == "conllu":
                        write_conllu(sys.stdout, number, text, sentence, upos)
                    else:
                        write_tsv(sys.stdout, sentence)
    except (DataFormatError, ModelFileError, FileNotFoundError) as error:
        print(f"lstmlab-tag: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
