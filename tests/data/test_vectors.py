"""Pretrained word vectors: the reader, its bad inputs, and matching them to a vocabulary."""

from __future__ import annotations

import gzip
import logging

import pytest
from conftest import ROOT

from lstmlab.data.errors import DataFormatError
from lstmlab.data.readers.word_vectors import load_word_vectors
from lstmlab.data.vocab.pretrained_vectors import MatchedVectors, PretrainedVectors, match_vectors
from lstmlab.data.vocab.vocab import Vocab

GLOVE = ROOT / "data/glove/glove.6B.50d.subset.txt.gz"
# cased, as GloVe 840B and fastText are; the second "new" is a repeated line
CASED = "The 1 0\nthe 2 0\nParis 3 0\nPARIS 4 0\nNEW 5 0\nnew 6 0\nBerlin 7 0\nnew 8 0\n<unk> 9 0\n"


def vectors_by_key(matched: MatchedVectors, keys: list[str]) -> dict[str, list[float]]:
    """What each vocabulary entry gets, through `rows` as the data module uses it."""
    vocab = Vocab.build(keys, extra=matched.extra_words)
    rows, vectors = matched.rows(vocab)
    return {vocab.itos[r]: v.tolist() for r, v in zip(rows.tolist(), vectors, strict=True)}


def test_bundled_glove_subset_known_values():
    vectors = load_word_vectors(GLOVE, wanted={"the", "cat", "zzzzqx"})
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
    with pytest.raises(DataFormatError) as error:
        load_word_vectors(path)
    assert str(error.value) == f"{path}:2: expected 3 numbers after the word (the dimension of most of the first 2 " \
                               "lines), got 2"
    path.write_text("a 1 2\nb 1 x\n")
    with pytest.raises(DataFormatError, match=r"bad.txt:2: vector of 'b' has a field that is not a number"):
        load_word_vectors(path)


def test_words_with_spaces_but_a_too_long_row_is_an_error(tmp_path):
    path = tmp_path / "glove840b_like.txt"
    path.write_text("the 1 2\n. . . 3 4\nat name@domain.com 5 6 \n")
    vectors = load_word_vectors(path)
    assert vectors.words == ["the", ". . .", "at name@domain.com"]
    assert vectors.vectors.tolist() == [[1, 2], [3, 4], [5, 6]]

    path.write_text("the 1 2\nhello 1 2 3\n")  # used to load as the word 'hello 1' with the vector [2, 3]
    for wanted in (None, {"the"}):  # every line is checked, also those not parsed into floats
        with pytest.raises(DataFormatError) as error:
            load_word_vectors(path, wanted=wanted)
        assert str(error.value) == f"{path}:2: expected 2 numbers after the word (the dimension of most of the " \
                                   "first 2 lines), got 3"
    path.write_text("the 1 2\nnew 5 york 1 2\n")
    with pytest.raises(DataFormatError, match=r":2: expected 2 numbers after the word \(.*\), got 3$"):
        load_word_vectors(path)


def test_a_first_word_with_spaces_does_not_set_the_dimension(tmp_path):
    """GloVe 840B and fastText files have words with spaces; one on the first line used to make every other line
    "short" (dimension 3 below, from the spaces of `. . . 0.1 0.2`)."""
    path = tmp_path / "glove840b_head.txt"
    path.write_text(". . . 0.1 0.2 \nthe 1 2 \ncat 3 4 \n")
    vectors = load_word_vectors(path)
    assert vectors.words == [". . .", "the", "cat"]
    assert vectors.vectors.ravel().tolist() == pytest.approx([0.1, 0.2, 1, 2, 3, 4])
    path.write_text("new york 1 2\n")  # alone: the numbers that end it are its vector
    assert load_word_vectors(path).words == ["new york"]


def test_a_row_of_another_dimension_names_its_line_and_the_dimension_source(tmp_path):
    path = tmp_path / "short.txt"
    path.write_text("the 1 2 3\ncat 1 2 3\ndog 1 2\nend 1 2 3\n")
    with pytest.raises(DataFormatError) as error:
        load_word_vectors(path, wanted={"the"})
    assert str(error.value) == f"{path}:3: expected 3 numbers after the word (the dimension of most of the first 4 " \
                               "lines), got 2"
    path.write_text("the 1 2 3 4\ncat 1 2 3\ndog 1 2 3\n")  # the first line is the odd one, and is named
    with pytest.raises(DataFormatError, match=r"short.txt:1: expected 3 numbers after the word .*, got 4$"):
        load_word_vectors(path)
    path.write_text("2 3\nthe 1 2 3\ncat 1 2\n")
    with pytest.raises(DataFormatError) as error:
        load_word_vectors(path)
    assert str(error.value) == f"{path}:3: expected 3 numbers after the word (the dimension in the header on line " \
                               "1), got 2"


