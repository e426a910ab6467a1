"""Corpora for language modelling: plain text, one sentence (or one document) per line, in one or more files; or a
CoNLL-U file, whose sentences' syntactic words are read as a tagger reads them (a treebank's own text)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from lstmlab.data.readers.conllu import read_conllu
from lstmlab.data.readers.nli import TOKENIZERS
from lstmlab.data.text_files import read_lines

CONLLU_SUFFIXES = (".conllu", ".conllu.gz")


def read_text_corpus(path: str, files: Sequence[str], tokenizer: str = "whitespace", encoding: str = "utf-8"
                     ) -> Iterator[dict]:
    """Every line of every file, in order, as tokens with its file and line number. Empty lines are kept (with no
    tokens) so that the data module can count what it skips. Bytes that are not `encoding` are an error naming
    the file and line. A CoNLL-U file gives one line per sentence, its first word's, whatever the tokenizer."""
    split_words = TOKENIZERS[tokenizer]
    for file in files:
        if str(file).endswith(CONLLU_SUFFIXES):
            for sentence in read_conllu(file, tag_column=None):
                yield {"tokens": sentence["tokens"], "file": str(file), "line": sentence["lines"][0]}
            continue
        for number, line in read_lines(file, encoding):
            yield {"tokens": split_words(line), "file": str(file), "line": number}
