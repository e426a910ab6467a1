"""The NLI experiments: the paper's recipe as composed, fast_dev_run of each, the shrink rule inside a real fit,
evaluation reports and resuming."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch
from conftest import CONF_DIR, ROOT, compose_config, eval_command, evaluate_as_command, tiny_nli_overrides
from safetensors.torch import load_file

from lstmlab import SentenceEncoder
from lstmlab.cli.train import train

NLI_EXPERIMENTS = sorted(p.stem for p in (CONF_DIR / "experiment").glob("*.yaml")
                         if p.stem.startswith(("nli_", "infersent_")))
# the GPU-sized recipes, on the tiny SNLI cut with 50d vectors on the CPU
ON_CPU = ["trainer=cpu", "trainer.precision=32-true", "model.net.word_dim=50", "data.format=jsonl",
          "data.tokenizer=whitespace", "data.lowercase=true", "data.premise_field=sentence1",
          "data.hypothesis_field=sentence2", "data.label_field=gold_label"]


def test_nli_experiments_are_found():
    assert {"nli_cpu", "infersent_snli", "infersent_snli_adam"} <= set(NLI_EXPERIMENTS)


def test_infersent_snli_composes_the_papers_recipe(tmp_path):
    cfg = compose_config("train.yaml", ["experiment=infersent_snli"], tmp_path)
    net, data = cfg.model.net, cfg.data
    assert (net.encoder, net.hidden_size, net.num_layers, net.word_dim) == ("bilstm_max", 2048, 1, 300)
    assert (net.classifier_hidden, net.classifier_layers, net.freeze_embeddings, net.oov) == (512, 1, True, "drop")
    assert data.vectors.path.endswith("glove.840B.300d.txt") and not data.vectors.extend_vocab
    assert (data.train_path, data.format, data.batch_size, data.lowercase) == ("stanfordnlp/snli", "hub", 64, False)
    assert cfg.model.optimizer._target_ == "torch.optim.SGD" and cfg.model.optimizer.lr == 0.1
    shrink = cfg.callbacks.lr_shrink
    assert (shrink.decay, shrink.shrink, shrink.min_lr, shrink.monitor) == (0.99, 5.0, 1e-5, "val/acc")
    assert cfg.callbacks.early_stopping is None and cfg.model.scheduler is None
    assert cfg.trainer.gradient_clip_val == 5.0 and cfg.trainer.accelerator == "gpu"
    adam = compose_config("train.yaml", ["experiment=infersent_snli_adam"], tmp_path)
    assert adam.model.optimizer._target_ == "torch.optim.Adam" and adam.model.optimizer.lr == 0.001
    assert adam.callbacks.lr_shrink is None and adam.callbacks.early_stopping.patience == 2
    assert adam.model.net.hidden_size == 2048


def test_data_configs_compose(tmp_path):
    expected = {"snli": ("stanfordnlp/snli", "hub"), "multinli": ("nyu-mll/multi_nli", "hub"),
                "snli_files": ("snli/snli_1.0_train.jsonl", "jsonl"), "sick_e": ("sick/SICK_train.txt", "tsv"),
                "snli_devtrain": ("snli/snli_1.0_dev.tok.jsonl", "jsonl")}
    for name, (path, file_format) in expected.items():
        data = compose_config("train.yaml", ["experiment=nli_cpu", f"data={name}"], tmp_path).data
        assert data.train_path.endswith(path) and data.format == file_format, name
    assert compose_config("train.yaml", ["experiment=nli_cpu", "data=multinli"], tmp_path).data.hub_splits.test == \
        "validation_mismatched"


@pytest.mark.parametrize("experiment", NLI_EXPERIMENTS)
def test_nli_experiment_fast_dev_run(experiment, tiny_snli, tiny_vectors, tmp_path):
    overrides = [*tiny_nli_overrides(tiny_snli, tiny_vectors), f"experiment={experiment}", "debug=fast_dev_run",
                 *ON_CPU]
    metrics = train(compose_config("train.yaml", overrides, tmp_path))
    assert 0.0 <= metrics["test/acc"] <= 1.0 and metrics["test/loss"] > 0
    encoder = SentenceEncoder.load(tmp_path)
    assert encoder.encode("A dog runs .").shape == (32,)


def test_shrink_rule_inside_a_real_fit(tiny_snli, tiny_vectors, tmp_path):
    """SGD at a rate too high to improve: every epoch without a new best divides it by 5 (after the 0.99 decay),
    and training stops once it falls below min_lr, long before max_epochs."""
    overrides = [*tiny_nli_overrides(tiny_snli, tiny_vectors), "experiment=infersent_snli", *ON_CPU,
                 "trainer.max_epochs=30", "callbacks.lr_shrink.min_lr=0.05", "test=false", "model.net.hidden_size=8"]
    train(compose_config("train.yaml", overrides, tmp_path))
    rows = [line.split(",") for line in (tmp_path / "csv" / "metrics.csv").read_text().splitlines()]
    header = rows[0]
    epochs = sorted({int(r[header.index("epoch")]) for r in rows[1:]})
    lrs = [float(r[header.index("train/lr")]) for r in rows[1:] if r[header.index("train/lr")]]
    assert len(epochs) < 30
    assert lrs[0] == pytest.approx(0.1)
    for before, after in zip(lrs[:-1], lrs[1:], strict=True):  # x0.99 per epoch, /5 after one without a new best
        assert after == pytest.approx(before * 0.99) or after == pytest.approx(before * 0.99 / 5)
    state = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)
    assert any("LearningRateShrink" in key for key in state["callbacks"])


@pytest.mark.parametrize("recipe", [
    [],  # nli_cpu: Adam, weight averaging (raw weights in the callback's state)
    ["experiment=infersent_snli", *ON_CPU, "callbacks.lr_shrink.min_lr=1e-9"],  # SGD, the shrink rule's state
], ids=["nli_cpu", "infersent_snli"])
def test_nli_resumed_run_ends_where_an_uninterrupted_run_ends(recipe, tiny_snli, tiny_vectors, tmp_path):
    base = [*tiny_nli_overrides(tiny_snli, tiny_vectors), *recipe, "test=false"]
    train(compose_config("train.yaml", [*base, "trainer.max_epochs=3"], tmp_path / "straight"))
    train(compose_config("train.yaml", [*base, "trainer.max_epochs=2"], tmp_path / "stopped"))
    last = tmp_path / "stopped/checkpoints/last.ckpt"
    train(compose_config("train.yaml", [*base, "trainer.max_epochs=3", f"ckpt_path={last}"], tmp_path / "stopped"))
    straight = load_file(tmp_path / "straight/model/model.safetensors")
    resumed = load_file(tmp_path / "stopped/model/model.safetensors")
    assert all(torch.equal(straight[k], resumed[k]) for k in straight)


WEIGHT_AVERAGE = ["callbacks.weight_average.decay=0.9"]  # nli_cpu averages; faster here, for 2-3 epochs


def test_weight_average_is_what_is_validated_checkpointed_and_exported(tiny_snli, tiny_vectors, tmp_path):
    """The best checkpoint holds the averaged weights its validation score was measured on: testing it on the
    validation file gives that score again; and those weights are not the last step's."""
    overrides = [*tiny_nli_overrides(tiny_snli, tiny_vectors), *WEIGHT_AVERAGE, "trainer.max_epochs=2",
                 f"data.test_path={tiny_snli['dev']}"]
    metrics = train(compose_config("train.yaml", overrides, tmp_path))
    assert metrics["test/acc"] == pytest.approx(metrics["val/acc"], abs=1e-6)
    last = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)
    raw = last["callbacks"]["WeightAveraging"]["shadow"]
    trainable = [k for k, v in last["state_dict"].items() if k.startswith("net.") and v.is_floating_point()
                 and "has_vector" not in k and "frozen" not in k and "words.embedding" not in k]
    assert len(raw) == len(trainable)
    assert any(not torch.equal(last["state_dict"][k], r) for k, r in zip(trainable, raw, strict=True))



