"""fp16-mixed training and the divergence stop: an overflow is the gradient scaler's business (it skips the step and
halves its scale), a scale that collapses is a diverged run, and `trainer.precision=16-mixed` on a CPU, which
Lightning would swap for bf16-mixed and oneDNN's LSTM could not train anyway, is refused at start-up.

Lightning runs fp16 with a scaler on a CPU only when given the precision plugin itself, and oneDNN has no fp16
training for its fused recurrent layers, so these runs take the unrolled peephole LSTM (plain matmuls) through the
same scaler code a GPU run takes."""

from __future__ import annotations

from pathlib import Path

import lightning as L
import pytest
import torch
from conftest import TINY_MODEL, compose_config, tiny_data_overrides
from safetensors.torch import load_file

from lstmlab.callbacks.divergence_stop import TrainingDivergedError
from lstmlab.cli.train import train

FP16_PLUGIN = "{_target_:lightning.pytorch.plugins.precision.MixedPrecision,precision:16-mixed,device:cpu}"


def fp16_overrides(tiny_ewt: dict[str, Path], tiny_vectors: Path, init_scale: float) -> list[str]:
    """The tiny tagger for 8 steps (and one validation batch) in fp16-mixed on the CPU, its scaler starting at
    `init_scale`; the default callbacks and the configured (fused) Adam, which steps aside for the default one
    under the scaler: Lightning clips no gradients a fused optimizer unscales itself."""
    return ["experiment=pos_quick", *TINY_MODEL, *tiny_data_overrides(tiny_ewt, tiny_vectors), "cell=lstm_peephole",
            "trainer.max_epochs=1", "trainer.limit_train_batches=8",
            "trainer.limit_val_batches=1", "test=false", "trainer.precision=null",
            f"trainer.plugins=[{{_target_:lstmlab.utils.atomic_checkpoint_io.AtomicCheckpointIO}},{FP16_PLUGIN}]",
            f"+trainer.plugins.1.scaler={{_target_:torch.amp.GradScaler,device:cpu,init_scale:{init_scale}}}",
            f"+callbacks.scales._target_={__name__}.LossScales"]


class LossScales(L.Callback):
    """The scaler's scale after each training step."""

    seen: list[float] = []

    def on_train_batch_end(self, trainer: L.Trainer, *args: object) -> None:
        LossScales.seen.append(trainer.precision_plugin.scaler.get_scale())


def test_fp16_mixed_on_a_cpu_is_refused_at_start_up_in_one_line(tiny_ewt, tiny_vectors, tmp_path):
    overrides = ["experiment=pos_quick", *TINY_MODEL, *tiny_data_overrides(tiny_ewt, tiny_vectors),
                 "trainer.precision=16-mixed"]
    with pytest.raises(RuntimeError, match=r"^trainer.precision=16-mixed cannot train on a CPU: oneDNN's recurrent "
                                           r"layers have no fp16 training .* use trainer.precision=bf16-mixed or "
                                           r"32-true on a CPU, or 16-mixed on a GPU \(trainer=gpu\)$"):
        train(compose_config("train.yaml", overrides, tmp_path))
    assert not (tmp_path / "csv").exists() and not (tmp_path / "checkpoints").exists()


def test_an_fp16_run_trains_on_through_the_scalers_overflows(tiny_ewt, tiny_vectors, tmp_path):
    """A scale of 2**24 overflows the first steps' gradients: the scaler skips them and halves its scale until the
    steps fit, and the run goes on to the end with the default callbacks (DivergenceStop used to stop it at step 0
    with an infinite gradient norm and advice to lower the learning rate)."""
    LossScales.seen.clear()
    metrics = train(compose_config("train.yaml", fp16_overrides(tiny_ewt, tiny_vectors, 2.0**24), tmp_path))
    scales = LossScales.seen
    assert len(scales) == 8 and scales[0] < 2.0**24  # overflows happened: each halved the scale
    assert scales[-1] == scales[-2]  # and then steps were applied with the scale left as it was
    assert torch.isfinite(torch.tensor([metrics["train/loss"], metrics["val/loss"]])).all()
    weights = load_file(tmp_path / "model/model.safetensors")
    assert all(bool(torch.isfinite(value).all()) for value in weights.values())
    assert not (tmp_path / "FAILED").exists()


def test_an_fp16_run_that_diverged_stops_when_the_loss_scale_collapses(tiny_ewt, tiny_vectors, tmp_path):
    """Adam at lr 1e30: after its first step every loss is NaN and the scaler skips step after step; once the scale
    is below the floor (here 2048, to keep the test short; 1e-4 by default) the run stops, its weights those of
    the last applied step."""
    overrides = [*fp16_overrides(tiny_ewt, tiny_vectors, 2.0**16), "model.optimizer.lr=1e30",
                 "+callbacks.divergence_stop.min_loss_scale=2048", "checkpoint_every_n_steps=1"]
    with pytest.raises(TrainingDivergedError, match=r"the fp16 loss scale has fallen to 1024 \(below 2048\) at step 7 "
                                                    r"\(epoch 0\): the gradient scaler has skipped step after step.*"
                                                    r"Last good checkpoint: .*last\.ckpt"):
        train(compose_config("train.yaml", overrides, tmp_path))
    assert "TrainingDivergedError" in (tmp_path / "FAILED").read_text()
    assert not (tmp_path / "model").exists()
