"""The seams that let a new task plug in without touching the entry points: the kind registry, and the
callbacks that work from what any task logs and batches."""

from __future__ import annotations

import pytest
import torch

from lstmlab.callbacks.metrics_plot import panels, read_epoch_metrics
from lstmlab.io.model_folder import ModelFileError
from lstmlab.tasks import load_task, task_class
from lstmlab.tasks.base import TASKS, Task
from lstmlab.tasks.tagging import TaggingTask


def test_tasks_are_found_by_kind_and_an_unknown_kind_is_named():
    assert task_class("tagger") is TaggingTask
    known = r"unknown model kind 'transformer'; this lstmlab knows \[.*'bilm'.*'tagger'"
    with pytest.raises(ModelFileError, match=known):
        task_class("transformer")


def test_a_new_task_registers_itself_by_declaring_its_kind():
    class Scorer(Task):
        kind = "scorer_for_this_test"

    try:
        assert task_class("scorer_for_this_test") is Scorer
    finally:
        TASKS.pop("scorer_for_this_test")


def test_any_saved_model_loads_as_its_task(trained):
    task = load_task(trained[0])
    assert isinstance(task, TaggingTask) and task.optimizer_factory is None  # built for evaluation
    assert task.vocabs.labels.itos[0] == "NOUN" and task.usage_hint("RUN") == "lstmlab-tag --model RUN < raw.txt"
    assert torch.equal(task.net.output.weight, load_task(trained[0] / "model").net.output.weight)


def test_metric_plot_panels_follow_what_was_logged(tmp_path):
    """A language model logs ppl and a task may log its own rates: each metric name gets a panel."""
    metrics_csv = tmp_path / "metrics.csv"
    metrics_csv.write_text(
        "epoch,step,train/loss_epoch,train/loss_step,val/loss,val/ppl,train/lr\n"
        "0,9,5.0,,4.0,54.6,0.1\n0,9,,5.5,,,\n1,19,4.0,,3.5,33.1,0.05\n", encoding="utf-8")
    series = read_epoch_metrics(metrics_csv)
    assert series["val/ppl"] == [(0, 54.6), (1, 33.1)] and "train/loss_step" not in series
    assert panels(series) == {"loss": ["train/loss", "val/loss"], "lr": ["train/lr"], "ppl": ["val/ppl"]}
