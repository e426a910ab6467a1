"""Clipping by norm reuses the gradient norm DivergenceStop has just computed: the same update as
`clip_grad_norm_` alone, with one pass over the gradients instead of two (docs/benchmarks.md measures the saving)."""

from __future__ import annotations

import hydra
import lightning as L
import torch
from conftest import TINY_MODEL, compose_config, tiny_data_overrides

from lstmlab.callbacks.divergence_stop import DivergenceStop


def fit_steps(cfg, callbacks: list[L.Callback], clip: float | None) -> L.LightningModule:
    """Three real training steps of the tiny tagger from seed 0, clipped at `clip`."""
    datamodule = hydra.utils.instantiate(cfg.data)
    datamodule.setup("fit")
    torch.manual_seed(0)
    task = hydra.utils.instantiate(cfg.model, _partial_=True)(datamodule=datamodule)
    trainer = L.Trainer(accelerator="cpu", max_steps=3, gradient_clip_val=clip, limit_val_batches=0, logger=False,
                        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                        callbacks=callbacks)
    trainer.fit(task, datamodule=datamodule)
    return task


def test_clipping_with_the_checked_norm_updates_as_clip_grad_norm_does(tiny_ewt, tiny_vectors, tmp_path):
    cfg = compose_config("train.yaml", ["experiment=pos_quick", *TINY_MODEL, "model.scheduler=null",
                                        *tiny_data_overrides(tiny_ewt, tiny_vectors)], tmp_path)
    checked = fit_steps(cfg, [DivergenceStop()], clip=0.05)
    plain = fit_steps(cfg, [], clip=0.05)
    unclipped = fit_steps(cfg, [], clip=None)
    assert "checked_gradient_norm" not in vars(checked)  # every step's clipping took it: none is left for later
    for name, weights in checked.state_dict().items():
        torch.testing.assert_close(weights, plain.state_dict()[name], rtol=0, atol=1e-7, msg=name)
    assert any(not torch.equal(weights, unclipped.state_dict()[name])  # the clip did act on these steps
               for name, weights in plain.state_dict().items() if weights.is_floating_point())
