"""Vocabularies, pretrained vectors and the raw-text tokenizer."""

from __future__ import annotations

import gzip

import pytest
from conftest import ROOT

from lstmlab.data.errors import DataFormatError
from lstmlab.data.tagging_vocabs import TaggingVocabs
from lstmlab.data.tokenize import tokenize
from lstmlab.data.vectors import load_word_vectors
from lstmlab.data.vocab import Vocab


def test_vocab_order_specials_and_round_trip():
    vocab = Vocab.build(["b", "a", "b", "c", "c", "c"], extra=["z", "a"])
    assert vocab.itos == ["<pad>", "<unk>", "c", "b", "a", "z"]
    assert vocab.encode(["c", "never-seen"]) == [2, 1]
    assert Vocab.from_dict(vocab.to_dict()).itos == vocab.itos
    assert Vocab.build(["a", "b", "b"], min_freq=2).itos == ["<pad>", "<unk>", "b"]


def test_label_vocab_has_no_unknown():
    tags = Vocab.build(["NOUN", "VERB", "NOUN"], pad=None, unk=None)
    assert tags.itos == ["NOUN", "VERB"]
    with pytest.raises(KeyError):
        tags.index("ADJ")


def test_tagging_vocabs_encode_and_round_trip():
    vocabs = TaggingVocabs.build([(["The", "cat"], ["DET", "NOUN"])], max_word_length=2)
    encoded = vocabs.encode(["the", "Dog"], ["DET", "NOUN"])
    assert vocabs.words.decode(encoded.words.tolist()) == ["the", "<unk>"]  # lowercased lookup
    assert encoded.chars.shape == (2, 2)  # truncated to max_word_length
    assert vocabs.chars.decode(encoded.chars[0].tolist()) == ["<unk>", "h"]  # 't' unseen: only 'T' was
    restored = TaggingVocabs.from_dict(vocabs.to_dict())
    assert restored.encode(["cat"]).words.tolist() == vocabs.encode(["cat"]).words.tolist()
    with pytest.raises(KeyError):
        vocabs.encode(["cat"], ["ADJ"])


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


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("I don't know.", ["I", "do", "n't", "know", "."]),
        ("John's car (the red one) costs $3.50!", ["John", "'s", "car", "(", "the", "red", "one", ")", "costs",
                                                   "$3.50", "!"]),
        ('Mr. Smith lives in the U.S., "really".', ["Mr.", "Smith", "lives", "in", "the", "U.S.", ",", '"',
                                                    "really", '"', "."]),
        ("We'll see...", ["We", "'ll", "see", "..."]),
    ],
)
def test_tokenize(text, tokens):
    assert tokenize(text) == tokens
