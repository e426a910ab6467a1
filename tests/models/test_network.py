"""Every whole network is a `Network`: built from its Hydra model config, saved as a JSON config beside its weights
and loaded back as it was, by the calls written once in `lstmlab.models.network`; `lstmlab.models` lists each
network with its config."""

from __future__ import annotations

import importlib
import pkgutil

import hydra
import pytest
import torch
from conftest import compose_config

from lstmlab import models
from lstmlab.data.vocab.text_vocabs import TextVocabs
from lstmlab.io.model_folder import load_model_file, model_payload, save_model_folder
from lstmlab.models import Network

TOKENS = "The cat sat on the mat . A dog ran in the park .".split()


def vocabulary_sizes(network: type[Network], vocabs: TextVocabs) -> dict[str, int]:
    """What the data module hands a network's `from_options` (see each task's `build`)."""
    sizes = {"num_words": len(vocabs.words), "num_chars": len(vocabs.chars), "num_tags": len(vocabs.labels),
             "num_classes": len(vocabs.labels)}
    return {name: size for name, size in sizes.items() if name in network.config_type.__dataclass_fields__}


@pytest.mark.parametrize("model", ["tagger", "tagger_crf", "nli", "classifier", "classifier_bov", "bilm_small"])
def test_a_network_built_from_its_model_config_saves_and_loads_as_it_was(model, tmp_path):
    cfg = compose_config("train.yaml", [f"model={model}", "model.net.hidden_size=8"], tmp_path)
    vocabs = TextVocabs.build(TextVocabs.count_forms([TOKENS]), ["NOUN", "VERB", "DET", "PUNCT"])
    build = hydra.utils.instantiate(cfg.model.net)
    network = build.func.__self__  # the class whose from_options the config names
    net = build(**vocabulary_sizes(network, vocabs))
    folder = save_model_folder(tmp_path / "model", model_payload(net.kind, net.config_dict(), vocabs.to_dict()),
                               net.state_dict())

    payload, state = load_model_file(folder, net.kind)
    loaded = network.from_saved(payload["net_config"], state)

    assert type(loaded) is type(net) and loaded.config == net.config
    assert loaded.state_dict().keys() == net.state_dict().keys()
    assert all(torch.equal(loaded.state_dict()[key], value) for key, value in net.state_dict().items())


def test_the_package_lists_every_network_with_its_config_and_says_what_each_is():
    defined = {value for info in pkgutil.iter_modules(models.__path__)
               for value in vars(importlib.import_module(f"{models.__name__}.{info.name}")).values()
               if isinstance(value, type) and issubclass(value, Network) and value is not Network}
    assert len(defined) == 4
    for listed in defined | {network.config_type for network in defined}:
        assert listed.__name__ in models.__all__ and getattr(models, listed.__name__) is listed
    assert all(f"`{network.__name__}` (`{network.config_type.__name__}`)" in models.__doc__ for network in defined)
    assert len({network.kind for network in defined}) == len(defined)  # a saved model's kind names one network
