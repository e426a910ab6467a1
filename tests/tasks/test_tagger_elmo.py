"""The tagger with a trained biLM's frozen layers as features (ELMo): the scalar mix, the char map, the features,
training with the biLM frozen, a self-contained saved tagger, and the mistakes a user can make."""

from __future__ import annotations

import json
import math
from itertools import islice
from pathlib import Path

import hydra
import pytest
import torch
from conftest import TINY_MODEL, compose_config, tiny_data_overrides
from omegaconf.errors import MissingMandatoryValue

from lstmlab import Tagger
from lstmlab.cli.train import train
from lstmlab.data.readers.conllu import read_conllu
from lstmlab.data.tagging.datamodule import TaggingDataModule
from lstmlab.data.vocab.vocab import Vocab
from lstmlab.inference.elmo import Elmo
from lstmlab.io.model_folder import ModelFileError, load_model_file, save_model_folder
from lstmlab.modules.scalar_mix import ScalarMix
from lstmlab.tasks.tagging import TaggingTask, char_id_map


def elmo_overrides(bilm: Path, tiny: dict[str, Path], vectors: Path) -> list[str]:
    return ["experiment=pos_ewt_elmo", f"model.bilm={bilm}", *TINY_MODEL, *tiny_data_overrides(tiny, vectors)]


def build_task(overrides: list[str], output_dir: Path) -> tuple[TaggingTask, TaggingDataModule]:
    """(task, data module) as `lstmlab-train` builds them, before training."""
    cfg = compose_config("train.yaml", overrides, output_dir)
    datamodule = hydra.utils.instantiate(cfg.data)
    datamodule.setup("fit")
    return hydra.utils.instantiate(cfg.model, _partial_=True)(datamodule=datamodule), datamodule


@pytest.fixture(scope="module")
def bilm_state(trained_bilm) -> dict[str, torch.Tensor]:
    return load_model_file(trained_bilm[0], "bilm")[1]


@pytest.fixture(scope="module")
def stepped(trained_bilm, tiny_ewt, tiny_vectors, tmp_path_factory) -> tuple[TaggingTask, TaggingDataModule]:
    """The pos_ewt_elmo tagger after three Adam steps on real batches, with its data module."""
    task, datamodule = build_task(elmo_overrides(trained_bilm[0], tiny_ewt, tiny_vectors),
                                  tmp_path_factory.mktemp("elmo_steps"))
    torch.manual_seed(0)
    optimizer = torch.optim.Adam(task.parameters(), lr=0.01)
    task.train()
    for batch in islice(datamodule.train_dataloader(), 3):
        optimizer.zero_grad()
        emissions = task.net(batch["words"], batch["chars"], batch["mask"])
        task.net.loss(emissions, batch["tags"], batch["mask"]).backward()
        optimizer.step()
    return task.eval(), datamodule


@pytest.fixture(scope="module")
def elmo_run(trained_bilm, tiny_ewt, tiny_vectors, tmp_path_factory) -> tuple[Path, dict]:
    """(run directory, metrics) of `lstmlab-train experiment=pos_ewt_elmo model.bilm=<run>`, tiny and one batch."""
    run = tmp_path_factory.mktemp("elmo_run")
    overrides = [*elmo_overrides(trained_bilm[0], tiny_ewt, tiny_vectors), "debug=fast_dev_run"]
    return run, train(compose_config("train.yaml", overrides, run))


def test_scalar_mix_weights_layers_by_softmax_and_scales_by_gamma():
    mix = ScalarMix(2)
    layers = torch.tensor([[[1.0, 2.0]], [[5.0, 10.0]]])  # [L=2, 1, D=2]
    torch.testing.assert_close(mix(layers), torch.tensor([[3.0, 6.0]]))  # starts as the plain average
    with torch.no_grad():
        mix.scalars.copy_(torch.tensor([0.0, math.log(3.0)]))  # softmax: 1/4, 3/4
        mix.gamma.fill_(2.0)
    torch.testing.assert_close(mix(layers), 2.0 * torch.tensor([[0.25 * 1 + 0.75 * 5, 0.25 * 2 + 0.75 * 10]]))


def test_char_id_map_sends_padding_to_padding_and_unseen_chars_to_unknown():
    tagger_chars, bilm_chars = Vocab.build("aabcé"), Vocab.build("dcba")
    mapped = char_id_map(tagger_chars, bilm_chars).tolist()
    assert len(mapped) == len(tagger_chars)
    assert mapped[tagger_chars.pad_index] == 0 and mapped[tagger_chars.unk_index] == 1
    assert mapped[tagger_chars.index("é")] == 1  # the biLM never saw it
    assert [mapped[tagger_chars.index(c)] for c in "abc"] == [bilm_chars.index(c) for c in "abc"]


