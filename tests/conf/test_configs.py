"""Every experiment composes from the real conf/ tree and runs one fast_dev_run step on tiny real data."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import hydra
import lightning as L
import pytest
import torch
from conftest import CONF_DIR, ROOT, TINY_MODEL, compose_config, needs_bf16, tiny_data_overrides
from hydra.errors import ConfigCompositionException
from omegaconf.errors import MissingMandatoryValue

from lstmlab import Tagger
from lstmlab.cli.train import train
from lstmlab.data.readers.conllu import read_conllu
from lstmlab.tasks.base import Task

EXPERIMENTS = sorted(p.stem for p in (CONF_DIR / "experiment").glob("*.yaml"))
TAGGING_EXPERIMENTS = [name for name in EXPERIMENTS if name.startswith("pos_")]  # NLI ones: test_nli_experiments


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
def test_every_experiment_builds_a_task_from_the_data_that_task_reads(experiment, tmp_path):
    """Any experiment file, a new task's included, is checked with no edit here: its model builds a Task and its
    data config makes that task's kind of data module (what lstmlab-train and lstmlab-eval rely on)."""
    cfg = compose_config("train.yaml", [f"experiment={experiment}"], tmp_path)
    build = hydra.utils.get_method(cfg.model._target_)
    task = build.__self__
    assert issubclass(task, Task) and build.__func__ is task.build.__func__
    assert issubclass(hydra.utils.get_class(cfg.data._target_), task.datamodule_type)


@pytest.mark.parametrize("experiment", TAGGING_EXPERIMENTS)
def test_experiment_fast_dev_run(experiment, tiny_ewt, tiny_vectors, tiny_columns, tmp_path, request):
    if experiment.endswith("conll2000"):
        # the tiny column test split has a tag its train split lacks: test on train
        data = [f"data.train_path={tiny_columns['train']}", f"data.test_path={tiny_columns['train']}",
                f"data.vectors.path={tiny_vectors}"]
    elif experiment.startswith("pos_ud"):  # any UD treebank by name: the bundled Korean sample
        data = ["data.treebank=ko_gsd", f"data.treebanks_dir={ROOT / 'data'}"]
    else:
        data = tiny_data_overrides(tiny_ewt, tiny_vectors)
    if experiment.endswith("_elmo"):
        data.append(f"model.bilm={request.getfixturevalue('trained_bilm')[0]}")
    cfg = compose_config("train.yaml", [f"experiment={experiment}", "debug=fast_dev_run", *TINY_MODEL, *data],
                         tmp_path)
    metrics = train(cfg)
    assert 0.0 <= metrics["test/acc"] <= 1.0
    assert (tmp_path / "model" / "model.safetensors").is_file()
    assert metrics["test/loss"] > 0 and cfg.task_name == "debug"
    tags = Tagger.load(tmp_path).tags
    assert ("NN" in tags) if experiment.endswith("conll2000") else ("NOUN" in tags and len(tags) == 17)


def test_a_missing_mandatory_value_stops_training(tmp_path):
    cfg = compose_config("train.yaml", ["experiment=pos_ewt_elmo"], tmp_path)
    with pytest.raises(MissingMandatoryValue, match=r"model\.bilm=\.\.\."):
        train(cfg)


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


class GradientNorms(L.Callback):
    """Total gradient norm before clipping (Lightning calls on_before_optimizer_step first) and after it
    (gradients stay in place after the optimizer step until the next batch zeroes them)."""

    def __init__(self) -> None:
        self.before: list[float] = []
        self.after: list[float] = []

    @staticmethod
    def norm(module: L.LightningModule) -> float:
        return torch.norm(torch.stack([p.grad.norm() for p in module.parameters() if p.grad is not None])).item()

    def on_before_optimizer_step(self, trainer, pl_module, optimizer) -> None:
        self.before.append(self.norm(pl_module))

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.after.append(self.norm(pl_module))


