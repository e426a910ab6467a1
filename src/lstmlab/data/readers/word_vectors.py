"""Reading pretrained word vectors in GloVe / word2vec / fastText text format (plain or gzipped).

Only the lines that are needed are parsed into floats, and those with numpy's C parser in chunks, so a 400k-word
file loads in seconds and a 2M-word one costs its float32 array, not a Python object per number.
"""

from __future__ import annotations

import itertools
import logging
from collections import Counter
from collections.abc import Container, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lstmlab.data.errors import DataFormatError
from lstmlab.data.text_files import read_lines, resolve_data_file

log = logging.getLogger(__name__)

_CHUNK = 1 << 16  # lines parsed per numpy call
_DIMENSION_SAMPLE = 100  # first lines whose vector widths decide the dimension of a file without a header


@dataclass
class WordVectors:
    words: list[str]
    vectors: np.ndarray  # float32 [len(words), dim]
    duplicates: int = 0  # later lines of a word already read, ignored

    @property
    def dim(self) -> int:
        return self.vectors.shape[1]


def _is_word2vec_header(line: str) -> bool:
    fields = line.split()
    return len(fields) == 2 and all(f.isdigit() for f in fields)


def _is_number(field: str) -> bool:
    try:
        float(field)
    except ValueError:
        return False
    return True


def _numbers_after_word(fields: list[str]) -> int:
    return sum(_is_number(f) for f in fields[1:])


def _vector_width(line: str) -> int:
    """How many fields at the end of a line are numbers; the first field is the word even when it is one (`1`)."""
    fields = line.split(" ")
    numbers = itertools.takewhile(_is_number, reversed(fields[1:]))
    return sum(1 for _ in numbers)


def _dimension(path: Path, sample: list[tuple[int, str]]) -> int:
    """The most common vector width of the first lines: a word with spaces (`. . .` in GloVe 840B) may open the
    file, but it is rare, so it cannot outvote the others."""
    dim = Counter(_vector_width(line) for _, line in sample).most_common(1)[0][0]
    if dim < 1:
        raise DataFormatError(path, sample[0][0], "expected a word followed by its vector components")
    return dim


def _split_line(path: Path, number: int, line: str, dim: int, dim_source: str) -> tuple[str, str]:
    """(word, vector text) of one line: the last `dim` fields are the vector, the rest (spaces and all) the word."""
    spaces = line.count(" ")
    if spaces == dim:  # the usual line: no space in the word, split without building a field per number
        cut = line.index(" ")
        return line[:cut], line[cut + 1 :]
    fields = line.split(" ")
    if spaces < dim or any(_is_number(f) for f in fields[1:-dim]):
        raise DataFormatError(path, number, f"expected {dim} numbers after the word ({dim_source}), got "
                                            f"{_numbers_after_word(fields)}")
    return " ".join(fields[:-dim]), " ".join(fields[-dim:])


def _parse(path: Path, pending: list[tuple[int, str, str]], dim: int) -> np.ndarray:
    """float32 [len(pending), dim] from (line number, word, vector text); a bad number names its line."""
    try:
        return np.loadtxt([text for _, _, text in pending], dtype=np.float32, delimiter=" ", comments=None,
                          ndmin=2).reshape(len(pending), dim)
    except ValueError:
        pass
    rows = []
    for number, word, text in pending:  # the slow path, only to find the culprit
        try:
            rows.append(np.asarray(text.split(" "), dtype=np.float32))
        except ValueError:
            raise DataFormatError(path, number, f"vector of {word!r} has a field that is not a number") from None
    return np.stack(rows)


def _content_lines(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, line) of the lines that hold something, trailing spaces dropped (GloVe ends lines with one)."""
    for number, line in read_lines(path):
        line = line.rstrip(" ")
        if line and not line.isspace():
            yield number, line


def load_word_vectors(
    path: str | Path, wanted: Container[str] | None = None, max_words: int | None = None
) -> WordVectors:
    """Load the vectors of `wanted` words (all when None), from at most the first `max_words` lines.

    The first occurrence of a word wins. A word2vec/fastText header line ("count dim") sets the dimension;
    otherwise the most common count of numbers that end the first 100 lines does. Words may contain spaces
    (GloVe 840B has `. . .` and `at name@domain.com`): the last `dim` fields of a line are the vector and the
    rest is the word. A line
    with more fields than that is a word with spaces only if none of the fields after its first parses as a
    number; otherwise it is a row of the wrong dimension and an error, so a too-long row never becomes part
    of a word. Every line is checked this way, but only the `wanted` ones are parsed into floats: a row of
    another dimension is an error naming its line, the numbers expected and the numbers found.
    """
    path = resolve_data_file(path)
    words: list[str] = []
    seen: set[str] = set()
    duplicates = 0
    # one growing array (resized in place) rather than chunks to concatenate, so the peak is ~1.5x, not 2x
    vectors = np.empty((0, 0), dtype=np.float32)
    pending: list[tuple[int, str, str]] = []
    read = 0
    lines = _content_lines(path)
    sample = list(itertools.islice(lines, _DIMENSION_SAMPLE))
    if not sample:
        raise DataFormatError(path, None, "no vectors found (the file is empty)")
    if sample[0][0] == 1 and _is_word2vec_header(sample[0][1]):
        dim, dim_source = int(sample.pop(0)[1].split()[1]), "the dimension in the header on line 1"
    else:
        dim, dim_source = _dimension(path, sample), f"the dimension of most of the first {len(sample)} lines"

    def flush() -> None:
        nonlocal vectors
        parsed = _parse(path, pending, dim)
        start = len(words) - len(pending)
        if len(words) > vectors.shape[0]:
            vectors.resize((max(len(words), vectors.shape[0] * 3 // 2), dim), refcheck=False)
        vectors[start : len(words)] = parsed
        pending.clear()

    for number, line in itertools.chain(sample, lines):
        if max_words is not None and read >= max_words:
            break
        read += 1
        word, text = _split_line(path, number, line, dim, dim_source)
        if wanted is not None and word not in wanted:
            continue
        if word in seen:
            duplicates += 1
            continue
        seen.add(word)
        words.append(word)
        pending.append((number, word, text))
        if len(pending) == _CHUNK:
            flush()
    if pending:
        flush()
    vectors.resize((len(words), dim), refcheck=False)
    log.info("%s: loaded %d vectors of dim %d (read %d lines, %d repeated words ignored)",
             path, len(words), dim, read, duplicates)
    return WordVectors(words, vectors, duplicates)
