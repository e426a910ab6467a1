"""Model building blocks: results must not depend on padding or on batch composition."""

from __future__ import annotations

import torch

from lstmlab.modules.char_cnn import CharCNN
from lstmlab.modules.char_lstm import CharLSTM
from lstmlab.modules.masked_bilstm import MaskedBiLSTM, reverse_within_length


def test_reverse_within_length():
    x = torch.tensor([[1, 2, 3, 0], [4, 5, 0, 0]])
    assert reverse_within_length(x, torch.tensor([3, 2])).tolist() == [[3, 2, 1, 0], [5, 4, 0, 0]]


def test_bilstm_sentence_alone_equals_sentence_in_a_padded_batch():
    torch.manual_seed(0)
    lstm = MaskedBiLSTM(8, 6, num_layers=2).eval()
    short = torch.randn(1, 3, 8)
    batch = torch.cat([torch.cat([short, torch.randn(1, 4, 8)], dim=1), torch.randn(1, 7, 8)])
    mask = torch.tensor([[True] * 3 + [False] * 4, [True] * 7])
    alone = lstm(short, torch.ones(1, 3, dtype=torch.bool))
    together = lstm(batch, mask)
    assert torch.allclose(alone[0], together[0, :3], atol=1e-6)  # both directions, every layer


def test_bilstm_final_states_and_all_layers():
    lstm = MaskedBiLSTM(4, 5, num_layers=3)
    layers, (forward_last, backward_last) = lstm(
        torch.randn(2, 6, 4), torch.ones(2, 6, dtype=torch.bool), return_all_layers=True, return_final=True
    )
    assert len(layers) == 3 and layers[-1].shape == (2, 6, 10)
    assert torch.allclose(forward_last, layers[-1][:, -1, :5]) and torch.allclose(backward_last, layers[-1][:, 0, 5:])


def test_char_encoders_ignore_padding_characters():
    torch.manual_seed(0)
    for encoder in (CharCNN(20, 8, [(3, 6), (2, 4)], highway_layers=1, projection_dim=7), CharLSTM(20, 8, 5)):
        encoder.eval()
        word = torch.tensor([[[3, 4, 5]]])
        padded = torch.tensor([[[3, 4, 5, 0, 0]]])
        assert torch.allclose(encoder(word), encoder(padded), atol=1e-6)
        assert encoder(word).shape == (1, 1, encoder.output_dim)
