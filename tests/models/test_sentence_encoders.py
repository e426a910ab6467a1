"""The sentence encoders, the NLI network, the lr-shrink rule and the SentenceEncoder API."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import needs_bf16

from lstmlab import SentenceEncoder
from lstmlab.callbacks.lr_shrink import ShrinkRule
from lstmlab.io.model_folder import ModelFileError
from lstmlab.models.nli_classifier import NLIClassifier, NLIConfig
from lstmlab.models.sentence_encoders import ENCODERS, RecurrentOptions, build_encoder
from lstmlab.utils.cpu import bf16_lstm_supported

PAPER_ENCODERS = ["lstm", "gru", "bigru_last", "bilstm_mean", "bilstm_max", "inner_attention", "hconvnet",
                  "bag_of_vectors"]


def test_every_paper_encoder_is_registered():
    assert set(PAPER_ENCODERS) <= set(ENCODERS)


@pytest.mark.parametrize("name", sorted(ENCODERS))
def test_encoder_shape_and_batch_independence(name):
    """A sentence's vector is the same alone and padded in a batch with longer sentences (to 1e-6)."""
    torch.manual_seed(0)
    encoder = build_encoder(name, input_dim=6, hidden_size=5).eval()
    x = torch.randn(3, 7, 6)
    lengths = torch.tensor([7, 3, 5])
    mask = torch.arange(7) < lengths.unsqueeze(1)
    with torch.no_grad():
        batched = encoder(x.masked_fill(~mask.unsqueeze(2), 123.0), mask)  # padding holds junk: it must not matter
        alone = torch.cat([encoder(x[i : i + 1, : lengths[i]], mask[i : i + 1, : lengths[i]]) for i in range(3)])
    expected_dim = {"lstm": 5, "gru": 5, "hconvnet": 40, "bag_of_vectors": 6}.get(name, 10)
    assert batched.shape == (3, expected_dim) == (3, encoder.output_dim)
    torch.testing.assert_close(batched, alone, atol=1e-6, rtol=0)


def test_last_state_encoders_read_the_last_real_word():
    torch.manual_seed(0)
    encoder = build_encoder("lstm", input_dim=4, hidden_size=3).eval()
    x = torch.randn(1, 4, 4)
    with torch.no_grad():
        full = encoder.rnn.forward_layers[0](x)[0]
        assert torch.equal(encoder(x, torch.tensor([[True, True, False, False]]))[0], full[0, 1])


def test_bag_of_vectors_is_the_mean_of_real_words():
    encoder = build_encoder("bag_of_vectors", input_dim=2, hidden_size=0)
    x = torch.tensor([[[1.0, 2.0], [3.0, 6.0], [100.0, 100.0]]])
    assert encoder(x, torch.tensor([[True, True, False]])).tolist() == [[2.0, 4.0]]
    assert encoder(x, torch.tensor([[False, False, False]])).tolist() == [[0.0, 0.0]]


def test_unknown_encoder_names_the_choices():
    with pytest.raises(ValueError, match=r"unknown sentence encoder 'bilstm_min'; choose one of \[.*'bilstm_max'"):
        build_encoder("bilstm_min", 4, 4)


def net_with_vectors(oov: str) -> NLIClassifier:
    net = NLIClassifier(NLIConfig(num_words=6, num_classes=3, word_dim=2, encoder="bag_of_vectors", oov=oov))
    net.load_pretrained(torch.tensor([2, 3]), torch.tensor([[1.0, 0.0], [0.0, 1.0]]))  # words 4, 5: no vector
    return net


def test_oov_drop_removes_words_without_vectors_and_keeps_the_rest_in_order():
    net = net_with_vectors("drop")
    words = torch.tensor([[4, 2, 5, 3], [4, 5, 0, 0]])
    mask = words != 0
    kept, kept_mask, order = net.known_words(words, mask)
    assert kept[0, :2].tolist() == [2, 3] and kept_mask[0].tolist() == [True, True, False, False]
    assert order[0, :2].tolist() == [1, 3]
    assert kept[1, :2].tolist() == [1, 1] and kept_mask[1, :2].all()  # only unknown words: kept, as <unk>
    assert net.embed(words, mask)[0].tolist() == [0.5, 0.5]


