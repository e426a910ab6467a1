"""Plain-text corpora for language modelling: one sentence (or one document) per line, in one or more files."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from lstmlab.data.readers.nli import TOKENIZERS
from lstmlab.data.text_files import read_lines


def read_text_corpus(path: str, files: Sequence[str], tokenizer: str = "whitespace", encoding: str = "utf-8"
                     ) -> Iterator[dict]:
    """Every line of every file, in order, as tokens with its file and line number. Empty lines are kept (with no
    tokens) so that the data module can count what it skips. Bytes that are not `encoding` are an error naming
    the file and line."""
    split_words = TOKENIZERS[tokenizer]
    for file in files:
        for number, line in read_lines(file, encoding):
            yield {"tokens": split_words(line), "file": str(file), "line": number}
