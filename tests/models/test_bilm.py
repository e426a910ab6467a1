"""The bidirectional language model: its parts, the independence of its directions, truncated BPTT with carried
state, perplexity against known answers, and training through the real entry point (resume included)."""

from __future__ import annotations

import math

import lightning as L
import pytest
import torch
from conftest import CONF_DIR, ROOT, TINY_BILM, compose_config, tiny_bilm_overrides
from safetensors.torch import load_file

from lstmlab.cli.train import train
from lstmlab.data.language_model.batches import StreamWindows
from lstmlab.data.language_model.datamodule import BOUNDARY, LanguageModelDataModule
from lstmlab.models.bilm import BiLanguageModel, BiLMConfig, add_word_boundaries
from lstmlab.modules.recurrent_stack import RecurrentStack
from lstmlab.tasks.language_model import LanguageModelTask


def tiny_net(**options) -> BiLanguageModel:
    torch.manual_seed(0)
    config = {"num_words": 30, "num_chars": 12, "boundary_chars": [2, 3], "char_dim": 4,
              "char_filters": [[1, 4], [2, 4], [3, 8]], "hidden_size": 8, "projection_dim": 8, **options}
    return BiLanguageModel(BiLMConfig(**config)).eval()


def test_word_boundaries_mark_real_words_only():
    chars = torch.tensor([[[5, 6, 0], [7, 0, 0], [0, 0, 0]]])
    assert add_word_boundaries(chars, 12).tolist() == [[[12, 5, 6, 13, 0], [12, 7, 13, 0, 0], [0, 0, 0, 0, 0]]]


def test_token_encoder_and_layer_shapes():
    net = tiny_net(highway_layers=2)
    assert net.embed_tokens(torch.randint(1, 12, (3, 5, 7))).shape == (3, 5, 8)  # projected to the LSTM width
    assert net.tokens.highway.layers[0].in_features == 16  # 4 + 4 + 8 filters
    mask = torch.tensor([[True] * 4, [True, True, False, False]])
    layers = net.sentence_layers(torch.randint(1, 12, (2, 4, 6)), mask)
    assert layers.shape == (3, 2, 4, 16) and net.output_dim == 16 and net.num_output_layers == 3
    assert torch.equal(layers[0, :, :, :8], layers[0, :, :, 8:])  # the token layer, to the same width
    assert layers[:, 1, 2:].abs().sum() == 0  # padding stays zero


def test_without_projection_the_layers_are_the_lstm_layers():
    """Kim et al.'s network: the LSTMs read the highway output (16 wide here, 8 per LSTM), so the token layer,
    of another width, is not among the mixable layers."""
    net = tiny_net(projection_dim=None)
    assert net.embed_tokens(torch.randint(1, 12, (3, 5, 7))).shape == (3, 5, 16)
    assert net.forward_lm.layers[0].input_size == 16 and not net.has_token_layer
    mask = torch.tensor([[True] * 4, [True, True, False, False]])
    chars = torch.randint(1, 12, (2, 4, 6))
    layers = net.sentence_layers(chars, mask)
    assert layers.shape == (2, 2, 4, 16) and net.num_output_layers == 2
    with torch.no_grad():  # the same weights behind an identity projection: the same layers
        projected = tiny_net(projection_dim=16)
        projected.load_state_dict(net.state_dict(), strict=False)
        projected.tokens.projection.weight.copy_(torch.eye(16))
        projected.tokens.projection.bias.zero_()
    torch.testing.assert_close(projected.sentence_layers(chars, mask), layers)


def test_elmo_preset_sizes_compose(tmp_path):
    cfg = compose_config("train.yaml", ["experiment=bilm_ptb", "model=bilm_elmo"], tmp_path)
    net = cfg.model.net
    assert [list(f) for f in net.char_filters] == [[1, 32], [2, 32], [3, 64], [4, 128], [5, 256], [6, 512], [7, 1024]]
    assert (net.char_activation, net.highway_layers, net.projection_dim) == ("relu", 2, 512)
    assert (net.hidden_size, net.proj_size, net.num_layers, net.residual) == (4096, 512, 2, True)
    small = compose_config("train.yaml", ["experiment=bilm_ptb"], tmp_path).model.net
    assert sum(count for _, count in small.char_filters) == 525 and small.hidden_size == 300


