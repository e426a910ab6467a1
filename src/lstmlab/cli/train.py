"""`lstmlab-train` / `make train`: compose data + model + trainer from conf/, fit, test the best checkpoint,
export the model. Reads top to bottom like lightning-hydra-template's train.py, and knows no task: the task
(`model._target_`, e.g. `TaggingTask.build`) builds its network from the data module and says how to export."""

from __future__ import annotations

import json
import logging
import shlex
import time
from pathlib import Path
from typing import Any

import hydra
import lightning as L
import torch
from hydra.core.hydra_config import HydraConfig
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.utilities import rank_zero_info
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import MissingMandatoryValue

from lstmlab.callbacks.throughput import ThroughputMonitor
from lstmlab.cli.hydra_app import (
    CONFIG_PATH,
    ResumeError,
    apply_extras,
    check_override_keys,
    expose_plugins,
    instantiate_group,
    record_failures,
    register_resolvers,
    resume_dir,
)
from lstmlab.io.model_card import write_model_card
from lstmlab.io.model_folder import save_model_folder
from lstmlab.modules.recurrent_cells import CellOptions
from lstmlab.tasks.base import Task
from lstmlab.utils.atomic_file import atomic_file
from lstmlab.utils.cpu import check_precision_supported
from lstmlab.utils.malloc_tuning import tune_malloc
from lstmlab.utils.onednn_cache import bound_primitive_cache
from lstmlab.utils.slurm import requeued_checkpoint
from lstmlab.utils.torch_threads import set_torch_threads

log = logging.getLogger(__name__)
register_resolvers()
expose_plugins()  # hydra/sweeper=optuna


@record_failures
def train(cfg: DictConfig) -> dict[str, Any]:
    """Train and test one configuration; returns its metrics. Every val/* is the best checkpoint's (the one that
    is tested and exported; `metrics[cfg.monitor]` is what a sweeper optimises); without a checkpoint, the last
    epoch's."""
    start = time.perf_counter()
    prepare_run(cfg)

    log.info("Data <%s>", cfg.data._target_)
    datamodule = hydra.utils.instantiate(cfg.data)
    datamodule.setup("fit")

    log.info("Model <%s> with <%s>", cfg.model._target_, cfg.model.net._target_)
    # called, not passed to instantiate: OmegaConf would turn the data module's vocabularies into a config
    model: Task = hydra.utils.instantiate(cfg.model, _partial_=True)(datamodule=datamodule)

    callbacks = instantiate_group(cfg.get("callbacks"))
    loggers = instantiate_group(cfg.get("logger"))
    trainer: L.Trainer = hydra.utils.instantiate(cfg.trainer, callbacks=callbacks, logger=loggers or False)

    trainer.fit(model, datamodule=datamodule, ckpt_path=resume_checkpoint(cfg, model))
    metrics = {name: float(value) for name, value in trainer.callback_metrics.items()}
    epochs = trainer.current_epoch  # epochs trained (early stopping ends sooner than max_epochs)
    best, best_metrics = best_checkpoint_metrics(trainer, model, datamodule)
    metrics.update(best_metrics)
    if cfg.get("test", True):
        metrics.update(tested_metrics(trainer, model, datamodule))

    export_dir = export_model(trainer, model, Path(cfg.paths.output_dir))
    metrics.update(run_figures(callbacks, epochs, start), **datamodule.data_figures())
    write_run_record(trainer, cfg, model, export_dir, metrics)
    rank_zero_info(_summary(cfg, model, best, export_dir, metrics))
    return metrics


def prepare_run(cfg: DictConfig) -> None:
    """Threads, the config's extras and every check that can refuse the config before any data is read; then the
    seed."""
    log.info(set_torch_threads(cfg.get("threads"), launcher_config()))
    apply_extras(cfg)
    require_values(cfg)
    check_cell(cfg)
    check_precision_supported(cfg.trainer.get("precision", "32-true"), cfg.trainer.get("accelerator", "cpu"))
    if cfg.get("seed") is not None:
        L.seed_everything(cfg.seed, workers=True)


def resume_checkpoint(cfg: DictConfig, model: Task) -> str | None:
    """The checkpoint to resume from, checked against the model built: `ckpt_path=`, or what a requeued SLURM job
    (which runs its command again) left in its run folder; None for a fresh run."""
    ckpt_path = cfg.get("ckpt_path") or requeued_checkpoint(cfg.paths.output_dir)
    if ckpt_path:
        check_resume(ckpt_path, model, cfg)
    return ckpt_path


