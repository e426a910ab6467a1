"""The tagger network without Lightning: shapes, losses, decoding, and that it learns."""

from __future__ import annotations

import pytest
import torch

from lstmlab.data.batching.ragged import Ragged
from lstmlab.data.readers.conllu import read_conllu
from lstmlab.data.tagging.split import TaggedSplit
from lstmlab.data.vocab.text_vocabs import TextVocabs
from lstmlab.models.bilstm_tagger import BiLSTMTagger, TaggerConfig


@pytest.fixture(scope="module")
def batch_and_vocabs(tiny_ewt):
    sentences = list(read_conllu(tiny_ewt["train"]))[:16]
    vocabs = TextVocabs.build(TextVocabs.count_forms(s["tokens"] for s in sentences),
                              (tag for s in sentences for tag in s["tags"]))
    tags = Ragged.from_rows([vocabs.labels.encode(s["tags"]) for s in sentences])
    batch = TaggedSplit(vocabs.encode_tokens(s["tokens"] for s in sentences), tags).__getitems__(range(16))
    return batch, vocabs


@pytest.mark.parametrize(("char_encoder", "use_crf"), [("cnn", False), ("lstm", True), ("none", False)])
def test_tagger_learns_a_batch(batch_and_vocabs, char_encoder, use_crf):
    batch, vocabs = batch_and_vocabs
    torch.manual_seed(0)
    net = BiLSTMTagger(TaggerConfig(len(vocabs.words), len(vocabs.chars), len(vocabs.labels), word_dim=16,
                                    char_encoder=char_encoder, hidden_size=32, num_layers=2, dropout=0.0,
                                    word_dropout=0.0, use_crf=use_crf))
    optimizer = torch.optim.Adam(net.parameters(), lr=0.01)
    emissions = net(batch["words"], batch["chars"], batch["mask"])
    assert emissions.shape == (*batch["words"].shape, len(vocabs.labels))
    first = net.loss(emissions, batch["tags"], batch["mask"]).item()
    for _ in range(60):
        optimizer.zero_grad()
        loss = net.loss(net(batch["words"], batch["chars"], batch["mask"]), batch["tags"], batch["mask"])
        loss.backward()
        optimizer.step()
    assert loss.item() < first / 10
    predicted = net.decode(net.eval()(batch["words"], batch["chars"], batch["mask"]), batch["mask"])
    accuracy = (predicted == batch["tags"])[batch["mask"]].float().mean().item()
    assert accuracy > 0.97
    assert predicted[~batch["mask"]].eq(0).all()


def test_unknown_char_encoder_is_rejected():
    with pytest.raises(ValueError, match="char_encoder must be 'cnn', 'lstm' or 'none', got 'gru'"):
        BiLSTMTagger(TaggerConfig(10, 10, 3, char_encoder="gru"))
