"""The seams that let a new task plug in without touching the entry points: the kind registry, what a task says
of its export (its files, its model card, the run summary's hint), and the callbacks that work from what any task
logs and batches."""

from __future__ import annotations

import json
import logging
import sys

import huggingface_hub
import pytest
import torch
import yaml
from conftest import compose_config

from lstmlab.callbacks.metrics_plot import panels, read_epoch_metrics
from lstmlab.cli.train import train
from lstmlab.io.hub import push_to_hub
from lstmlab.io.model_card import CARD_FILE, CardDetails, read_card
from lstmlab.io.model_folder import ModelFileError
from lstmlab.tasks import card_details, load_task, task_class
from lstmlab.tasks.base import TASKS, Task
from lstmlab.tasks.classification import ClassificationTask
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


@pytest.fixture
def ranker(monkeypatch):
    """A task of a kind of its own, declared here and nowhere in lstmlab: its card, an export file of its own and a
    card tag from the run's config. A module attribute while the test runs, so that `model._target_` reaches it."""

    class Ranker(ClassificationTask):
        kind = "ranker_for_this_test"
        card = CardDetails("sequence ranker", ("text-ranking",), "text-ranking", "text-ranking",
                           'from lstmlab.tasks import load_task\nranker = load_task("{model}")',
                           "rank-sequences --model {model} < lines.txt")

        @classmethod
        def export_files(cls, payload: dict) -> dict[str, str]:
            return {"ranking.json": json.dumps({"ranks": payload["vocabs"]["labels"]["itos"][:2]})}

        @classmethod
        def extra_card_tags(cls, config: dict) -> list[str]:
            return [f"lag-{config['data']['lag']}"]

    monkeypatch.setattr(sys.modules[__name__], "Ranker", Ranker, raising=False)
    yield Ranker
    TASKS.pop(Ranker.kind)


def test_a_new_task_says_what_its_export_card_and_summary_hold(ranker, tmp_path, caplog, monkeypatch):
    """A real (one-batch) training run of the toy task through lstmlab-train's `train`, then lstmlab-push's card
    rewrite: its card details, export file and hint come from the task class alone, with no edit of io/ or cli/."""
    overrides = ["experiment=long_memory", "debug=fast_dev_run", "data.lag=5", "data.train_size=64", "data.val_size=32",
                 "data.test_size=32", f"model._target_={__name__}.Ranker.build", "extras.print_config=false",
                 "callbacks.progress_bar=null", "callbacks.model_summary=null"]
    with caplog.at_level(logging.INFO):
        train(compose_config("train.yaml", overrides, tmp_path))
    export = tmp_path / "model"
    assert isinstance(load_task(export), ranker)
    labels = load_task(export).vocabs.labels.itos
    assert json.loads((export / "ranking.json").read_text()) == {"ranks": labels[:2]}
    front, body = (export / CARD_FILE).read_text().split("\n---\n", 1)
    meta = yaml.safe_load(front.removeprefix("---\n"))
    assert meta["tags"] == ["lstmlab", "text-ranking", "lag-5"] and meta["pipeline_tag"] == "text-ranking"
    assert meta["model-index"][0]["results"][0]["task"] == {"type": "text-ranking"}
    assert body.lstrip().startswith("# lstmlab sequence ranker\n") and 'ranker = load_task("path/to/model")' in body
    assert "rank-sequences --model path/to/model < lines.txt" in body
    assert f"({ranker.usage_hint(str(tmp_path))})" in caplog.text
    assert ranker.usage_hint("RUN") == "rank-sequences --model RUN < lines.txt"

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(ModelFileError, match="HF_HUB_OFFLINE"):  # the card is written again before the upload
        push_to_hub(tmp_path, "org/ranker", card_details)
    card = (export / CARD_FILE).read_text()
    assert 'load_task("org/ranker")' in card and "rank-sequences --model org/ranker" in card
    assert read_card(export)["tags"] == ["lstmlab", "text-ranking", "lag-5"]


def test_a_kind_without_a_task_gets_a_generic_card():
    details = card_details("from_a_newer_lstmlab")
    assert details.title == "from_a_newer_lstmlab model" and details.cli_line == "" and details.tags == ()
