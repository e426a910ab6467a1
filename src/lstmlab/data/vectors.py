"""Reader for pretrained word vectors in GloVe / word2vec / fastText text format, plain or gzipped.

Only the vectors of the words asked for are parsed into floats, so a 400k-word file loads in seconds.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lstmlab.data.errors import DataFormatError
from lstmlab.data.text_files import read_lines, resolve_data_file

log = logging.getLogger(__name__)


@dataclass
class WordVectors:
    words: list[str]
    vectors: np.ndarray  # float32 [len(words), dim]

    @property
    def dim(self) -> int:
        return self.vectors.shape[1]


def _is_word2vec_header(line: str) -> bool:
    fields = line.split()
    return len(fields) == 2 and all(f.isdigit() for f in fields)


def load_word_vectors(
    path: str | Path, wanted: Collection[str] | None = None, max_words: int | None = None
) -> WordVectors:
    """Load the vectors of `wanted` words (all when None), from at most the first `max_words` lines.

    The first occurrence of a word wins. Words may contain spaces (GloVe 840B has some): the last `dim`
    fields are the vector and the rest is the word.
    """
    path = resolve_data_file(path)
    words: list[str] = []
    rows: list[np.ndarray] = []
    seen: set[str] = set()
    dim: int | None = None
    read = 0
    for number, line in read_lines(path):
        if number == 1 and _is_word2vec_header(line):
            dim = int(line.split()[1])
            continue
        if not line.strip():
            continue
        if max_words is not None and read >= max_words:
            break
        read += 1
        fields = line.rstrip(" ").split(" ")
        if dim is None:
            dim = len(fields) - 1
            if dim < 1:
                raise DataFormatError(path, number, "expected a word followed by its vector components")
        if len(fields) < dim + 1:
            raise DataFormatError(path, number, f"expected a word and {dim} numbers, found {len(fields)} fields")
        word = " ".join(fields[:-dim])
        if word in seen or (wanted is not None and word not in wanted):
            continue
        try:
            rows.append(np.asarray(fields[-dim:], dtype=np.float32))
        except ValueError:
            raise DataFormatError(path, number, f"vector of {word!r} has a field that is not a number") from None
        words.append(word)
        seen.add(word)
    if dim is None:
        raise DataFormatError(path, None, "no vectors found (the file is empty)")
    vectors = np.stack(rows) if rows else np.zeros((0, dim), dtype=np.float32)
    log.info("%s: loaded %d vectors of dim %d (read %d lines)", path, len(words), dim, read)
    return WordVectors(words, vectors)
