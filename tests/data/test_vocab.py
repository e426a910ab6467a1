"""Vocabularies: order, specials, round trips."""

from __future__ import annotations

import pytest

from lstmlab.data.vocab.text_vocabs import TextVocabs
from lstmlab.data.vocab.vocab import Vocab


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


def test_text_vocabs_encode_and_round_trip():
    vocabs = TextVocabs.build(TextVocabs.count_forms([["The", "cat"]]), ["DET", "NOUN"], max_word_length=2)
    encoded = vocabs.encode_tokens([["the", "Dog"], ["cat", "the"]])
    batch = encoded.padded([0, 1])
    assert vocabs.words.decode(batch["words"][0].tolist()) == ["the", "<unk>"]  # lowercased lookup
    assert batch["chars"].shape == (2, 2, 2)  # truncated to max_word_length
    assert vocabs.chars.decode(batch["chars"][0, 0].tolist()) == ["<unk>", "h"]  # 't' unseen: only 'T' was
    assert len(encoded.form_words) == 3  # distinct forms "the", "Dog", "cat" are encoded once
    assert vocabs.labels.itos == ["DET", "NOUN"]
    restored = TextVocabs.from_dict(vocabs.to_dict())
    assert restored == vocabs
    assert TextVocabs.from_dict(TextVocabs.build(TextVocabs.count_forms([["a"]])).to_dict()).labels is None
