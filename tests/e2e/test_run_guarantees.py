"""What a run promises beyond its numbers: exact resumption of every random generator, exports that are whole
or absent, the best epoch's score for sweeps, an optimizer that works on older torch, prediction under DDP."""

from __future__ import annotations

import csv
import functools
import json
import os
import random
import socket
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import ROOT, TINY_MODEL, compose_config, tiny_data_overrides

from lstmlab.cli.train import train
from lstmlab.io.model_folder import CONFIG_FILE, WEIGHTS_FILE, load_model_file, save_model_folder
from lstmlab.tasks.optimizers import make_optimizer
from lstmlab.utils.rng_state import collect_rng_states, restore_rng_states


def draws() -> list:
    return [torch.rand(3).tolist(), random.random(), np.random.rand(2).tolist()]


def test_every_random_generator_is_saved_and_restored_through_a_safe_checkpoint(tmp_path):
    torch.manual_seed(1), random.seed(1), np.random.seed(1)
    np.random.standard_normal()  # leaves a cached Gaussian in numpy's state
    torch.save({"rng": collect_rng_states()}, tmp_path / "states.ckpt")
    expected = draws()
    restore_rng_states(torch.load(tmp_path / "states.ckpt", weights_only=True)["rng"])
    assert draws() == expected


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_generator_is_saved_and_restored():
    torch.cuda.manual_seed(3)
    torch.rand(1, device="cuda")
    states = collect_rng_states()
    expected = torch.rand(4, device="cuda").tolist()
    torch.rand(9, device="cuda")
    restore_rng_states(states)
    assert torch.rand(4, device="cuda").tolist() == expected


def test_export_is_never_missing_or_mixed_while_it_is_replaced(tmp_path):
    """A reader polling the export folder while it is rewritten 150 times always finds a whole model."""
    folder = tmp_path / "model"
    state = {"weight": torch.zeros(64, 64)}
    save_model_folder(folder, {"kind": "tagger", "format_version": 1, "version": 0}, state)
    done = threading.Event()
    seen: list[str] = []

    def read() -> None:
        while not done.is_set():
            try:
                payload, weights = load_model_file(folder, "tagger")
                if weights["weight"][0, 0].item() != payload["version"]:
                    seen.append("mixed")
            except Exception as error:  # noqa: BLE001 - any failure to read is what this test looks for
                seen.append(f"{type(error).__name__}: {error}")

    reader = threading.Thread(target=read)
    reader.start()
    for version in range(1, 151):
        save_model_folder(folder, {"kind": "tagger", "format_version": 1, "version": version},
                          {"weight": torch.full((64, 64), float(version))})
    done.set()
    reader.join()
    assert seen == []
    assert sorted(p.name for p in folder.iterdir()) == sorted([CONFIG_FILE, WEIGHTS_FILE])
    assert [p.name for p in tmp_path.iterdir()] == ["model"]  # no staging folders left behind


class NoFusedAdam(torch.optim.Adam):
    """Adam as torch < 2.4 behaves on CPU: fused=True is refused."""

    def __init__(self, params, fused: bool | None = None, **options) -> None:
        if fused:
            raise RuntimeError("`fused=True` requires all the params to be floating point Tensors of supported "
                               "devices: ['cuda']")
        super().__init__(params, **options)


def test_fused_optimizer_falls_back_where_torch_has_no_fused_kernel(caplog):
    parameters = [torch.nn.Parameter(torch.ones(3))]
    optimizer = make_optimizer(functools.partial(NoFusedAdam, lr=0.1, fused=True), parameters)
    assert isinstance(optimizer, NoFusedAdam) and optimizer.param_groups[0]["lr"] == 0.1
    assert "fused optimizer unavailable" in caplog.text
    with pytest.raises(ValueError, match="Invalid learning rate"):  # other errors are not swallowed
        make_optimizer(functools.partial(torch.optim.Adam, lr=-1.0, fused=True), parameters)


