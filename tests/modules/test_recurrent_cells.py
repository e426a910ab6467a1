"""The unrolled cells (tanh RNN, GRU, LSTM, peephole and coupled-gate LSTMs) and the masked encoder over them."""

from __future__ import annotations

import pytest
import torch

from lstmlab.modules.masked_rnn import MaskedRNN
from lstmlab.modules.recurrent_cells import CellOptions, UnrolledRecurrentLayer, fused_layer

VARIANTS = [  # (cell, peephole, coupled_gates)
    ("rnn", False, False), ("gru", False, False), ("lstm", False, False),
    ("lstm", True, False), ("lstm", False, True), ("lstm", True, True),
]


def initial_state(cell: str, batch: int, hidden: int) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    h = torch.randn(batch, hidden)
    return (h, torch.randn(batch, hidden)) if cell == "lstm" else h


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_unrolled_cell_equals_the_fused_torch_layer_on_the_same_weights(cell):
    torch.manual_seed(0)
    fused = fused_layer(6, 5, cell)
    unrolled = UnrolledRecurrentLayer(6, 5, CellOptions(cell))
    unrolled.load_state_dict(fused.state_dict())  # same names and shapes
    x = torch.randn(3, 9, 6)
    state = initial_state(cell, 3, 5)
    outputs, final = unrolled(x, state)
    torch_state = tuple(s.unsqueeze(0) for s in state) if cell == "lstm" else state.unsqueeze(0)
    expected, expected_final = fused(x, torch_state)
    torch.testing.assert_close(outputs, expected, atol=1e-6, rtol=0)
    for mine, theirs in zip(final if cell == "lstm" else (final,), expected_final if cell == "lstm"
                            else (expected_final,), strict=True):
        torch.testing.assert_close(mine, theirs[0], atol=1e-6, rtol=0)


def reference_lstm_step(x, h, c, weights, peephole, coupled):
    """Gers & Schmidhuber's equations, one gate at a time (independent of the layer's chunked code)."""
    w_ih, w_hh, b_ih, b_hh = weights
    names = ["f", "g", "o"] if coupled else ["i", "f", "g", "o"]
    pre = dict(zip(names, (x @ w_ih.T + b_ih + h @ w_hh.T + b_hh).chunk(len(names), dim=1), strict=True))
    p = dict(zip(["f", "o"] if coupled else ["i", "f", "o"], peephole, strict=True)) if peephole is not None else {}
    f = torch.sigmoid(pre["f"] + p.get("f", 0) * c)
    i = 1 - f if coupled else torch.sigmoid(pre["i"] + p.get("i", 0) * c)
    c_new = f * c + i * torch.tanh(pre["g"])
    o = torch.sigmoid(pre["o"] + p.get("o", 0) * c_new)
    return o * torch.tanh(c_new), c_new


@pytest.mark.parametrize(("peephole", "coupled"), [(True, False), (False, True), (True, True)])
def test_lstm_variants_follow_their_equations(peephole, coupled):
    torch.manual_seed(0)
    layer = UnrolledRecurrentLayer(4, 3, CellOptions("lstm", peephole, coupled))
    assert layer.weight_ih_l0.shape == ((3 if coupled else 4) * 3, 4)
    assert (layer.peephole_weights is not None) == peephole
    x = torch.randn(2, 5, 4)
    h, c = torch.randn(2, 3), torch.randn(2, 3)
    outputs, (h_last, c_last) = layer(x, (h, c))
    weights = (layer.weight_ih_l0, layer.weight_hh_l0, layer.bias_ih_l0, layer.bias_hh_l0)
    for t in range(5):
        h, c = reference_lstm_step(x[:, t], h, c, weights, layer.peephole_weights, coupled)
        torch.testing.assert_close(outputs[:, t], h, atol=1e-6, rtol=0)
    torch.testing.assert_close(c_last, c, atol=1e-6, rtol=0)


def test_peephole_with_zero_weights_is_the_plain_lstm():
    torch.manual_seed(0)
    plain = fused_layer(4, 3, "lstm")
    peephole = UnrolledRecurrentLayer(4, 3, CellOptions("lstm", peephole=True))
    with torch.no_grad():
        peephole.peephole_weights.zero_()
    peephole.load_state_dict(plain.state_dict(), strict=False)
    x = torch.randn(2, 6, 4)
    torch.testing.assert_close(peephole(x)[0], plain(x)[0], atol=1e-6, rtol=0)


def test_each_step_is_a_graph_tensor_with_its_own_gradient():
    """dL/dh_t for every t, through the recurrence: what the gradient-flow plot reads."""
    torch.manual_seed(0)
    layer = UnrolledRecurrentLayer(3, 4, CellOptions("rnn"))
    steps, _ = layer.run_steps(torch.randn(1, 6, 3))
    for h in steps:
        h.retain_grad()
    steps[-1].sum().backward()
    norms = [h.grad.norm().item() for h in steps]
    assert len(norms) == 6 and all(n > 0 for n in norms)
    assert norms[-1] == pytest.approx(2.0)  # d(sum h_T)/dh_T = ones(4)


@pytest.mark.parametrize(("cell", "message"), [
    (dict(cell="lstn"), r"cell: unknown cell 'lstn'; allowed values: rnn, gru, lstm"),
    (dict(cell="gru", peephole=True), r"peephole: LSTM variants, impossible with cell='gru'; allowed: cell=lstm, or "
                                      r"peephole=false"),
    (dict(cell="rnn", peephole=True, coupled_gates=True), r"peephole and coupled_gates: .*cell='rnn'"),
])
def test_impossible_cells_are_refused_with_the_allowed_values(cell, message):
    with pytest.raises(ValueError, match=message):
        CellOptions(**cell)


