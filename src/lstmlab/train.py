"""`lstmlab-train` / `make train`: compose data + model + trainer from conf/, fit, test the best checkpoint,
export the model. Reads top to bottom like lightning-hydra-template's train.py."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import hydra
import lightning as L
import torch
from lightning.pytorch.utilities import rank_zero_info
from omegaconf import DictConfig

from lstmlab.callbacks.throughput import ThroughputMonitor
from lstmlab.serialization import save_model_folder
from lstmlab.utils.malloc_tuning import tune_malloc
from lstmlab.utils.run_helpers import apply_extras, config_dir, instantiate_group, record_failures, register_resolvers

log = logging.getLogger(__name__)
register_resolvers()


@record_failures
def train(cfg: DictConfig) -> dict[str, Any]:
    """Train and test one configuration; returns its metrics (the sweeper optimises `cfg.optimized_metric`)."""
    apply_extras(cfg)
    if cfg.get("seed") is not None:
        L.seed_everything(cfg.seed, workers=True)

    log.info("Data <%s>", cfg.data._target_)
    datamodule = hydra.utils.instantiate(cfg.data)
    datamodule.setup("fit")

    log.info("Model <%s>", cfg.model.net._target_)
    net = hydra.utils.instantiate(cfg.model.net)(**datamodule.net_sizes)
    pretrained = datamodule.pretrained_rows()
    if pretrained is not None:
        net.words.load_pretrained(*pretrained)
    # called, not passed to instantiate: OmegaConf would convert the vocabularies into a config
    model = hydra.utils.instantiate(cfg.model, _partial_=True)(net=net, vocabs=datamodule.vocabs)

    callbacks = instantiate_group(cfg.get("callbacks"))
    loggers = instantiate_group(cfg.get("logger"))
    trainer: L.Trainer = hydra.utils.instantiate(cfg.trainer, callbacks=callbacks, logger=loggers or False)

    trainer.fit(model, datamodule=datamodule, ckpt_path=cfg.get("ckpt_path"))
    metrics = {name: float(value) for name, value in trainer.callback_metrics.items()}

    best = trainer.checkpoint_callback.best_model_path if trainer.checkpoint_callback else ""
    if best:  # from here on the model is the best checkpoint: it is tested and exported
        model.load_state_dict(torch.load(best, map_location="cpu", weights_only=True)["state_dict"])
    if cfg.get("test", True):
        trainer.test(model, datamodule=datamodule)
        metrics.update({name: float(value) for name, value in trainer.callback_metrics.items()})

    export_dir = Path(cfg.paths.output_dir) / "model"
    if trainer.is_global_zero:
        save_model_folder(export_dir, model.model_payload(), model.net.state_dict())

    throughput = next((c for c in callbacks if isinstance(c, ThroughputMonitor)), None)
    if throughput is not None:
        metrics.update(throughput.summary)
    rank_zero_info(_summary(cfg.paths.output_dir, best, export_dir, metrics))
    return metrics


def _summary(output_dir: str, best: str, export_dir: Path, metrics: dict[str, float]) -> str:
    lines = [
        "",
        f"Run directory:   {output_dir}",
        f"Best checkpoint: {best or '(none saved)'}",
        f"Exported model:  {export_dir}  (lstmlab-tag --model {output_dir} < raw.txt)",
    ]
    shown = [name for name in ("test/acc", "test/loss", "val/acc") if name in metrics]
    lines += [f"{name + ':':<17}{metrics[name]:.4f}" for name in shown]
    if "train_tokens_per_s" in metrics:
        lines.append(f"{'train speed:':<17}{metrics['train_tokens_per_s']:,.0f} tokens/s, "
                     f"{100 * metrics['padding_ratio']:.1f}% padding")
    return "\n".join(lines)


@hydra.main(version_base="1.3", config_path=config_dir(), config_name="train.yaml")
def main(cfg: DictConfig) -> float | None:
    tune_malloc()
    metrics = train(cfg)
    optimized = cfg.get("optimized_metric")
    return metrics.get(optimized) if optimized else None


if __name__ == "__main__":
    main()
