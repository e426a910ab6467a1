"""`lstmlab-eval ckpt_path=... [data=ud_gum | data.test_path=file]`: test a trained tagger on any test split
and write accuracy, per-tag precision/recall/F1 and a confusion matrix into the run directory."""

from __future__ import annotations

import logging
from pathlib import Path

import hydra
import lightning as L
from lightning.pytorch.utilities import rank_zero_info
from omegaconf import DictConfig

from lstmlab.data.tagging_vocabs import TaggingVocabs
from lstmlab.evaluation import format_table, write_report
from lstmlab.models.bilstm_tagger import BiLSTMTagger, TaggerConfig
from lstmlab.serialization import TAGGER_KIND, load_model_file
from lstmlab.tasks.tagging import TaggingTask
from lstmlab.utils.malloc_tuning import tune_malloc
from lstmlab.utils.run_helpers import apply_extras, config_dir, record_failures, register_resolvers

log = logging.getLogger(__name__)
register_resolvers()


@record_failures
def evaluate(cfg: DictConfig) -> dict:
    apply_extras(cfg)
    payload, state = load_model_file(cfg.ckpt_path, TAGGER_KIND)
    vocabs = TaggingVocabs.from_dict(payload["vocabs"])
    net = BiLSTMTagger(TaggerConfig(**payload["net_config"]))
    net.load_state_dict(state)
    model = TaggingTask(net, vocabs)

    datamodule = hydra.utils.instantiate(cfg.data, _partial_=True)(vocabs=vocabs)  # see train.py on why called
    trainer: L.Trainer = hydra.utils.instantiate(cfg.trainer, logger=False, callbacks=[])
    metrics = trainer.test(model, datamodule=datamodule)[0]

    output_dir = Path(cfg.paths.output_dir)
    source = {"model": str(cfg.ckpt_path), "test_path": str(cfg.data.test_path)}
    report = write_report(output_dir, model.test_confusion.compute().cpu(), vocabs.tags.itos, metrics, source)
    rank_zero_info(
        f"\n{format_table(report['per_tag'])}\n\naccuracy {report['accuracy']:.4f} on {report['tokens']} tokens of "
        f"{cfg.data.test_path}\nreport: {output_dir / 'report.json'}, {output_dir / 'confusion_matrix.png'}"
    )
    return report


@hydra.main(version_base="1.3", config_path=config_dir(), config_name="eval.yaml")
def main(cfg: DictConfig) -> None:
    tune_malloc()
    evaluate(cfg)


if __name__ == "__main__":
    main()