def test_eval_of_an_nli_model_reports_classes_and_names_the_data_it_needs(trained_nli, tiny_snli, tmp_path):
    from lstmlab.cli.eval import evaluate

    cfg = compose_config("eval.yaml", [f"ckpt_path={trained_nli[0]}", "data=snli_devtrain",
                                       f"data.test_path={tiny_snli['test']}", "extras.print_config=false"], tmp_path)
    report = evaluate(cfg)
    assert report["tokens"] == 80 and {row["tag"] for row in report["per_tag"]} == {"entailment", "neutral",
                                                                                   "contradiction"}
    assert "contradiction" in (tmp_path / "per_tag.txt").read_text()
    wrong = [f"ckpt_path={trained_nli[0]}", "data=ud_ewt", "extras.print_config=false"]  # given: no choice made
    with pytest.raises(ValueError, match=r"holds a 'nli' model, tested on NLIDataModule data, but the data config "
                                         r"makes a TaggingDataModule: pass data=snli_devtrain"):
        evaluate_as_command(wrong, tmp_path)


def test_lstmlab_eval_without_data_tests_an_nli_run_on_its_own_test_file(tiny_snli, tiny_vectors, tmp_path):
    """`lstmlab-train` then `lstmlab-eval ckpt_path=<run>/checkpoints/best.ckpt`, no data=...: the data config of
    the run's .hydra/config.yaml, not eval.yaml's default tagging data (which was a kind-mismatch error)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    run = tmp_path / "run"
    trained = subprocess.run([sys.executable, "-m", "lstmlab.cli.train", *tiny_nli_overrides(tiny_snli, tiny_vectors),
                              "trainer.max_epochs=1", f"hydra.run.dir={run}"],
                             capture_output=True, text=True, timeout=300, cwd=tmp_path, env=env)
    assert trained.returncode == 0, trained.stderr[-2000:]
    report, log = eval_command(f"{run}/checkpoints/best.ckpt", tmp_path)
    assert report["test_path"] == str(tiny_snli["test"]) and report["tokens"] == 80
    assert f"testing on the data config {run} was trained with" in log