def test_oov_unk_reads_words_without_vectors_as_unk():
    net = net_with_vectors("unk")
    words = torch.tensor([[4, 2, 5, 3]])
    kept, kept_mask, _ = net.known_words(words, words != 0)
    assert kept.tolist() == [[1, 2, 1, 3]] and kept_mask.all()
    assert net.embed(words, words != 0).tolist() == [[0.25, 0.25]]  # frozen embeddings: <unk> reads as zeros


def test_nli_features_and_classifier_shapes():
    net = NLIClassifier(NLIConfig(num_words=10, num_classes=3, word_dim=4, hidden_size=6, classifier_hidden=7))
    words = torch.tensor([[2, 3, 4], [5, 6, 0]])
    scores = net(words, words != 0, words[:, :2], words[:, :2] != 0)
    assert scores.shape == (2, 3)
    assert net.classifier[1].in_features == 4 * 12  # [u, v, |u - v|, u * v] of a 12-dim BiLSTM-max vector
    assert not net.words.embedding.weight.requires_grad  # InferSent: pretrained vectors stay fixed


def test_shrink_rule_on_a_scripted_sequence_of_dev_scores():
    """SGD 0.1: a new best keeps the rate, anything else divides it by 5; below 1e-5 training stops."""
    rule = ShrinkRule(decay=0.99, shrink=5.0, min_lr=1e-5, mode="max")
    lr, trace = 0.1, []
    for score in [0.60, 0.65, 0.64, 0.66, 0.66, 0.62, 0.61, 0.70, 0.69]:
        lr, stop = rule.after_validation(lr, score)
        trace.append((round(lr, 8), stop))
        if stop:
            break
    assert trace == [(0.1, False), (0.1, False), (0.02, False), (0.02, False), (0.004, False), (0.0008, False),
                     (0.00016, False), (0.00016, False), (3.2e-05, False)]
    assert rule.after_validation(3.2e-05, 0.5) == (pytest.approx(6.4e-06), True)
    assert rule.best == 0.70
    loss_rule = ShrinkRule(mode="min")
    assert loss_rule.after_validation(1.0, 0.5) == (1.0, False) and loss_rule.after_validation(1.0, 0.6)[0] == 0.2


# --- SentenceEncoder ----------------------------------------------------------------------------------------
SENTENCES = ["Two dogs run in the park while the sun shines over the hills .", "A man is playing a guitar .",
             "Nobody plays .", "A woman reads a book on a train ."]


def test_encode_follows_sentence_transformers_conventions(trained_nli):
    encoder = SentenceEncoder.load(trained_nli[0])
    vectors = encoder.encode(SENTENCES)
    assert isinstance(vectors, np.ndarray) and vectors.shape == (4, encoder.dim) == (4, 32)
    assert vectors.dtype == np.float32
    single = encoder.encode(SENTENCES[1])
    assert single.shape == (32,)
    np.testing.assert_allclose(single, vectors[1], atol=1e-6, rtol=0)
    tensor = encoder.encode(SENTENCES, convert_to_tensor=True)
    assert isinstance(tensor, torch.Tensor) and tensor.shape == (4, 32)
    normalized = encoder.encode(SENTENCES, normalize_embeddings=True)
    np.testing.assert_allclose(np.linalg.norm(normalized, axis=1), 1.0, atol=1e-6)
    tokens = encoder.encode([s.split() for s in SENTENCES])  # lists of tokens are taken as they are
    np.testing.assert_allclose(tokens, vectors, atol=1e-6, rtol=0)


def test_a_vector_does_not_depend_on_its_batch(trained_nli):
    encoder = SentenceEncoder.load(trained_nli[0])
    together = encoder.encode(SENTENCES, batch_size=64)
    one_by_one = np.stack([encoder.encode(s) for s in SENTENCES])
    reversed_pairs = encoder.encode(SENTENCES[::-1], batch_size=2)[::-1]
    np.testing.assert_allclose(together, one_by_one, atol=1e-6, rtol=0)
    np.testing.assert_allclose(together, reversed_pairs, atol=1e-6, rtol=0)


