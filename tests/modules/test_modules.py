"""Model building blocks: results must not depend on padding or on batch composition."""

from __future__ import annotations

import pytest
import torch
from conftest import needs_bf16

from lstmlab.modules.char_cnn import CharCNN
from lstmlab.modules.char_lstm import CharLSTM
from lstmlab.modules.highway import Highway
from lstmlab.modules.masked_rnn import MaskedRNN, reverse_within_length
from lstmlab.modules.pooling import masked_max, masked_mean


def padded_batch(sentences: list[torch.Tensor], steps: int, fill: float = 1e3) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack [T_i, D] sentences into [B, steps, D] with large values at the padding (a leak cannot hide) and a mask."""
    batch = torch.full((len(sentences), steps, sentences[0].shape[1]), fill)
    mask = torch.zeros(len(sentences), steps, dtype=torch.bool)
    for row, sentence in enumerate(sentences):
        batch[row, : len(sentence)] = sentence
        mask[row, : len(sentence)] = True
    return batch, mask


def all_real(length: int) -> torch.Tensor:
    return torch.ones(1, length, dtype=torch.bool)


def test_reverse_within_length():
    x = torch.tensor([[1, 2, 3, 0], [4, 5, 0, 0]])
    assert reverse_within_length(x, torch.tensor([3, 2])).tolist() == [[3, 2, 1, 0], [5, 4, 0, 0]]
    features = torch.stack([x, 10 * x], dim=2)  # [B, T, 2]: every feature moves with its step
    assert reverse_within_length(features, torch.tensor([3, 2]))[..., 1].tolist() == [[30, 20, 10, 0], [50, 40, 0, 0]]


def test_bilstm_sentence_alone_equals_sentence_in_a_padded_batch():
    torch.manual_seed(0)
    lstm = MaskedRNN(8, 6, num_layers=2).eval()
    short, long = torch.randn(3, 8), torch.randn(7, 8)
    batch, mask = padded_batch([short, long], steps=7)
    alone = lstm(short[None], all_real(3), return_all_layers=True)
    together = lstm(batch, mask, return_all_layers=True)
    for layer_alone, layer_together in zip(alone, together, strict=True):  # both directions, every layer
        assert torch.allclose(layer_alone[0], layer_together[0, :3], atol=1e-6)


def test_bilstm_outputs_are_exactly_zero_at_padding():
    torch.manual_seed(0)
    lstm = MaskedRNN(4, 5, num_layers=3, dropout=0.5).train()  # dropout must not undo the zeros either
    batch, mask = padded_batch([torch.randn(6, 4), torch.randn(2, 4), torch.randn(0, 4)], steps=6)
    layers = lstm(batch, mask, return_all_layers=True)
    assert len(layers) == 3
    for layer in layers:
        assert layer.shape == (3, 6, 10)
        assert layer[~mask].eq(0).all() and layer[mask].ne(0).all()
    assert lstm(batch, mask)[~mask].eq(0).all()  # the top layer alone, as a tagger reads it


def test_bilstm_final_states_with_padding_equal_each_sentence_alone():
    """The final state of padded rows equals the top layer's nn.LSTM final hidden state, run on each sentence
    alone (backward on the reversed sentence); every layer's outputs match too."""
    torch.manual_seed(0)
    lstm = MaskedRNN(4, 5, num_layers=2).eval()
    sentences = [torch.randn(length, 4) for length in (5, 2, 7, 1)]
    batch, mask = padded_batch(sentences, steps=7)
    layers, final = lstm(batch, mask, return_all_layers=True, return_final=True)
    assert final.shape == (4, 10)
    for row, sentence in enumerate(sentences):
        alone = lstm(sentence[None], all_real(len(sentence)), return_all_layers=True)
        for layer_alone, layer_batch in zip(alone, layers, strict=True):
            assert torch.allclose(layer_alone[0], layer_batch[row, : len(sentence)], atol=1e-6)
        _, (forward_h, _) = lstm.forward_layers[-1](alone[-2])
        _, (backward_h, _) = lstm.backward_layers[-1](alone[-2].flip(1))
        assert torch.allclose(final[row, :5], forward_h[0, 0], atol=1e-6)
        assert torch.allclose(final[row, 5:], backward_h[0, 0], atol=1e-6)


