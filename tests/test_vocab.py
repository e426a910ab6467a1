"""Vocabularies: order, specials, round trips."""

from __future__ import annotations

import pytest

from lstmlab.data.tagging_vocabs import TaggingVocabs
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