def test_empty_sentences_are_an_error_unless_allowed(trained_nli):
    encoder = SentenceEncoder.load(trained_nli[0])
    with pytest.raises(ValueError, match=r"sentence 1 is empty \(1 empty in all\).*allow_empty=True"):
        encoder.encode(["A dog .", "   ", "A cat ."])
    vectors = encoder.encode(["A dog .", "   ", "A cat ."], allow_empty=True)
    assert not vectors[1].any() and vectors[0].any() and vectors[2].any()


def test_visualize_counts_the_dimensions_each_word_wins(trained_nli, tmp_path):
    encoder = SentenceEncoder.load(trained_nli[0])
    importance = encoder.visualize("A man is playing a guitar .", path=tmp_path / "importance.png")
    assert [word for word, _ in importance] == ["A", "man", "is", "playing", "a", "guitar", "."]
    assert sum(count for _, count in importance) == encoder.dim  # every dimension is won by exactly one word
    assert (tmp_path / "importance.png").read_bytes()[:4] == b"\x89PNG"


def test_a_tagger_is_not_a_sentence_encoder(trained):
    with pytest.raises(ModelFileError, match=r"this is a 'tagger' model, expected a 'nli' model.*SentenceEncoder "
                                             r"needs a sentence encoder trained on NLI"):
        SentenceEncoder.load(trained[0])


def test_bag_of_vectors_baseline_is_the_mean_of_known_words(tiny_vectors, tmp_path):
    encoder = SentenceEncoder.from_vectors(tiny_vectors)
    table = {line.split(" ")[0]: np.array(line.split(" ")[1:], dtype=np.float32)
             for line in tiny_vectors.read_text(encoding="utf-8").splitlines()}
    vector = encoder.encode("The man zzyzxq park")  # "zzyzxq" has no vector: left out
    np.testing.assert_allclose(vector, (table["the"] + table["man"] + table["park"]) / 3, atol=1e-6)
    assert encoder.dim == 50
    folder = encoder.save(tmp_path / "bov")
    np.testing.assert_array_equal(SentenceEncoder.load(folder).encode("The man"), encoder.encode("The man"))


@needs_bf16
def test_bf16_encoding_stays_close_to_float32(trained_nli):
    encoder = SentenceEncoder.load(trained_nli[0])
    full, half = encoder.encode(SENTENCES), encoder.encode(SENTENCES, bf16=True)
    assert half.dtype == np.float32
    np.testing.assert_allclose(half, full, atol=0.05, rtol=0)


@pytest.mark.skipif(bf16_lstm_supported(), reason="this CPU runs bf16 LSTMs: nothing to refuse")
def test_bf16_encoding_is_refused_clearly_where_the_cpu_cannot(trained_nli):
    with pytest.raises(ValueError, match=r"bf16 needs a CPU whose oneDNN runs a bf16 LSTM .*run in float32"):
        SentenceEncoder.load(trained_nli[0]).encode(SENTENCES, bf16=True)


def test_encoder_cell_and_direction_come_from_the_config():
    """`encoder=bilstm_max cell=gru` is a BiGRU with max pooling; `lstm bidirectional=true` a BiLSTM's last
    states; a convolutional encoder refuses recurrent options."""
    bigru = build_encoder("bilstm_max", 4, 3, recurrent=RecurrentOptions(cell="gru"))
    assert isinstance(bigru.bilstm.forward_layers[0], torch.nn.GRU) and bigru.output_dim == 6
    bilstm_last = build_encoder("lstm", 4, 3, recurrent=RecurrentOptions(bidirectional=True, peephole=True))
    assert bilstm_last.output_dim == 6 and bilstm_last.rnn.options.peephole
    with pytest.raises(ValueError, match="'hconvnet' has no recurrent layer"):
        build_encoder("hconvnet", 4, 3, recurrent=RecurrentOptions(cell="gru"))