def test_bilstm_row_without_real_steps_gives_zero_final_states():
    lstm = MaskedRNN(4, 5)
    batch, mask = padded_batch([torch.randn(3, 4), torch.randn(0, 4)], steps=3)
    _, final = lstm(batch, mask, return_final=True)
    assert final[1].eq(0).all() and final[0].ne(0).all()


def char_encoders() -> tuple[CharCNN, CharCNN, CharLSTM]:
    torch.manual_seed(0)
    return (CharCNN(20, 8, [(3, 6), (2, 4)], highway_layers=1, projection_dim=7).eval(),
            CharCNN(20, 8, [(3, 6), (2, 4)], boundaries=True).eval(), CharLSTM(20, 8, 5).eval())


def test_char_encoders_ignore_padding_characters():
    for encoder in char_encoders():
        word = torch.tensor([[[3, 4, 5]]])
        padded = torch.tensor([[[3, 4, 5, 0, 0]]])
        assert encoder(word).shape == (1, 1, encoder.output_dim)
        assert torch.allclose(encoder(word), encoder(padded), atol=1e-6)
        in_batch = encoder(torch.tensor([[[3, 4, 5, 0, 0, 0], [7, 8, 9, 10, 11, 12]]]))  # next to a longer word
        assert torch.allclose(encoder(word)[0, 0], in_batch[0, 0], atol=1e-6)


def test_padding_words_get_finite_vectors_and_zeros_from_char_lstm():
    """A word with no characters has nothing to max-pool (CharCNN) and no final state (CharLSTM)."""
    cnn, framed_cnn, lstm = char_encoders()
    words = torch.tensor([[[3, 4, 5], [0, 0, 0]]])
    assert cnn(words).isfinite().all() and framed_cnn(words)[0, 1].eq(0).all()
    assert lstm(words)[0, 1].eq(0).all() and lstm(words)[0, 0].ne(0).all()


def test_word_boundaries_let_a_filter_see_how_a_word_ends():
    torch.manual_seed(0)
    words = torch.tensor([[[1, 2, 1, 2, 0], [1, 2, 1, 2, 1]]])  # abab, ababa: the same bigrams, other last letters
    plain, framed = CharCNN(4, 8, [(2, 6)]), CharCNN(4, 8, [(2, 6)], boundaries=True)
    assert torch.equal(plain(words)[0, 0], plain(words)[0, 1])
    assert not torch.allclose(framed(words)[0, 0], framed(words)[0, 1])


def test_word_boundaries_frame_each_word_whatever_its_length():
    cnn = CharCNN(5, 4, [(3, 2)], boundaries=True)
    chars = torch.tensor([[1, 2, 0], [3, 0, 0], [0, 0, 0]])
    framed, real = cnn.with_boundaries(cnn.embedding(chars), chars != 0)
    begin, end = cnn.boundaries
    assert framed.shape == (3, 5, 4) and all(torch.equal(framed[row, 0], begin) for row in range(3))
    assert torch.equal(framed[0, 3], end) and torch.equal(framed[1, 2], end) and torch.equal(framed[2, 1], end)
    assert torch.equal(framed[0, 1:3], cnn.embedding.weight[[1, 2]]) and framed[0, 4].eq(0).all()
    assert real.tolist() == [[True] * 4 + [False], [True] * 3 + [False] * 2, [True] * 2 + [False] * 3]


def test_highway_starts_close_to_carrying_its_input():
    torch.manual_seed(0)
    highway = Highway(64)
    x = torch.randn(32, 64)
    transform, gate = highway.layers[0](x).chunk(2, dim=-1)
    assert torch.sigmoid(gate).mean() < 0.5
    y = highway(x)
    assert (y - x).norm() < (y - torch.relu(transform)).norm()