def test_file_sharing_no_word_with_the_vocabulary_is_a_clear_error(tmp_path):
    path = tmp_path / "other.txt"
    path.write_text("hund 1 2\nkatze 3 4\n")
    keys = ["the", "cat", "sat", "on", "a", "mat"]
    for extend in (False, True):
        with pytest.raises(DataFormatError) as error:
            match_vectors(PretrainedVectors(str(path), extend_vocab=extend), keys, lowercase=True)
        assert str(error.value) == (f"{path}: shares no word with the vocabulary: none of the 6 words looked up "
                                    "('the', 'cat', 'sat', 'on', 'a', ...) has a vector in it")


def test_lowercased_keys_take_cased_entries(tmp_path, caplog):
    path = tmp_path / "cased.txt"
    path.write_text(CASED)
    keys = ["the", "paris", "new", "london"]
    with caplog.at_level(logging.INFO, logger="lstmlab.data.vocab.pretrained_vectors"):
        matched = match_vectors(PretrainedVectors(str(path), extend_vocab=False), keys, lowercase=True)
    # exact "the" and "new" win over "The" and "NEW" before them; only "Paris" serves "paris"
    assert matched.counts == {"exact": 2, "case_variant": 1, "missing": 1, "unreachable": 4, "extension": 0}
    assert matched.extra_words == []
    assert vectors_by_key(matched, keys) == {"the": [2, 0], "paris": [3, 0], "new": [6, 0]}
    assert ("3 of 4 training words have a vector (2 exactly, 1 through a case variant), 1 have none; "
            "4 file entries unreachable (another spelling serves their word); 0 words added from the file"
            ) in caplog.text

    matched = match_vectors(PretrainedVectors(str(path), extend_vocab=True), keys, lowercase=True)
    assert matched.counts == {"exact": 2, "case_variant": 1, "missing": 1, "unreachable": 4, "extension": 1}
    assert matched.extra_words == ["berlin"]  # lowercased, and never the specials
    assert vectors_by_key(matched, keys)["berlin"] == [7, 0]


def test_cased_keys_fall_back_to_the_lowercase_entry(tmp_path):
    keys = ["The", "the", "Cat", "zzzzqx"]
    matched = match_vectors(PretrainedVectors(str(GLOVE), extend_vocab=False), keys, lowercase=False)
    assert matched.counts == {"exact": 1, "case_variant": 2, "missing": 1, "unreachable": 0, "extension": 0}
    found = vectors_by_key(matched, keys)
    assert found["The"] == found["the"] and found["The"][:2] == pytest.approx([0.418, 0.24968])
    assert found["Cat"] == pytest.approx(load_word_vectors(GLOVE, wanted={"cat"}).vectors[0].tolist())

    path = tmp_path / "cased.txt"
    path.write_text(CASED)
    keys = ["The", "paris", "PARIS", "Berlin", "New"]  # an all-lowercase key only takes its exact entry
    matched = match_vectors(PretrainedVectors(str(path), extend_vocab=False), keys, lowercase=False)
    assert matched.counts == {"exact": 3, "case_variant": 1, "missing": 1, "unreachable": 1, "extension": 0}
    assert vectors_by_key(matched, keys) == {"The": [1, 0], "PARIS": [4, 0], "Berlin": [7, 0], "New": [6, 0]}


def test_only_extend_vocab_parses_every_line(tmp_path):
    path = tmp_path / "vectors.txt"
    path.write_text("the 1 2\nzzz 1 x\n")
    matched = match_vectors(PretrainedVectors(str(path), extend_vocab=False), ["the"], lowercase=True)
    assert matched.keys == ["the"] and matched.vectors.tolist() == [[1, 2]]
    with pytest.raises(DataFormatError, match=r":2: vector of 'zzz' has a field that is not a number"):
        match_vectors(PretrainedVectors(str(path), extend_vocab=True), ["the"], lowercase=True)


def test_extend_vocab_with_max_words():
    keys = ["of", "the", "cat", "unseenzz"]
    matched = match_vectors(PretrainedVectors(str(GLOVE), max_words=100), keys, lowercase=True)
    assert matched.counts == {"exact": 2, "case_variant": 0, "missing": 2, "unreachable": 0, "extension": 98}
    assert matched.extra_words[:3] == [",", ".", "to"]
    assert len(set(matched.extra_words)) == 98 and not set(matched.extra_words) & set(keys)
    assert matched.dim == 50 and matched.vectors.shape == (100, 50)


def test_rows_skip_keys_the_vocabulary_dropped():
    matched = match_vectors(PretrainedVectors(str(GLOVE), extend_vocab=False), ["the", "cat", "dog"], lowercase=True)
    vocab = Vocab.build(["dog", "the"])  # e.g. "cat" fell under min_word_freq
    rows, vectors = matched.rows(vocab)
    assert sorted(vocab.itos[r] for r in rows.tolist()) == ["dog", "the"]
    reference = load_word_vectors(GLOVE, wanted={"the", "dog"})
    for row, vector in zip(rows.tolist(), vectors, strict=True):
        assert vector.tolist() == reference.vectors[reference.words.index(vocab.itos[row])].tolist()
