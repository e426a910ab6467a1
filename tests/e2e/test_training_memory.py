"""What a training run holds in memory (bench/train_memory.py measures it): the pretrained vectors are handed to the
network, not kept beside it; the char LSTM reads each distinct word of a batch once; oneDNN's kernel cache is capped."""

from __future__ import annotations

import hydra
import torch
import yaml
from conftest import TINY_MODEL, compose_config, tiny_data_overrides, train_command

from lstmlab.modules.char_lstm import CharLSTM


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


def test_the_char_lstm_reads_each_distinct_word_once_in_training_with_the_same_result():
    torch.manual_seed(0)
    encoder = CharLSTM(num_chars=12, char_dim=6, hidden_size=5)
    hello, hi, padding = [3, 4, 5, 5, 6], [3, 7, 0, 0, 0], [0] * 5
    chars = torch.tensor([[hello, hi, hello, padding], [hi, hi, hello, padding]])  # 8 slots, 3 distinct rows
    rows_read = []
    encoder.lstm.register_forward_hook(lambda module, inputs, output: rows_read.append(inputs[0].shape[0]))

    def run(training: bool) -> tuple[torch.Tensor, list[torch.Tensor]]:
        encoder.zero_grad()
        output = encoder.train(training)(chars)
        (output * torch.linspace(-1, 1, output.numel()).view_as(output)).sum().backward()
        return output.detach(), [p.grad.clone() for p in encoder.parameters()]

    trained, trained_grads = run(training=True)
    every_slot, every_slot_grads = run(training=False)  # no dropout here: only the reading differs
    assert rows_read == [3, 8]
    torch.testing.assert_close(trained, every_slot)
    assert trained[0, 3].abs().sum() == 0  # a padding slot still gets zeros
    for grad, reference in zip(trained_grads, every_slot_grads, strict=True):
        torch.testing.assert_close(grad, reference)


def test_lstmlab_train_bounds_onednn_kernel_cache(tiny_ewt, tiny_vectors, tmp_path, monkeypatch):
    """At oneDNN's default of 1,024 kernels, one per batch shape, a full EWT epoch held ~0.8 GB more (a user's own
    setting wins: tests/utils/test_utils.py). The job's environment is read back through a config key resolved inside
    it: the model card holds the resolved config."""
    monkeypatch.delenv("ONEDNN_PRIMITIVE_CACHE_CAPACITY", raising=False)
    probe = "+cache_capacity_seen=${oc.env:ONEDNN_PRIMITIVE_CACHE_CAPACITY,unset}"
    done = train_command(*TINY_MODEL, *tiny_data_overrides(tiny_ewt, tiny_vectors), "trainer.max_epochs=1", probe,
                         cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    (card,) = tmp_path.glob("logs/pos_quick/runs/*/model/README.md")
    config = yaml.safe_load(card.read_text(encoding="utf-8").split("```yaml")[1].split("```")[0])
    assert config["cache_capacity_seen"] == "64"