def padded(sequences: list[torch.Tensor], steps: int) -> tuple[torch.Tensor, torch.Tensor]:
    batch = torch.full((len(sequences), steps, sequences[0].shape[1]), 7.0)  # junk in the padding
    mask = torch.zeros(len(sequences), steps, dtype=torch.bool)
    for row, sequence in enumerate(sequences):
        batch[row, : len(sequence)] = sequence
        mask[row, : len(sequence)] = True
    return batch, mask


@pytest.mark.parametrize("bidirectional", [True, False])
@pytest.mark.parametrize(("cell", "peephole", "coupled"), VARIANTS)
def test_masked_encoder_any_cell_padding_changes_nothing(cell, peephole, coupled, bidirectional):
    torch.manual_seed(0)
    rnn = MaskedRNN(4, 3, num_layers=2, cell=cell, bidirectional=bidirectional, peephole=peephole,
                    coupled_gates=coupled).eval()
    assert rnn.output_dim == (6 if bidirectional else 3)
    assert rnn.unrolled == (peephole or coupled)
    sequences = [torch.randn(length, 4) for length in (5, 2, 6)]
    batch, mask = padded(sequences, steps=6)
    layers, final = rnn(batch, mask, return_all_layers=True, return_final=True)
    assert [layer.shape for layer in layers] == [(3, 6, rnn.output_dim)] * 2
    assert layers[-1][~mask].eq(0).all()
    for row, sequence in enumerate(sequences):
        alone, final_alone = rnn(sequence[None], torch.ones(1, len(sequence), dtype=torch.bool), return_final=True)
        torch.testing.assert_close(layers[-1][row, : len(sequence)], alone[0], atol=1e-6, rtol=0)
        torch.testing.assert_close(final[row], final_alone[0], atol=1e-6, rtol=0)
    # the last real step of the forward direction, not the padding's
    torch.testing.assert_close(final[1, :3], layers[-1][1, 1, :3], atol=0, rtol=0)


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_fused_weights_load_into_the_unrolled_encoder(cell):
    torch.manual_seed(0)
    fused = MaskedRNN(4, 3, num_layers=2, cell=cell).eval()
    unrolled = MaskedRNN(4, 3, num_layers=2, cell=cell, unrolled=True).eval()
    unrolled.load_state_dict(fused.state_dict())
    batch, mask = padded([torch.randn(5, 4), torch.randn(3, 4)], steps=5)
    torch.testing.assert_close(unrolled(batch, mask), fused(batch, mask), atol=1e-6, rtol=0)


@pytest.mark.parametrize(("cell", "coupled", "forget_block", "input_block"), [
    ("lstm", False, 1, 0), ("lstm", True, 0, None), ("gru", False, 1, None),
])
@pytest.mark.parametrize("unrolled", [False, True])
def test_chrono_init_gives_forget_gates_timescales_up_to_the_memory_length(cell, coupled, forget_block, input_block,
                                                                          unrolled):
    """Chrono init: with the gates at their biases, a unit keeps 1 - 1/u of its state per step, u ~ U(1, T - 1),
    so its memory 1 / (1 - forget) spans 2..T steps; the input gate opens as little as the forget gate keeps."""
    torch.manual_seed(0)
    hidden, longest = 200, 100
    encoder = MaskedRNN(4, hidden, num_layers=2, cell=cell, coupled_gates=coupled, unrolled=unrolled,
                        chrono_init=longest)
    plain = MaskedRNN(4, hidden, num_layers=2, cell=cell, coupled_gates=coupled, unrolled=unrolled)
    blocks = CellOptions(cell, coupled_gates=coupled).gate_blocks
    for layer, untouched in zip([*encoder.forward_layers, *encoder.backward_layers],
                                [*plain.forward_layers, *plain.backward_layers], strict=True):
        bias_ih = layer.bias_ih_l0.detach().view(blocks, hidden)
        bias_hh = layer.bias_hh_l0.detach().view(blocks, hidden)
        memory = 1 / (1 - torch.sigmoid(bias_ih[forget_block] + bias_hh[forget_block]))
        assert memory.min() >= 2 - 1e-4 and memory.max() <= longest + 1e-3 and memory.max() > longest / 2
        assert torch.all(bias_hh[forget_block] == 0)
        if input_block is not None:
            torch.testing.assert_close(bias_ih[input_block], -bias_ih[forget_block])
        other = [b for b in range(blocks) if b not in (forget_block, input_block)]
        bound = 1 / hidden**0.5  # the other gates keep PyTorch's initialisation
        assert bias_ih[other].abs().max() <= bound and bias_ih[other].std() > bound / 3
        assert untouched.bias_ih_l0.abs().max() <= bound


def test_chrono_init_leaves_the_gateless_rnn_as_it_is_and_refuses_a_memory_under_two_steps():
    torch.manual_seed(0)
    encoder = MaskedRNN(4, 8, cell="rnn", chrono_init=50)
    assert encoder.forward_layers[0].bias_ih_l0.abs().max() <= 1 / 8**0.5
    with pytest.raises(ValueError, match=r"chrono_init: the longest memory in steps, at least 2; got 1"):
        MaskedRNN(4, 8, cell="lstm", chrono_init=1)
