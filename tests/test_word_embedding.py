"""Word embeddings: pretrained rows, word dropout."""

from __future__ import annotations

import torch

from lstmlab.modules.word_embedding import WordEmbedding


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