@pytest.mark.parametrize("options", [{}, {"residual": True, "proj_size": 6, "hidden_size": 10}])
def test_directions_are_independent_at_every_layer(options):
    """Perturbing token t changes no forward state before t and no backward state after t, at every layer;
    the forward LM's layer 2 never reads the backward LM."""
    net = tiny_net(**options)
    chars = torch.randint(1, 12, (1, 7, 5))
    mask = torch.ones(1, 7, dtype=torch.bool)
    changed = chars.clone()
    changed[0, 3] = torch.tensor([9, 10, 11, 0, 0])
    before, after = net.sentence_layers(chars, mask), net.sentence_layers(changed, mask)
    half = net.output_dim // 2
    for layer in range(net.has_token_layer, net.num_output_layers):
        forward_before, forward_after = before[layer, 0, :, :half], after[layer, 0, :, :half]
        backward_before, backward_after = before[layer, 0, :, half:], after[layer, 0, :, half:]
        assert torch.equal(forward_before[:3], forward_after[:3])
        assert torch.equal(backward_before[4:], backward_after[4:])
        assert not torch.allclose(forward_before[3:], forward_after[3:])  # the change does reach later states
        assert not torch.allclose(backward_before[:4], backward_after[:4])


def test_sentence_vectors_do_not_depend_on_the_batch():
    net = tiny_net()
    chars = torch.randint(1, 12, (3, 6, 5))
    mask = torch.tensor([[True] * 6, [True] * 3 + [False] * 3, [True] * 5 + [False]])
    together = net.sentence_layers(chars, mask)
    alone = net.sentence_layers(chars[1:2, :3], mask[1:2, :3])
    torch.testing.assert_close(together[:, 1:2, :3], alone, atol=1e-6, rtol=0)


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_carried_state_equals_one_long_pass(cell):
    torch.manual_seed(0)
    stack = RecurrentStack(5, 7, num_layers=2, residual=True, proj_size=0, cell=cell).eval()
    x = torch.randn(3, 20, 5)
    whole, _ = stack(x)
    first, state = stack(x[:, :8])
    assert [len(layer_state) for layer_state in state] == [2 if cell == "lstm" else 1] * 2
    second, _ = stack(x[:, 8:], state)
    for layer in range(2):
        torch.testing.assert_close(torch.cat([first[layer], second[layer]], dim=1), whole[layer])


def test_the_language_model_refuses_what_its_cells_cannot_do():
    with pytest.raises(ValueError, match="cell: unknown cell 'lstn'; allowed values: rnn, gru, lstm"):
        RecurrentStack(5, 7, num_layers=1, cell="lstn")
    with pytest.raises(ValueError, match="proj_size: an LSTM output projection, impossible with cell='gru'"):
        RecurrentStack(5, 7, num_layers=1, proj_size=4, cell="gru")


@pytest.fixture(scope="module")
def text_module(tiny_text):
    module = LanguageModelDataModule(train_path=str(tiny_text["train"]), val_path=str(tiny_text["valid"]),
                                     test_path=str(tiny_text["test"]), tokenizer="rule", lowercase=False,
                                     batch_size=4, eval_batch_size=3, window=10)
    module.setup("fit")
    return module


def test_windows_continue_each_row(text_module):
    windows = text_module.train_dataloader()
    words = text_module.vocabs.words
    first, second = windows.batch(0), windows.batch(1)
    for direction in ("forward", "backward"):
        # the first input of a row's next window is the last target of its previous window
        inputs = second[f"{direction}_tokens"][:, 0]
        last_target = first[f"{direction}_targets"][:, -1]
        input_words = torch.tensor([words.index(text_module.vocabs.word_key(form)) for form in
                                    _forms(text_module, second, inputs)])
        assert torch.equal(input_words, last_target)
    assert second["window"] == 1 and second["num_tokens"] == 4 * 10
    assert text_module.splits["train"].stream[0] == 0  # the text starts with the boundary token


def _forms(module, batch, rows):
    """The surface forms of the given distinct-word rows, read back from their characters."""
    chars = module.vocabs.chars
    return ["".join(chars.itos[c] for c in batch["chars"][r].tolist() if c) for r in rows.tolist()]


def test_backward_stream_is_the_reversed_text(text_module):
    text = text_module.splits["train"]
    windows = StreamWindows(text, columns=1, window=5)
    forward = windows.tables["forward"][0].numpy()
    backward = windows.tables["backward"][0].numpy()
    n = len(forward)
    assert (backward == text.stream[::-1][:n]).all() and (forward == text.stream[:n]).all()


def test_empty_lines_and_unknowns_are_counted(text_module, tiny_text):
    train = text_module.report[str(tiny_text["train"])]
    blank = sum(1 for line in tiny_text["train"].read_text(encoding="utf-8").splitlines() if not line.strip())
    assert train["empty_lines"] == blank > 0
    assert train["unknown_words"] == 0  # min_word_freq=1: every training word is in the vocabulary
    valid = text_module.report[str(tiny_text["valid"])]
    assert valid["unknown_words"] > 0


