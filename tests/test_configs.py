"""Every experiment composes from the real conf/ tree and runs one fast_dev_run step on tiny real data."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from conftest import CONF_DIR, TINY_MODEL, compose_config, tiny_data_overrides
from hydra.errors import ConfigCompositionException
from omegaconf.errors import MissingMandatoryValue

from lstmlab import Tagger
from lstmlab.data.conllu_reader import read_conllu
from lstmlab.train import train

EXPERIMENTS = sorted(p.stem for p in (CONF_DIR / "experiment").glob("*.yaml"))


@pytest.fixture(scope="module")
def tiny_columns(tiny_ewt, tmp_path_factory) -> dict[str, Path]:
    """CoNLL-2000-style `word XPOS UPOS` files made from the tiny EWT splits."""
    folder = tmp_path_factory.mktemp("columns")
    paths = {}
    for split in ("train", "test"):
        xpos = read_conllu(tiny_ewt[split], tag_column="xpos")
        upos = read_conllu(tiny_ewt[split])
        lines = []
        for x, u in zip(xpos, upos, strict=True):
            lines += [f"{w} {a} {b}" for w, a, b in zip(x["tokens"], x["tags"], u["tags"], strict=True)] + [""]
        paths[split] = folder / f"{split}.txt"
        paths[split].write_text("\n".join(lines), encoding="utf-8")
    return paths


def test_experiments_are_found():
    assert {"pos_ewt", "pos_quick", "pos_conll2000"} <= set(EXPERIMENTS)


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_experiment_fast_dev_run(experiment, tiny_ewt, tiny_vectors, tiny_columns, tmp_path):
    if experiment.endswith("conll2000"):
        # the tiny column test split has a tag its train split lacks: test on train
        data = [f"data.train_path={tiny_columns['train']}", f"data.test_path={tiny_columns['train']}",
                f"data.vectors.path={tiny_vectors}"]
    else:
        data = tiny_data_overrides(tiny_ewt, tiny_vectors)
    cfg = compose_config("train.yaml", [f"experiment={experiment}", "debug=fast_dev_run", *TINY_MODEL, *data],
                         tmp_path)
    metrics = train(cfg)
    assert 0.0 <= metrics["test/acc"] <= 1.0
    assert (tmp_path / "model" / "model.safetensors").is_file()
    assert metrics["test/loss"] > 0 and cfg.task_name == "debug"
    tags = Tagger.load(tmp_path).tags
    assert ("NN" in tags) if experiment.endswith("conll2000") else ("NOUN" in tags and len(tags) == 17)


def test_unknown_group_option_names_it(tmp_path):
    with pytest.raises(ConfigCompositionException, match="Could not find 'model/transformer'"):
        compose_config("train.yaml", ["model=transformer"], tmp_path)


def test_misspelled_key_names_it(tmp_path):
    with pytest.raises(ConfigCompositionException, match="hiden_size"):
        compose_config("train.yaml", ["model.net.hiden_size=3"], tmp_path)


def test_eval_config_requires_a_checkpoint(tmp_path):
    cfg = compose_config("eval.yaml", [], tmp_path)
    with pytest.raises(MissingMandatoryValue, match="ckpt_path"):
        _ = cfg.ckpt_path


@pytest.mark.parametrize("groups", [["logger=none", "callbacks=none"], ["logger=many"]])
def test_logger_and_callback_choices(groups, tiny_ewt, tiny_vectors, tmp_path):
    short = ["trainer.max_epochs=1", "trainer.limit_train_batches=2", "trainer.limit_val_batches=1",
             "trainer.limit_test_batches=1"]  # not fast_dev_run, which switches loggers off
    overrides = [*short, *groups, *TINY_MODEL[:5], *tiny_data_overrides(tiny_ewt, tiny_vectors)]
    metrics = train(compose_config("train.yaml", overrides, tmp_path))
    assert "test/acc" in metrics and (tmp_path / "model" / "config.json").is_file()
    assert (tmp_path / "tensorboard").is_dir() == ("logger=many" in groups)


def test_debug_overfit_memorises_its_batches(tiny_ewt, tiny_vectors, tmp_path):
    overrides = ["debug=overfit", *TINY_MODEL, *tiny_data_overrides(tiny_ewt, tiny_vectors),
                 "model.net.hidden_size=64", "model.optimizer.lr=0.01"]
    metrics = train(compose_config("train.yaml", overrides, tmp_path))
    assert metrics["train/acc"] > 0.95


def test_debug_limit_runs_a_slice(tiny_ewt, tiny_vectors, tmp_path):
    overrides = ["debug=limit", *TINY_MODEL, *tiny_data_overrides(tiny_ewt, tiny_vectors)]
    metrics = train(compose_config("train.yaml", overrides, tmp_path))
    with (tmp_path / "csv/metrics.csv").open() as handle:
        validated = {row["epoch"] for row in csv.DictReader(handle) if row["val/acc"]}
    assert validated == {"0", "1", "2"} and "test/acc" in metrics


def test_bf16_mixed_precision_with_fused_adam_and_clipping(tiny_ewt, tiny_vectors, tmp_path):
    """trainer=gpu uses bf16-mixed; the CPU runs the same Lightning precision path."""
    overrides = ["debug=fast_dev_run", "trainer.precision=bf16-mixed", "model=tagger_crf", *TINY_MODEL,
                 *tiny_data_overrides(tiny_ewt, tiny_vectors)]
    cfg = compose_config("train.yaml", overrides, tmp_path)
    assert cfg.model.optimizer.fused and cfg.trainer.gradient_clip_val == 5.0
    metrics = train(cfg)
    assert 0.0 <= metrics["test/acc"] <= 1.0 and metrics["test/loss"] == metrics["test/loss"]  # not NaN