@pytest.mark.parametrize(("gate_bias", "expected"), [(20.0, "transform"), (-20.0, "input")])
def test_highway_gate_bias_selects_transform_or_carry(gate_bias: float, expected: str):
    """T = sigmoid(W_T x + b_T) multiplies the transform branch relu(W_H x + b_H), and 1 - T multiplies x."""
    torch.manual_seed(0)
    highway = Highway(16)
    with torch.no_grad():
        highway.layers[0].bias[16:] = gate_bias
    x = torch.randn(8, 16)
    transform = torch.relu(highway.layers[0](x)[:, :16])
    assert torch.allclose(highway(x), transform if expected == "transform" else x, atol=1e-5)


def test_masked_max_known_answers():
    states = torch.tensor(
        [
            [[-3.0, -1.0], [-2.0, -5.0], [100.0, 100.0]],  # every real value negative, padding large
            [[7.0, 7.0], [7.0, 7.0], [7.0, 7.0]],  # no real step
            [[1.0, 4.0], [5.0, 2.0], [3.0, 3.0]],
        ]
    )
    mask = torch.tensor([[True, True, False], [False, False, False], [True, True, True]])
    values, indices = masked_max(states, mask, return_indices=True)
    assert values.tolist() == [[-2.0, -1.0], [0.0, 0.0], [5.0, 4.0]]
    assert indices.tolist() == [[1, 0], [0, 0], [1, 0]]
    assert torch.equal(masked_max(states, mask), values)


def test_masked_mean_known_answers():
    states = torch.tensor(
        [
            [[1.0, 2.0], [3.0, 4.0], [float("inf"), 1e6]],  # divides by 2 real steps; padding cannot leak
            [[7.0, 7.0], [7.0, 7.0], [7.0, 7.0]],  # no real step
            [[1.0, -4.0], [2.0, 2.0], [3.0, -1.0]],
        ]
    )
    mask = torch.tensor([[True, True, False], [False, False, False], [True, True, True]])
    assert masked_mean(states, mask).tolist() == [[2.0, 3.0], [0.0, 0.0], [2.0, -1.0]]


@pytest.mark.parametrize("dtype", [pytest.param(torch.bfloat16, marks=needs_bf16), torch.float16])
def test_pooling_in_low_precision(dtype: torch.dtype):
    states = torch.tensor([[[-3.0, -1.0], [-2.0, -5.0], [100.0, 100.0]], [[1.0, 1.0]] * 3], dtype=dtype)
    mask = torch.tensor([[True, True, False], [False, False, False]])
    assert masked_max(states, mask).dtype == dtype
    assert masked_max(states, mask).tolist() == [[-2.0, -1.0], [0.0, 0.0]]
    assert masked_mean(states, mask).tolist() == [[-2.5, -3.0], [0.0, 0.0]]


@needs_bf16
def test_pooling_under_bf16_autocast():
    torch.manual_seed(0)
    linear = torch.nn.Linear(4, 6)
    batch, mask = padded_batch([torch.randn(5, 4), torch.randn(2, 4)], steps=5)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        states = linear(batch)
        pooled_max, pooled_mean = masked_max(states, mask), masked_mean(states, mask)
    assert states.dtype == pooled_max.dtype == pooled_mean.dtype == torch.bfloat16
    assert torch.equal(pooled_max.float(), masked_max(states.float(), mask))
    assert torch.allclose(pooled_mean.float(), masked_mean(states.float(), mask), rtol=1e-2)


def test_pooled_sentence_alone_equals_sentence_in_a_padded_batch():
    torch.manual_seed(0)
    lstm = MaskedRNN(4, 5, num_layers=2).eval()
    short, long = torch.randn(2, 4), torch.randn(6, 4)
    batch, mask = padded_batch([short, long], steps=6)
    states_alone, states_batch = lstm(short[None], all_real(2)), lstm(batch, mask)
    for pool in (masked_max, masked_mean):
        assert torch.allclose(pool(states_alone, all_real(2))[0], pool(states_batch, mask)[0], atol=1e-6)