def test_long_lines_are_cut_in_sentence_mode(tmp_path):
    path = tmp_path / "text.txt"
    path.write_text("a b c d e f g\n\nh i\n", encoding="utf-8")
    module = LanguageModelDataModule(train_path=str(path), sentence_level=True, max_sentence_length=3)
    module.setup("fit")
    assert module.report[str(path)] == {"lines": 3, "empty_lines": 1, "lines_cut": 1, "unknown_words": 0,
                                        "unknown_chars": 0}
    assert module.splits["train"].lengths.tolist() == [3, 3, 1, 2]
    batch = module.splits["train"].__getitems__([3])
    words = module.vocabs.words
    assert words.decode(batch["forward_targets"][0].tolist()) == ["h", "i", BOUNDARY]
    assert words.decode(batch["backward_targets"][0].tolist()) == ["i", "h", BOUNDARY]


def test_unknown_characters_are_counted(tmp_path):
    train, test = tmp_path / "train.txt", tmp_path / "test.txt"
    train.write_text("the cat sat\n", encoding="utf-8")
    test.write_text("the dog sat\n", encoding="utf-8")  # d, o, g: never seen
    module = LanguageModelDataModule(train_path=str(train), test_path=str(test))
    module.setup()
    assert module.report[str(test)]["unknown_chars"] == 1 and module.report[str(test)]["unknown_words"] == 1


