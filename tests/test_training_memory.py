"""What a training run holds in memory: the pretrained vectors are handed to the network, not kept beside it."""

from __future__ import annotations

import hydra
import torch
from conftest import TINY_MODEL, compose_config, tiny_data_overrides


def test_the_data_module_lets_go_of_the_vectors_once_a_network_has_them(tiny_ewt, tiny_vectors, tmp_path):
    cfg = compose_config("train.yaml", ["experiment=pos_quick", *TINY_MODEL,
                                        *tiny_data_overrides(tiny_ewt, tiny_vectors)], tmp_path)
    datamodule = hydra.utils.instantiate(cfg.data)
    datamodule.setup("fit")
    assert datamodule.matched_vectors is not None

    def build() -> torch.Tensor:
        torch.manual_seed(0)
        task = hydra.utils.instantiate(cfg.model, _partial_=True)(datamodule=datamodule)
        return task.net.words.weight.detach().clone()

    first = build()
    assert datamodule.matched_vectors is None  # the network's table is the only copy
    the = datamodule.vocabs.words.index("the")
    assert first[the, :2].tolist() == [torch.tensor(0.418).item(), torch.tensor(0.24968).item()]  # GloVe's "the"
    second = build()  # another network from the same data reads the file again and starts alike
    assert torch.equal(first, second)
    assert datamodule.matched_vectors is None