@needs_bf16
def test_bf16_mixed_precision_with_fused_adam_clips_gradients(tiny_ewt, tiny_vectors, tmp_path):
    """trainer=gpu uses bf16-mixed with fused Adam; the CPU runs the same Lightning precision path."""
    overrides = ["trainer.precision=bf16-mixed", "model=tagger_crf", "trainer.gradient_clip_val=0.05",
                 "trainer.max_epochs=1", "trainer.limit_train_batches=4", "trainer.limit_val_batches=1",
                 *TINY_MODEL, *tiny_data_overrides(tiny_ewt, tiny_vectors)]
    cfg = compose_config("train.yaml", overrides, tmp_path)
    assert cfg.model.optimizer.fused
    datamodule = hydra.utils.instantiate(cfg.data)
    datamodule.setup("fit")
    model = hydra.utils.instantiate(cfg.model, _partial_=True)(datamodule=datamodule)
    norms = GradientNorms()
    trainer = hydra.utils.instantiate(cfg.trainer, callbacks=[norms], logger=False, enable_checkpointing=False)
    trainer.fit(model, datamodule=datamodule)
    assert len(norms.after) == 4 and isinstance(model.optimizers().optimizer, torch.optim.Adam)
    assert min(norms.before) > 0.2  # clipping had work to do: every step's norm was over 4x the limit
    assert max(norms.after) == pytest.approx(0.05, rel=1e-3)  # and every step's gradients were clipped to 0.05


def test_bf16_on_a_cpu_without_it_stops_at_start_up_with_one_clear_message(tiny_ewt, tiny_vectors, tmp_path):
    """ONEDNN_MAX_CPU_ISA=AVX2 makes oneDNN behave as on an AVX2-only CPU (such as AMD Zen 3)."""
    env = {**os.environ, "ONEDNN_MAX_CPU_ISA": "AVX2", "PYTHONPATH": str(ROOT / "src")}
    overrides = ["trainer.precision=bf16-mixed", *TINY_MODEL, *tiny_data_overrides(tiny_ewt, tiny_vectors),
                 f"hydra.run.dir={tmp_path}"]
    result = subprocess.run([sys.executable, "-m", "lstmlab.cli.train", *overrides], capture_output=True, text=True,
                            env=env, timeout=300, cwd=ROOT)
    assert result.returncode != 0
    assert "trainer.precision=bf16-mixed needs a CPU whose oneDNN can run a bf16 LSTM" in result.stderr
    assert "primitive descriptor" not in result.stderr and "Epoch 0" not in result.stdout + result.stderr


def test_seed_drives_the_data_module(tiny_ewt, tiny_vectors, tmp_path):
    """One `seed` sets the batch order and the val_split draw; different seeds give different ones."""
    def data(seed: int):
        overrides = [f"seed={seed}", *TINY_MODEL, *tiny_data_overrides(tiny_ewt, tiny_vectors), "data.val_path=null",
                     "data.val_split=0.1"]
        cfg = compose_config("train.yaml", overrides, tmp_path)
        assert cfg.data.seed == seed
        datamodule = hydra.utils.instantiate(cfg.data)
        datamodule.setup("fit")
        val_words = datamodule.splits["val"].__getitems__(range(5))["words"].tolist()
        first_batch = next(iter(datamodule.train_dataloader()))["words"].tolist()
        return val_words, first_batch

    same, again, other = data(7), data(7), data(8)
    assert same == again
    assert same[0] != other[0] and same[1] != other[1]


def test_one_monitor_and_mode_drive_checkpoints_early_stopping_scheduler_and_sweeps(tmp_path):
    cfg = compose_config("train.yaml", ["monitor=val/loss", "mode=min"], tmp_path)
    assert cfg.callbacks.model_checkpoint.monitor == cfg.callbacks.early_stopping.monitor == "val/loss"
    assert cfg.callbacks.model_checkpoint.mode == cfg.callbacks.early_stopping.mode == "min"
    assert cfg.model.scheduler.mode == cfg.model.mode == "min" and cfg.model.monitor == "val/loss"
    assert cfg.optimized_metric == "val/loss"
