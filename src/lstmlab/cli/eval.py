"""`lstmlab-eval ckpt_path=... [data=ud_gum | data.test_path=file]`: test any trained model on a test split.
Its task writes the report (for a tagger: accuracy, per-tag precision/recall/F1, a confusion matrix) into
logs/eval/runs/<timestamp>/, never into the training run."""

from __future__ import annotations

import logging
from pathlib import Path

import hydra
import lightning as L
from lightning.pytorch.utilities import rank_zero_info
from omegaconf import DictConfig

from lstmlab.cli.hydra_app import CONFIG_PATH, apply_extras, record_failures, register_resolvers
from lstmlab.tasks import load_task
from lstmlab.utils.malloc_tuning import tune_malloc

log = logging.getLogger(__name__)
register_resolvers()


@record_failures
def evaluate(cfg: DictConfig) -> dict:
    apply_extras(cfg)
    model = load_task(cfg.ckpt_path)
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
    lines.append(f"on {report.get('tokens', '?')} test items (tokens, pairs) of {test_data}; "
                 f"report in {output_dir}")
    rank_zero_info("\n".join(lines))
    return report


@hydra.main(version_base="1.3", config_path=CONFIG_PATH, config_name="eval.yaml")
def main(cfg: DictConfig) -> None:
    tune_malloc()
    evaluate(cfg)


if __name__ == "__main__":
    main()
