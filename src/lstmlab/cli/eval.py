"""`lstmlab-eval ckpt_path=... [data=ud_gum | data.test_path=file]`: test any trained model on a test split.
Its task writes the report (for a tagger: accuracy, per-tag precision/recall/F1, a confusion matrix) into
logs/eval/runs/<timestamp>/, never into the training run.

Without `data=...` on the command line the model is tested on its own data: the data config of the training run
it lies in (read from the run's .hydra/config.yaml), else the example data config of its kind (a tagger: ud_ewt;
NLI: snli_devtrain; ...). `data.*=...` overrides apply to either.
"""

from __future__ import annotations

import logging
from pathlib import Path

import hydra
import lightning as L
from hydra.core.config_store import ConfigStore
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from lightning.pytorch.utilities import rank_zero_info
from omegaconf import DictConfig, OmegaConf

from lstmlab.cli.hydra_app import (
    CONFIG_PATH,
    apply_extras,
    check_override_keys,
    record_failures,
    register_resolvers,
)
from lstmlab.data.moved_targets import current_target
from lstmlab.tasks import load_task
from lstmlab.tasks.base import Task
from lstmlab.utils.malloc_tuning import tune_malloc

log = logging.getLogger(__name__)
register_resolvers()

TRAINED_DATA = "_trained_with_"  # the name under which a run's own data config joins the `data` group


def data_given(overrides: list[str]) -> bool:
    """Whether the command line chose a data config: `data=x` (or `+data=x`, `++data=x`), not `data.key=value`."""
    return any(override.lstrip("+~").partition("=")[0] == "data" for override in overrides)


def run_directory(ckpt_path: str) -> Path | None:
    """The training run that `ckpt_path` is, or lies in as its model/ folder or checkpoints/<file>.ckpt: the first
    folder up to 2 levels up that holds Hydra's .hydra/config.yaml."""
    path = Path(ckpt_path).expanduser().resolve()
    return next((folder for folder in (path, *path.parents[:2]) if (folder / ".hydra" / "config.yaml").is_file()),
                None)


def model_data(cfg: DictConfig, model: Task) -> DictConfig:
    """The data config of the model's own training run, else the example data config of its kind, composed as
    the command line would (its `data.*` overrides applied; interpolations resolve against the eval config)."""
    run = run_directory(cfg.ckpt_path)
    trained = OmegaConf.load(run / ".hydra" / "config.yaml").get("data") if run else None
    if trained is not None:
        trained = OmegaConf.to_container(trained)
        if "_target_" in trained:  # a run saved before data/ was sorted by role names its module's old path
            trained["_target_"] = current_target(trained["_target_"])
        ConfigStore.instance().store(group="data", name=TRAINED_DATA, node=trained)
        name, why = TRAINED_DATA, f"the data config {run} was trained with (its .hydra/config.yaml)"
    else:
        name, why = model.example_data, (f"data={model.example_data}, the example data config of {model.kind!r} "
                                         f"models, as {cfg.ckpt_path} is in no training run directory with a "
                                         ".hydra/config.yaml")
    hydra_cfg = HydraConfig.get()
    composed = hydra.compose(config_name=hydra_cfg.job.config_name,
                             overrides=[*hydra_cfg.overrides.task, f"data={name}"])
    log.info("no data=... given: testing on %s (pass data=... to choose another)", why)
    return composed.data


def running_as_command() -> bool:
    """Inside the Hydra app (or a test set up as one): its command line is known and configs can be composed. A
    config composed and passed in by Python code is taken as it is."""
    return GlobalHydra.instance().is_initialized() and HydraConfig.initialized()


@record_failures
def evaluate(cfg: DictConfig) -> dict:
    """Test the model of `cfg.ckpt_path` on `cfg.data`, or, when run as the command without `data=...`, on its
    own data (see `model_data`)."""
    model = load_task(cfg.ckpt_path)
    if running_as_command() and not data_given(HydraConfig.get().overrides.task):
        cfg.data = model_data(cfg, model)
    apply_extras(cfg)
    make_datamodule = hydra.utils.instantiate(cfg.data, _partial_=True)  # called below: see train.py on why
    if not issubclass(make_datamodule.func, model.datamodule_type):
        raise ValueError(f"{cfg.ckpt_path} holds a {model.kind!r} model, tested on {model.datamodule_type.__name__} "
                         f"data, but the data config makes a {make_datamodule.func.__name__}: pass "
                         f"data={model.example_data} (or another data config of this kind)")
    datamodule = make_datamodule(vocabs=model.vocabs)
    trainer: L.Trainer = hydra.utils.instantiate(cfg.trainer, logger=False, callbacks=[])
    output_dir = Path(cfg.paths.output_dir)
    test_data = cfg.data.get("test_path") or cfg.data._target_.rsplit(".", 1)[-1]  # generated data has no file
    source = {"model": str(cfg.ckpt_path), "test_path": str(test_data)}
    report = model.evaluate(trainer, datamodule, output_dir, source)
    lines = [report.pop("table", "")]
    lines += [f"{name}: {value:.4f}" for name, value in report.items() if isinstance(value, float)]
    counted = f"{report['tokens']} test items (tokens, pairs)" if "tokens" in report else "the test split"
    lines.append(f"on {counted} of {test_data}; report in {output_dir}")
    rank_zero_info("\n".join(lines))
    return report


@hydra.main(version_base="1.3", config_path=CONFIG_PATH, config_name="eval.yaml")
def run(cfg: DictConfig) -> None:
    tune_malloc()
    evaluate(cfg)


def main() -> None:
    """`lstmlab-eval`: a mistyped key on the command line is refused first, naming the keys it may have meant."""
    check_override_keys("eval.yaml")
    run()


if __name__ == "__main__":
    main()