def test_bilm_features_are_the_bilm_layers_mixed(trained_bilm, tiny_ewt, tiny_vectors, tmp_path):
    task, _ = build_task(elmo_overrides(trained_bilm[0], tiny_ewt, tiny_vectors), tmp_path)
    net, elmo = task.net.eval(), Elmo.load(trained_bilm[0])
    sentences = [["The", "people", "of", "the", "country", "."], ["We", "have", "a", "government", "."]]
    padded = task.vocabs.encode_tokens(sentences).padded(range(2))
    assert net.bilm_chars[padded["chars"]].ne(padded["chars"]).any()  # the two char vocabularies differ
    features = net.bilm_features(padded["chars"], padded["mask"])
    assert features.shape == (2, 6, elmo.dim)
    # a fresh mix is the average of the layers; the map makes the tagger's char ids the biLM's
    torch.testing.assert_close(features, elmo(sentences).layers.mean(dim=0))
    features.sum().backward()  # gradients reach the mix, not the biLM
    assert net.bilm_mix.scalars.grad is not None and net.bilm_mix.gamma.grad is not None
    assert all(p.grad is None for p in net.bilm.parameters())
    assert net.encoder.forward_layers[0].input_size == net.config.word_dim + net.chars.output_dim + elmo.dim


def test_bilm_stays_frozen_and_in_eval_mode_while_the_tagger_learns(stepped, bilm_state):
    task, _ = stepped
    net = task.net
    assert all(not p.requires_grad and p.grad is None for p in net.bilm.parameters())
    trained = net.bilm.state_dict()
    assert trained.keys() == bilm_state.keys()
    assert all(torch.equal(trained[name], value) for name, value in bilm_state.items())
    assert net.bilm_mix.scalars.ne(0).all() and net.bilm_mix.gamma.ne(1)  # the mix learned
    net.train()
    assert net.training and not any(module.training for module in net.bilm.modules())
    net.eval()


def test_saved_tagger_predicts_like_the_in_memory_one(stepped, trained_bilm, tiny_ewt, tmp_path):
    task, datamodule = stepped
    folder = save_model_folder(tmp_path / "model", task.payload(), task.net.state_dict())
    loaded = Tagger.load(folder)
    sentences = [s["tokens"] for s in islice(read_conllu(tiny_ewt["dev"]), 20)]
    assert loaded.predict(sentences) == Tagger(task.net, task.vocabs).predict(sentences)
    batch = next(iter(datamodule.val_dataloader()))
    inputs = (batch["words"], batch["chars"], batch["mask"])
    with torch.inference_mode():
        torch.testing.assert_close(loaded.net(*inputs), task.net(*inputs), rtol=0, atol=0)
    torch.testing.assert_close(loaded.net.bilm_chars, task.net.bilm_chars, rtol=0, atol=0)
    # self-contained: the biLM's config is in the tagger's, its path nowhere
    payload = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    assert payload["net_config"]["bilm"] == load_model_file(trained_bilm[0], "bilm")[0]["net_config"]
    assert str(trained_bilm[0]) not in json.dumps(payload)


def test_elmo_experiment_trains_and_exports_the_bilm_weights(elmo_run, bilm_state):
    run, metrics = elmo_run
    assert 0.0 <= metrics["test/acc"] <= 1.0 and metrics["test/loss"] > 0
    payload, state = load_model_file(run, "tagger")
    assert payload["net_config"]["use_crf"]  # pos_ewt's CRF tagger
    assert all(torch.equal(state[f"bilm.{name}"], value) for name, value in bilm_state.items())
    assert state["bilm_mix.scalars"].ne(0).all()  # Lightning's optimizer trained the mix, not the biLM
    assert len(Tagger.load(run).tags) == 17


def test_a_tagger_given_as_the_bilm_is_refused(elmo_run, tiny_ewt, tiny_vectors, tmp_path):
    with pytest.raises(ModelFileError, match=r"this is a 'tagger' model, expected a 'bilm' model"):
        build_task(elmo_overrides(elmo_run[0], tiny_ewt, tiny_vectors), tmp_path)


def test_elmo_experiment_requires_a_bilm(tmp_path):
    cfg = compose_config("train.yaml", ["experiment=pos_ewt_elmo"], tmp_path)
    with pytest.raises(MissingMandatoryValue, match="model.bilm"):
        _ = cfg.model.bilm