def test_returned_metric_is_the_best_epochs_not_the_last(tiny_ewt, tiny_vectors, tmp_path):
    """On 300 training sentences the validation loss bottoms out and rises again within 6 epochs at this
    learning rate: a sweeper must receive the best value (the checkpoint that is tested and exported), and every
    other val/* of metrics.json is that checkpoint's too, not the last epoch's."""
    overrides = ["experiment=pos_quick", *TINY_MODEL, *tiny_data_overrides(tiny_ewt, tiny_vectors),
                 "trainer.max_epochs=6", "model.optimizer.lr=0.05", "model.scheduler=null", "test=false",
                 "callbacks.early_stopping=null", "monitor=val/loss", "mode=min"]
    metrics = train(compose_config("train.yaml", overrides, tmp_path))
    with (tmp_path / "csv/metrics.csv").open() as handle:
        per_epoch = [(float(row["val/loss"]), float(row["val/acc"])) for row in csv.DictReader(handle)
                     if row["val/loss"]]
    losses = [loss for loss, _ in per_epoch]
    assert len(per_epoch) == 6 and losses[-1] > min(losses)  # the setting does what the test needs
    best_epoch = losses.index(min(losses))
    assert per_epoch[best_epoch][1] != per_epoch[-1][1]  # the last epoch's val/acc would be told apart
    assert metrics["val/loss"] == pytest.approx(min(losses))
    assert torch.load(tmp_path / "checkpoints/best.ckpt", weights_only=True)["epoch"] == best_epoch
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert saved["val/acc"] == pytest.approx(per_epoch[best_epoch][1], abs=1e-6)
    assert saved["val/loss"] == metrics["val/loss"]


PREDICT_IN_PROCESS_GROUP = """
import sys, torch.distributed as dist
from lstmlab import Tagger
dist.init_process_group("gloo", rank=int(sys.argv[2]), world_size=2)
tagged = Tagger.load(sys.argv[1]).predict([["The", "cat", "."], ["Hi"], ["A", "dog", "barks", "."], ["Yes"]])
print(sum(t is not None for t in tagged), [len(t.tags) for t in tagged])
dist.destroy_process_group()
"""


def test_tagger_predict_tags_every_sentence_inside_a_process_group(trained):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)}
    ranks = [subprocess.Popen([sys.executable, "-c", PREDICT_IN_PROCESS_GROUP, str(trained[0]), str(rank)],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for rank in range(2)]
    outputs = [rank.communicate(timeout=120) for rank in ranks]
    for rank, (stdout, stderr) in zip(ranks, outputs, strict=True):
        assert rank.returncode == 0, stderr[-2000:]
        assert stdout.strip() == "4 [3, 1, 4, 1]"


def _all_finite(checkpoint: Path) -> bool:
    state = torch.load(checkpoint, map_location="cpu", weights_only=True)["state_dict"]
    return all(bool(torch.isfinite(value).all()) for value in state.values() if value.is_floating_point())


@pytest.mark.parametrize("checkpoints", [
    ["+trainer.val_check_interval=1", "trainer.check_val_every_n_epoch=null"],  # ModelCheckpoint at each step
    ["callbacks.model_checkpoint=null", "checkpoint_every_n_steps=1"],  # only the resume checkpoint
], ids=["model_checkpoint", "resume_checkpoint"])
def test_a_diverging_run_stops_at_once_and_leaves_only_finite_weights(tiny_ewt, tiny_vectors, tmp_path, checkpoints):
    """Adam at lr 1e30 overflows the weights at its first step: the next loss is not finite. The run stops there
    with an error naming the step, the value and the last good checkpoint; it exports nothing and every
    checkpoint written before holds finite weights."""
    from lstmlab.callbacks.divergence_stop import TrainingDivergedError

    overrides = ["experiment=pos_quick", *TINY_MODEL, *tiny_data_overrides(tiny_ewt, tiny_vectors),
                 "trainer.max_epochs=3", "model.optimizer.lr=1e30", *checkpoints]
    cfg = compose_config("train.yaml", overrides, tmp_path)
    with pytest.raises(TrainingDivergedError, match=r"the (training loss|gradient norm) is (nan|inf|-inf) at step "
                                                     r"\d+ \(epoch 0\).*Last good checkpoint: .*last\.ckpt"):
        train(cfg)
    assert "TrainingDivergedError" in (tmp_path / "FAILED").read_text()
    assert not (tmp_path / "model").exists() and not (tmp_path / "metrics.json").exists()
    checkpoints = sorted((tmp_path / "checkpoints").glob("*.ckpt"))
    assert checkpoints and all(_all_finite(path) for path in checkpoints)


def test_a_finite_run_is_not_stopped(trained):
    _, metrics = trained
    assert np.isfinite(metrics["test/loss"])
