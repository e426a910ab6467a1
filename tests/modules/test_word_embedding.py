"""Word embeddings: pretrained rows, frozen extension rows, word dropout."""

from __future__ import annotations

import pytest
import torch
from conftest import ROOT, needs_bf16
from safetensors.torch import load_file, save_file

from lstmlab.data.readers.word_vectors import load_word_vectors
from lstmlab.data.vocab.pretrained_vectors import PretrainedVectors, match_vectors
from lstmlab.data.vocab.vocab import Vocab
from lstmlab.modules.word_embedding import WordEmbedding

GLOVE = ROOT / "data/glove/glove.6B.50d.subset.txt.gz"


def test_word_dropout_and_pretrained_rows():
    embedding = WordEmbedding(10, 4, word_dropout=1.0)
    rows, vectors = torch.tensor([2, 5]), torch.arange(8, dtype=torch.float).view(2, 4)
    embedding.load_pretrained(rows, vectors)
    assert torch.equal(embedding.embedding.weight[5], vectors[1])
    assert embedding.embedding.weight[0].eq(0).all()
    words = torch.tensor([[2, 5, 0]])
    assert torch.equal(embedding.eval()(words)[0, 0], vectors[0])
    dropped = embedding.train()(words)
    assert torch.equal(dropped[0, 0], embedding.embedding.weight[1]) and dropped[0, 2].eq(0).all()


def test_all_rows_trainable_by_default_keeps_the_saved_layout():
    embedding = WordEmbedding(10, 4)
    assert embedding.frozen is None and list(embedding.state_dict()) == ["embedding.weight"]
    assert embedding.weight is embedding.embedding.weight


def test_frozen_rows_get_no_gradient_and_no_optimizer_state():
    embedding = WordEmbedding(10, 4, trainable_rows=6)
    assert [(name, p.shape) for name, p in embedding.named_parameters()] == [("embedding.weight", (6, 4))]
    assert embedding.frozen.shape == (4, 4) and not embedding.frozen.requires_grad
    frozen_before = embedding.frozen.clone()
    optimizer = torch.optim.Adam(embedding.parameters(), lr=0.1)
    embedding(torch.tensor([[2, 7, 9]])).sum().backward()
    grad = embedding.embedding.weight.grad
    assert grad[2].eq(1).all() and grad[[0, 1, 3, 4, 5]].eq(0).all()  # row 5 is where frozen ids were clamped
    assert embedding.frozen.grad is None
    optimizer.step()
    assert torch.equal(embedding.frozen, frozen_before)
    assert [tuple(s["exp_avg"].shape) for s in optimizer.state.values()] == [(6, 4)]


def test_pretrained_vectors_fill_both_parts():
    embedding = WordEmbedding(10, 4, trainable_rows=6)
    rows, vectors = torch.tensor([2, 7, 9]), torch.arange(12, dtype=torch.float).view(3, 4)
    embedding.load_pretrained(rows, vectors)
    assert torch.equal(embedding.weight[rows], vectors)
    assert torch.equal(embedding.eval()(rows.view(1, 3))[0], vectors)
    assert embedding.weight[0].eq(0).all()


def test_random_rows_take_the_vectors_scale_and_no_vectors_is_no_nan():
    torch.manual_seed(0)
    embedding = WordEmbedding(3000, 50, trainable_rows=1000)
    rows = torch.arange(1000, 2000)  # vectors for half the frozen rows
    embedding.load_pretrained(rows, torch.randn(1000, 50) * 0.4)
    assert embedding.embedding.weight[2:].std().item() == pytest.approx(0.4, rel=0.05)
    assert embedding.frozen[1000:].std().item() == pytest.approx(0.4, rel=0.05)

    embedding = WordEmbedding(10, 4, trainable_rows=6)
    before = embedding.weight.clone()
    embedding.load_pretrained(torch.empty(0, dtype=torch.long), torch.empty(0, 4))  # std of nothing was NaN
    assert torch.equal(embedding.weight, before)


def test_state_dict_and_safetensors_round_trip(tmp_path):
    torch.manual_seed(0)
    saved = WordEmbedding(10, 4, trainable_rows=6)
    saved.load_pretrained(torch.tensor([2, 7]), torch.ones(2, 4))
    state = saved.state_dict()
    assert sorted(state) == ["embedding.weight", "frozen"]
    save_file({k: v.contiguous() for k, v in state.items()}, tmp_path / "model.safetensors")
    words = torch.arange(10).view(2, 5)
    for loaded_state in (state, load_file(tmp_path / "model.safetensors")):
        torch.manual_seed(1)
        fresh = WordEmbedding(10, 4, trainable_rows=6)
        fresh.load_state_dict(loaded_state)
        assert torch.equal(fresh.eval()(words), saved.eval()(words))


def test_word_dropout_with_frozen_rows():
    embedding = WordEmbedding(10, 4, word_dropout=1.0, trainable_rows=6).train()
    dropped = embedding(torch.tensor([[7, 0]]))
    assert torch.equal(dropped[0, 0], embedding.embedding.weight[1]) and dropped[0, 1].eq(0).all()


@needs_bf16
def test_bf16():
    embedding = WordEmbedding(10, 4, trainable_rows=6)
    words = torch.tensor([[2, 7, 0]])
    expected = embedding(words)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert torch.equal(embedding(words), expected)
    assert torch.equal(embedding.to(torch.bfloat16)(words), expected.to(torch.bfloat16))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda():
    embedding = WordEmbedding(10, 4, trainable_rows=6).cuda()
    embedding.load_pretrained(torch.tensor([2, 7]), torch.ones(2, 4))  # vectors arrive on the CPU
    words = torch.tensor([[2, 7, 0]], device="cuda")
    with torch.autocast("cuda", dtype=torch.bfloat16):
        out = embedding(words)
    out.float().sum().backward()
    assert out[0, :2].eq(1).all() and embedding.embedding.weight.grad[2].eq(1).all()


def test_trainable_rows_must_hold_padding_and_unknown():
    for bad in (1, 11):
        with pytest.raises(ValueError, match="trainable_rows must hold the padding and unknown rows"):
            WordEmbedding(10, 4, trainable_rows=bad)


def test_extension_words_embed_to_their_pretrained_vectors():
    train_keys = ["the", "cat", "sat", "on", "mat"]
    matched = match_vectors(PretrainedVectors(str(GLOVE)), train_keys, lowercase=True)
    vocab = Vocab.build(train_keys, extra=matched.extra_words)
    trainable = len(vocab) - len(matched.extra_words)
    embedding = WordEmbedding(len(vocab), matched.dim, trainable_rows=trainable)
    embedding.load_pretrained(*matched.rows(vocab))
    sentence = ["the", "president", "said", "cat", "zzzzqx"]
    words = torch.tensor([vocab.encode(sentence)])
    assert (words[0, 1:3] >= trainable).all()  # the extension words are frozen rows
    embedded = embedding.eval()(words)[0]
    reference = load_word_vectors(GLOVE, wanted=set(sentence))
    for position, word in enumerate(sentence[:4]):
        assert embedded[position].tolist() == reference.vectors[reference.words.index(word)].tolist()
    assert torch.equal(embedded[4], embedding.embedding.weight[vocab.unk_index])