def best_checkpoint_metrics(trainer: L.Trainer, model: Task, datamodule: L.LightningDataModule
                            ) -> tuple[str, dict[str, float]]:
    """(the best checkpoint's path, its val/* metrics); ("", {}) where none was saved. From here on the model is
    that checkpoint's: it is validated, tested and exported."""
    checkpoint = next((c for c in trainer.checkpoint_callbacks if isinstance(c, ModelCheckpoint)), None)
    best = checkpoint.best_model_path if checkpoint else ""
    if not best:
        return "", {}
    model.load_state_dict(torch.load(best, map_location="cpu", weights_only=True)["state_dict"])
    metrics = best_val_metrics(trainer, model, datamodule)
    if checkpoint.best_model_score is not None:  # the value that chose the checkpoint, as sweepers saw it
        metrics[checkpoint.monitor] = float(checkpoint.best_model_score)
    return best, metrics


def best_val_metrics(trainer: L.Trainer, model: Task, datamodule: L.LightningDataModule) -> dict[str, float]:
    """Every val/* metric of the best checkpoint. After fit, the trainer holds the last epoch's; validating the
    best checkpoint again (one pass over the dev set) also serves a resumed run, whose best epoch may predate
    this process. Its row is kept out of the loggers: metrics.csv already has that epoch's."""
    loggers, trainer.loggers = trainer.loggers, []
    try:
        trainer.validate(model, datamodule=datamodule, verbose=False)
    finally:
        trainer.loggers = loggers
    return {name: float(value) for name, value in trainer.callback_metrics.items() if name.startswith("val/")}


def tested_metrics(trainer: L.Trainer, model: Task, datamodule: L.LightningDataModule) -> dict[str, float]:
    """The test/* metrics of the model (the best checkpoint) on the data module's test split."""
    trainer.test(model, datamodule=datamodule)
    return {name: float(value) for name, value in trainer.callback_metrics.items() if name.startswith("test/")}


def export_model(trainer: L.Trainer, model: Task, output_dir: Path) -> Path:
    """The model's export folder, `model/` of the run (written by rank zero): its own files and those its task adds."""
    export_dir = output_dir / "model"
    if trainer.is_global_zero:
        payload = model.payload()
        save_model_folder(export_dir, payload, model.net.state_dict(), extra_files=model.export_files(payload) or None)
    return export_dir


def run_figures(callbacks: list, epochs: int, start: float) -> dict[str, float]:
    """What a sweep report shows beside the metrics: the training speed (ThroughputMonitor), epochs, runtime_s."""
    throughput = next((c for c in callbacks if isinstance(c, ThroughputMonitor)), None)
    return {**(throughput.summary if throughput else {}), "epochs": epochs, "runtime_s": time.perf_counter() - start}


def write_run_record(trainer: L.Trainer, cfg: DictConfig, model: Task, export_dir: Path,
                     metrics: dict[str, float]) -> None:
    """metrics.json (what sweeps collect) and the export's model card (what the model is and measured: a run folder
    is ready to share with lstmlab-push), by rank zero."""
    if not trainer.is_global_zero:
        return
    with atomic_file(Path(cfg.paths.output_dir) / "metrics.json") as temporary:
        temporary.write_text(json.dumps(metrics, indent=1, sort_keys=True) + "\n")
    config = run_config(cfg)
    write_model_card(export_dir, model.payload(), model.card_details(config), metrics, config, training_command())


def launcher_config() -> DictConfig | None:
    """The Hydra launcher of this job, which says how many jobs run beside it; None outside Hydra."""
    return HydraConfig.get().launcher if HydraConfig.initialized() else None


def run_config(cfg: DictConfig) -> dict:
    """The run's config as plain data for its model card, without Hydra's own settings."""
    try:
        config = OmegaConf.to_container(cfg, resolve=True)
    except Exception:  # an interpolation that resolves only inside Hydra's app: shown as written
        config = OmegaConf.to_container(cfg, resolve=False)
    return {key: value for key, value in config.items() if key != "hydra"}


def training_command() -> str | None:
    """`lstmlab-train` with the run's command-line overrides; None outside Hydra."""
    if not HydraConfig.initialized():
        return None
    return shlex.join(["lstmlab-train", *HydraConfig.get().overrides.task])


