"""The tagger network without Lightning: shapes, losses, decoding, and that it learns."""

from __future__ import annotations

from itertools import islice

import pytest
import torch
from conftest import BUNDLED_EWT

from lstmlab.data.batching.ragged import Ragged
from lstmlab.data.readers.conllu import read_conllu
from lstmlab.data.tagging.split import TaggedSplit
from lstmlab.data.vocab.text_vocabs import TextVocabs
from lstmlab.data.vocab.vocab import Vocab
from lstmlab.models.bilstm_tagger import BiLSTMTagger, TaggerConfig


@pytest.fixture(scope="module")
def batch_and_vocabs(tiny_ewt):
    sentences = list(read_conllu(tiny_ewt["train"]))[:16]
    vocabs = TextVocabs.build(TextVocabs.count_forms(s["tokens"] for s in sentences),
                              (tag for s in sentences for tag in s["tags"]))
    tags = Ragged.from_rows([vocabs.labels.encode(s["tags"]) for s in sentences])
    batch = TaggedSplit(vocabs.encode_tokens(s["tokens"] for s in sentences), tags).__getitems__(range(16))
    return batch, vocabs, sentences


@pytest.mark.parametrize(("char_encoder", "use_crf", "char_options"), [
    ("cnn", False, {}), ("cnn", True, {"char_boundaries": True, "char_highway": 1}), ("lstm", True, {}),
    ("none", False, {})])
def test_tagger_learns_a_batch(batch_and_vocabs, char_encoder, use_crf, char_options):
    batch, vocabs, _ = batch_and_vocabs
    torch.manual_seed(0)
    net = BiLSTMTagger(TaggerConfig(len(vocabs.words), len(vocabs.chars), len(vocabs.labels), word_dim=16,
                                    char_encoder=char_encoder, hidden_size=32, num_layers=2, dropout=0.0,
                                    word_dropout=0.0, use_crf=use_crf, **char_options))
    if char_options:
        assert len(net.chars.highway.layers) == 1 and net.chars.boundaries.shape == (2, net.config.char_dim)
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


def test_an_auxiliary_head_learns_feats_and_leaves_tagging_as_it_was(batch_and_vocabs):
    """The FEATS head trains the shared BiLSTM through its own loss; the tag scores never read it, and a saved
    network (config and weights) comes back with it."""
    batch, vocabs, _ = batch_and_vocabs
    sentences = list(islice(read_conllu(BUNDLED_EWT / "en_ewt-ud-train.conllu.gz", extra_columns=["feats"]), 16))
    assert [s["tokens"] for s in sentences] == [s["tokens"] for s in batch_and_vocabs[2]]  # tiny_ewt's sentences
    feats = Vocab.build((value for s in sentences for value in s["feats"]), pad=None, unk=None)
    targets = TaggedSplit(vocabs.encode_tokens(s["tokens"] for s in sentences), None,
                          {"feats": Ragged.from_rows([feats.encode(s["feats"]) for s in sentences])})
    targets = targets.__getitems__(range(16))["aux"]
    torch.manual_seed(0)
    net = BiLSTMTagger(TaggerConfig(len(vocabs.words), len(vocabs.chars), len(vocabs.labels), word_dim=16,
                                    hidden_size=32, num_layers=1, dropout=0.0, word_dropout=0.0,
                                    aux_tags={"feats": len(feats)}, aux_weight=0.5))
    emissions = net.eval()(batch["words"], batch["chars"], batch["mask"])
    net.aux_outputs["feats"].weight.data.normal_()
    assert torch.equal(net(batch["words"], batch["chars"], batch["mask"]), emissions)
    optimizer = torch.optim.Adam(net.parameters(), lr=0.01)
    states = net.train().states(batch["words"], batch["chars"], batch["mask"])
    first = net.aux_loss(states, targets).item()
    for _ in range(60):
        optimizer.zero_grad()
        loss = net.aux_loss(net.states(batch["words"], batch["chars"], batch["mask"]), targets)
        loss.backward()
        optimizer.step()
    assert loss.item() < first / 5
    reloaded = BiLSTMTagger.from_saved(net.config_dict(), net.state_dict())
    assert reloaded.config.aux_tags == {"feats": len(feats)} and reloaded.config.aux_weight == 0.5
    assert torch.equal(reloaded.aux_outputs["feats"].weight, net.aux_outputs["feats"].weight)
