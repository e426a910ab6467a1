"""`lstmlab-tag --model RUN_DIR raw.txt -o tagged.conllu` (or `< raw.txt > tagged.conllu`): tag raw text, one
sentence per line.

Lines are split into tokens by the rule of the model's language (`lstmlab.data.tokenization.rules`: UD English EWT's
for English models, whitespace and Unicode punctuation for any other), or on whitespace alone with --tokenized.
The output has one sentence per input line, in CoNLL-U (tag in UPOS or XPOS column) or TSV (token<TAB>tag); with
-o it appears whole when tagging succeeds, and otherwise not at all (an older file is left as it was).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import BinaryIO, TextIO

from lstmlab import Tagger
from lstmlab.cli import options
from lstmlab.cli.command import run_model_on_input, text_output, throughput_summary
from lstmlab.data.errors import DataFormatError
from lstmlab.data.text_files import chunked, decode_lines
from lstmlab.runtime.tagged_sentence import TaggedSentence
from lstmlab.runtime.text_pipeline import is_empty

UPOS_TAGS = frozenset(
    "ADJ ADP ADV AUX CCONJ DET INTJ NOUN NUM PART PRON PROPN PUNCT SCONJ SYM VERB X".split()
)
# lines read, tokenized and tagged at a time, sorted by length within it: 4,096 tag as fast as Tagger.predict on the
# whole input (1,024 were 0.86x: more padding); on a GPU the next chunk is prepared while the network tags
CHUNK_LINES = 4096


def read_lines(handle: Iterable[bytes], name: str) -> Iterator[str]:
    """The lines of the input; an empty line is an error, since every line must be one sentence."""
    for number, line in decode_lines(handle, name):
        if is_empty(line):
            raise DataFormatError(name, number, "empty line: expected one sentence per line")
        yield line


def write_conllu(out: TextIO, number: int, text: str, sentence: TaggedSentence, upos: bool) -> None:
    out.write(f"# sent_id = {number}\n# text = {text.strip()}\n")
    for index, (token, tag) in enumerate(sentence, start=1):
        upos_tag, xpos_tag = (tag, "_") if upos else ("_", tag)
        out.write(f"{index}\t{token}\t_\t{upos_tag}\t{xpos_tag}\t_\t_\t_\t_\t_\n")
    out.write("\n")


def write_tsv(out: TextIO, sentence: TaggedSentence) -> None:
    out.writelines(f"{token}\t{tag}\n" for token, tag in sentence)
    out.write("\n")


def tag(tagger: Tagger, handle: Iterable[bytes], name: str, out: TextIO, *, tokenized: bool = False,
        output_format: str = "conllu", batch_size: int = options.BATCH_SIZE, bf16: bool = False) -> tuple[int, int]:
    """Tag every line of `handle` (named `name` in errors) into `out`; (sentences, tokens)."""
    upos = set(tagger.tags) <= UPOS_TAGS
    sentences = tokens = 0
    chunks = chunked(read_lines(handle, name), CHUNK_LINES)
    split = str.split if tokenized else tagger.tokenize
    for lines, tagged in tagger.predict_chunks(chunks, batch_size, bf16, split=split):
        for text, sentence in zip(lines, tagged, strict=True):
            sentences += 1
            tokens += len(sentence.tokens)
            if output_format == "conllu":
                write_conllu(out, sentences, text, sentence, upos)
            else:
                write_tsv(out, sentence)
    return sentences, tokens


def build_parser() -> argparse.ArgumentParser:
    parser = options.model_command_parser("lstmlab-tag", __doc__, "a tagger (lstmlab-train experiment=pos_quick, "
                                          "pos_ewt, ...)", "output file (default: standard output)",
                                          output_required=False)
    parser.add_argument("--format", choices=("conllu", "tsv"), default="conllu",
                        help="CoNLL-U (the tag in the UPOS or XPOS column) or token<TAB>tag (default conllu)")
    return options.add_run_options(parser, tokenized=False, progress_bar=False)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    def process(tagger: Tagger, handle: BinaryIO, name: str, total: int | None) -> Callable[[float], str]:
        with text_output(args.output) as out:
            sentences, tokens = tag(tagger, handle, name, out, tokenized=args.tokenized, output_format=args.format,
                                    batch_size=args.batch_size, bf16=args.bf16)
        return throughput_summary(f"{sentences:,} sentences, {tokens:,} tokens", tokens, "tokens",
                                  args.output or "<stdout>")

    return run_model_on_input("lstmlab-tag", args, Tagger.load, process, action="tag")


if __name__ == "__main__":
    sys.exit(main())