def test_bad_encoding_names_file_and_line(tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes(b"fine line\nna\xefve\n")
    module = LanguageModelDataModule(train_path=str(path))
    with pytest.raises(ValueError, match=r"latin1.txt:2: is not valid UTF-8"):
        module.setup("fit")


def test_perplexity_is_exp_mean_nll_on_a_known_model(text_module):
    """A model whose softmax ignores its input and always gives distribution p: the validation perplexity must
    be exp of the mean of -log p[target] over every predicted token of the stream, in each direction."""
    vocabs = text_module.vocabs
    net = BiLanguageModel(BiLMConfig(num_words=len(vocabs.words), num_chars=len(vocabs.chars), hidden_size=8,
                                     char_filters=[[1, 4]], char_dim=4, boundary_chars=[2]))
    torch.manual_seed(1)
    log_p = torch.log_softmax(torch.randn(len(vocabs.words)), dim=0)
    with torch.no_grad():
        net.softmax.weight.zero_()
        net.softmax.bias.copy_(log_p)
    task = LanguageModelTask(net, vocabs)
    trainer = L.Trainer(accelerator="cpu", logger=False, enable_progress_bar=False, enable_model_summary=False)
    metrics = trainer.validate(task, datamodule=text_module, verbose=False)[0]
    windows = text_module.val_dataloader()
    for direction, short in (("forward", "fwd"), ("backward", "bwd")):
        targets = torch.cat([windows.batch(i)[f"{direction}_targets"].flatten() for i in range(len(windows))])
        expected = math.exp(-log_p[targets].double().mean().item())
        assert metrics[f"val/ppl_{short}"] == pytest.approx(expected, rel=1e-5)
    assert metrics["val/ppl"] == pytest.approx(math.sqrt(metrics["val/ppl_fwd"] * metrics["val/ppl_bwd"]), rel=1e-5)


def test_adaptive_softmax_nll_is_the_full_distribution():
    net = tiny_net(num_words=200, softmax="adaptive", adaptive_cutoffs=[20, 100], hidden_size=32)
    top = torch.randn(2, 5, 32)
    targets = torch.randint(0, 200, (2, 5))
    full = net.log_probs(top)
    torch.testing.assert_close(full.exp().sum(-1), torch.ones(2, 5))
    torch.testing.assert_close(net.token_nll(top, targets), -full.gather(-1, targets[..., None])[..., 0])


def test_training_reports_full_softmax_perplexities(trained_bilm):
    run, metrics = trained_bilm
    for stage in ("val", "test"):
        for name in ("ppl_fwd", "ppl_bwd", "ppl"):
            assert 1 < metrics[f"{stage}/{name}"] < 5000
    assert metrics["val/ppl"] == pytest.approx(math.sqrt(metrics["val/ppl_fwd"] * metrics["val/ppl_bwd"]), rel=1e-4)
    assert (run / "model" / "model.safetensors").is_file()


BILM_EXPERIMENTS = sorted(p.stem for p in (CONF_DIR / "experiment").glob("bilm_*.yaml"))


@pytest.mark.parametrize("experiment", BILM_EXPERIMENTS)
def test_bilm_experiment_fast_dev_run(experiment, tiny_text, tmp_path):
    from lstmlab.cli.train import train

    assert {"bilm_ptb", "bilm_text", "bilm_ud"} <= set(BILM_EXPERIMENTS)
    treebank = ["data.treebank=ko_gsd", f"data.treebanks_dir={ROOT / 'data'}"]  # bilm_ud: the bundled Korean sample
    data = [*TINY_BILM, *treebank] if experiment == "bilm_ud" else tiny_bilm_overrides(tiny_text)
    overrides = [*data, f"experiment={experiment}", "debug=fast_dev_run"]
    metrics = train(compose_config("train.yaml", overrides, tmp_path))
    assert 1 < metrics["test/ppl"] < 1e5 and (tmp_path / "model" / "model.safetensors").is_file()


def test_adaptive_and_sentence_level_training_run(tiny_text, tmp_path):
    from lstmlab.cli.train import train

    overrides = [*tiny_bilm_overrides(tiny_text), "model.net.softmax=adaptive", "model.net.adaptive_cutoffs=[50]",
                 "data.sentence_level=true", "trainer.max_epochs=1", "trainer.limit_train_batches=5",
                 "trainer.limit_val_batches=3", "trainer.limit_test_batches=3"]
    metrics = train(compose_config("train.yaml", overrides, tmp_path))
    assert 1 < metrics["test/ppl_fwd"] < 1e5 and 1 < metrics["val/ppl"] < 1e5


def test_resumed_mid_epoch_run_ends_where_an_uninterrupted_run_ends(tiny_text, tmp_path):
    """Stopped mid-epoch with a checkpoint, then resumed: the carried LSTM state, the loader's position and the
    random states are restored, and the final weights equal those of a run that was never stopped."""
    from lstmlab.cli.train import train

    common = [*tiny_bilm_overrides(tiny_text), "trainer.limit_val_batches=3", "trainer.limit_test_batches=2",
              "callbacks.early_stopping=null", "callbacks.model_checkpoint.monitor=null", "test=false"]
    steps = "trainer.max_steps=" + str(_steps_per_epoch(tiny_text) + 7)  # across an epoch end
    train(compose_config("train.yaml", [*common, steps], tmp_path / "straight"))
    stopped = compose_config("train.yaml", [*common, "trainer.max_steps=11",
                                            "+callbacks.model_checkpoint.every_n_train_steps=11"], tmp_path / "stopped")
    train(stopped)
    ckpt = tmp_path / "stopped/checkpoints/last.ckpt"
    checkpoint = torch.load(ckpt, weights_only=True)
    assert checkpoint["global_step"] == 11 and checkpoint["lstmlab_carried_state"][0]["forward"]
    train(compose_config("train.yaml", [*common, steps, f"ckpt_path={ckpt}"], tmp_path / "stopped"))
    straight = load_file(tmp_path / "straight/model/model.safetensors")
    resumed = load_file(tmp_path / "stopped/model/model.safetensors")
    assert all(torch.equal(straight[k], resumed[k]) for k in straight)


def test_a_max_steps_stop_mid_epoch_passes_early_stopping(tiny_text, tmp_path):
    """Early stopping (on by default) checks after validation, not at the end of an epoch that a step limit cut
    short before its validation: Lightning's default check there raised for the missing val/ppl."""
    from lstmlab.cli.train import train

    overrides = [*tiny_bilm_overrides(tiny_text), "trainer.max_steps=3", "trainer.limit_val_batches=2",
                 "trainer.limit_test_batches=2"]
    assert 3 < _steps_per_epoch(tiny_text)
    metrics = train(compose_config("train.yaml", overrides, tmp_path))
    assert 1 < metrics["test/ppl"] < 1e5


def _steps_per_epoch(tiny_text) -> int:
    module = LanguageModelDataModule(train_path=str(tiny_text["train"]), tokenizer="rule", lowercase=False,
                                     batch_size=4, window=10)
    module.setup("fit")
    return len(module.train_dataloader())


def test_the_language_model_takes_a_gru_from_the_cell_group(tiny_text, tmp_path):
    from lstmlab.tasks import load_task

    overrides = [*tiny_bilm_overrides(tiny_text), "experiment=bilm_text", "cell=gru", "debug=fast_dev_run"]
    train(compose_config("train.yaml", overrides, tmp_path))
    net = load_task(tmp_path).net
    assert all(isinstance(layer, torch.nn.GRU) for layer in (*net.forward_lm.layers, *net.backward_lm.layers))
    with pytest.raises(ValueError, match="model.net.peephole: LSTM variants, impossible with cell='gru'"):
        train(compose_config("train.yaml", [*overrides, "model.net.peephole=true"], tmp_path / "bad"))
