"""Pretrained word vectors: the reader and its bad inputs."""

from __future__ import annotations

import gzip

import pytest
from conftest import ROOT

from lstmlab.data.errors import DataFormatError
from lstmlab.data.vectors import load_word_vectors


def test_bundled_glove_subset_known_values():
    vectors = load_word_vectors(ROOT / "data/glove/glove.6B.50d.subset.txt.gz", wanted={"the", "cat", "zzzzqx"})
    assert sorted(vectors.words) == ["cat", "the"]
    assert vectors.dim == 50
    the = vectors.vectors[vectors.words.index("the")]
    assert the[0] == pytest.approx(0.418) and the[1] == pytest.approx(0.24968)


def test_word2vec_header_gzip_spaces_and_max_words(tmp_path):
    path = tmp_path / "w2v.txt.gz"
    path.write_bytes(gzip.compress(b"3 2\nhello 1 2\nnew york 3 4\nworld 5 6\n"))
    vectors = load_word_vectors(path)
    assert vectors.words == ["hello", "new york", "world"]
    assert vectors.vectors.tolist() == [[1, 2], [3, 4], [5, 6]]
    assert load_word_vectors(path, max_words=1).words == ["hello"]


def test_vectors_bad_lines(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text("a 1 2 3\nb 1 2\n")
    with pytest.raises(DataFormatError, match=r"bad.txt:2: expected a word and 3 numbers, found 3 fields"):
        load_word_vectors(path)
    path.write_text("a 1 2\nb 1 x\n")
    with pytest.raises(DataFormatError, match=r"bad.txt:2: vector of 'b' has a field that is not a number"):
        load_word_vectors(path)