def require_values(cfg: DictConfig) -> None:
    """Stop on any `???` left in the config (such as pos_ewt_elmo's model.bilm): instantiating with _partial_
    would silently leave such an argument out."""
    missing = sorted(key for key in OmegaConf.missing_keys(cfg) if not key.startswith("hydra."))
    if missing:
        raise MissingMandatoryValue(f"missing mandatory value(s): {', '.join(missing)}; set them on the command "
                                    f"line, e.g. {missing[0]}=...")


def check_cell(cfg: DictConfig) -> None:
    """An unknown cell, or an LSTM variant on another cell, stops the run here, naming the key and the allowed
    values, before any data is read."""
    net = cfg.model.get("net") or {}
    if net.get("cell") is None and not (net.get("peephole") or net.get("coupled_gates")
                                        or net.get("chrono_init") is not None):
        return  # no recurrent cell, or the encoder name's own (checked when the network is built)
    try:
        CellOptions(net.get("cell") or "lstm", bool(net.get("peephole")), bool(net.get("coupled_gates")),
                    net.get("chrono_init"))
    except ValueError as error:
        raise ValueError(f"model.net.{error}") from None


def check_resume(ckpt_path: str, model: Task, cfg: DictConfig) -> None:
    """Refuse, before anything is trained or written, a checkpoint whose network is not the one this command
    built (another size, or other data): Lightning would find out inside fit, with the run folder already taken."""
    # mmap: the weights are not read, only the network's config beside them
    trained = torch.load(ckpt_path, map_location="cpu", weights_only=True, mmap=True).get("lstmlab") or {}
    if "net_config" not in trained:
        return  # not an lstmlab checkpoint: Lightning's own error says so
    built = json.loads(json.dumps(model.payload()["net_config"]))
    # a key the checkpoint lacks was added to the network's config since: it was trained with the key's default
    trained_config = json.loads(json.dumps({**model.net.config_defaults(), **trained["net_config"]}))
    differing = sorted(key for key in built.keys() | trained_config.keys()
                       if trained_config.get(key) != built.get(key))
    if not differing:
        return
    net = cfg.model.get("net") or {}
    names = [f"model.net.{key}" if key in net else f"{key} (from the data)" for key in differing]
    was = ", ".join(f"{name}={trained_config.get(key)}" for name, key in zip(names, differing, strict=True))
    asked = ", ".join(f"{name}={built.get(key)}" for name, key in zip(names, differing, strict=True))
    run = resume_dir(ckpt_path, str(Path(ckpt_path).resolve().parent))
    raise ResumeError(f"resume failed: checkpoint {ckpt_path} was trained with {was}, the command asks for {asked}; "
                      f"nothing in {run} was changed (resume with the settings it was trained with)")


def _summary(cfg: DictConfig, model: Task, best: str, export_dir: Path, metrics: dict[str, float]) -> str:
    output_dir = cfg.paths.output_dir
    hint = model.usage_hint(output_dir)
    lines = [
        "",
        f"Run directory:   {output_dir}",
        f"Best checkpoint: {best or '(none saved)'}",
        f"Exported model:  {export_dir}" + (f"  ({hint})" if hint else ""),
    ]
    shown = sorted(name for name in metrics if name.startswith("test/"))
    if model.validate_best:
        shown = sorted(name for name in metrics if name.startswith("val/") and name != cfg.get("monitor")) + shown
    if cfg.get("monitor") in metrics:
        shown.append(cfg.monitor)
    # without a checkpoint (fast_dev_run, callbacks.model_checkpoint=null) the model is the last epoch's
    epoch = "  (best epoch)" if best else "  (last epoch: no checkpoint saved)"
    lines += [f"{name + ':':<17}{metrics[name]:.4f}" + (epoch if name == cfg.get("monitor") else "") for name in shown]
    if "train_tokens_per_s" in metrics:
        lines.append(f"{'train speed:':<17}{metrics['train_tokens_per_s']:,.0f} tokens/s, "
                     f"{100 * metrics['padding_ratio']:.1f}% padding")
    return "\n".join(lines)


@hydra.main(version_base="1.3", config_path=CONFIG_PATH, config_name="train.yaml")
def run(cfg: DictConfig) -> float | None:
    tune_malloc()
    bound_primitive_cache()
    metrics = train(cfg)
    optimized = cfg.get("optimized_metric")
    return metrics.get(optimized) if optimized else None


def main() -> None:
    """`lstmlab-train`: a mistyped key on the command line is refused first, naming the keys it may have meant."""
    check_override_keys("train.yaml")
    run()


if __name__ == "__main__":
    main()
