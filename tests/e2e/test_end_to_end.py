"""A user's path on tiny real data: train -> checkpoints, plots, export -> Tagger / lstmlab-tag / lstmlab-eval,
resume after an interruption, and the model files a user might get wrong."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from conftest import ROOT, compose_config, eval_command, evaluate_as_command, tiny_data_overrides, train_tiny
from omegaconf import OmegaConf
from safetensors.torch import load_file

from lstmlab import Tagger
from lstmlab.cli.eval import data_given, evaluate
from lstmlab.data.readers.conllu import read_conllu
from lstmlab.io.model_folder import ModelFileError, load_model_file


def test_run_directory_has_everything(trained):
    run, metrics = trained
    for name in ("checkpoints/best.ckpt", "checkpoints/last.ckpt", "csv/metrics.csv", "plots/metrics.png",
                 "model/model.safetensors", "model/config.json"):
        assert (run / name).is_file(), name
    assert not list(run.rglob("*.partial"))
    assert metrics["test/acc"] > 0.4  # majority tag (NOUN) alone gives ~0.17 on this sample
    assert metrics["train_tokens_per_s"] > 0 and 0 <= metrics["padding_ratio"] < 0.5
    header = (run / "csv/metrics.csv").read_text().splitlines()[0].split(",")
    assert {"train/loss_epoch", "val/acc", "val/loss", "train/acc"} <= set(header)


def test_every_model_path_loads_the_same_weights(trained):
    run, _ = trained
    exported = load_file(run / "model/model.safetensors")
    payload, from_ckpt = load_model_file(run / "checkpoints/best.ckpt", "tagger")
    assert payload["vocabs"]["labels"]["itos"][0] == "NOUN"
    assert exported.keys() == from_ckpt.keys()
    assert all(torch.equal(exported[k], from_ckpt[k]) for k in exported)
    sentence = ["The", "cat", "sat", "on", "the", "mat", "."]
    expected = Tagger.load(run).predict([sentence])[0].tags
    assert Tagger.load(run / "model").predict([sentence])[0].tags == expected
    assert Tagger.load(run / "checkpoints/best.ckpt").predict([sentence])[0].tags == expected


def test_tagger_predict_is_batch_independent_and_keeps_order(trained):
    tagger = Tagger.load(trained[0])
    sentences = ["I don't know.", ["A", "much", "longer", "sentence", "with", "many", "more", "words", "."], "Hi !"]
    together = tagger.predict(sentences, batch_size=2)
    alone = [tagger.predict([s])[0] for s in sentences]
    assert [t.tokens for t in together] == [["I", "do", "n't", "know", "."], sentences[1], ["Hi", "!"]]
    assert [t.tags for t in together] == [t.tags for t in alone]
    assert all(tag in tagger.tags for t in together for tag in t.tags)
    with pytest.raises(ValueError, match="sentence 1 is empty"):
        tagger.predict(["ok", "   "])


def run_cli(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.run([sys.executable, "-m", *args], input=stdin, capture_output=True, env=env, timeout=300)


def test_lstmlab_tag_writes_one_sentence_per_line(trained):
    run, _ = trained
    result = run_cli("lstmlab.cli.tag", "--model", str(run), stdin=b"The cat sat.\r\nI don't know\n")
    assert result.returncode == 0, result.stderr.decode()
    blocks = result.stdout.decode().strip().split("\n\n")
    assert len(blocks) == 2
    assert blocks[0].splitlines()[:2] == ["# sent_id = 1", "# text = The cat sat."]
    rows = [line.split("\t") for line in blocks[1].splitlines() if not line.startswith("#")]
    assert [r[1] for r in rows] == ["I", "do", "n't", "know"] and all(len(r) == 10 and r[3] != "_" for r in rows)
    tsv = run_cli("lstmlab.cli.tag", "--model", str(run), "--format", "tsv", "--tokenized", stdin=b"don't stop\n")
    assert [line.split("\t")[0] for line in tsv.stdout.decode().split("\n") if line] == ["don't", "stop"]


@pytest.mark.parametrize(
    ("stdin", "message"),
    [(b"One.\n\nTwo.\n", "<stdin>:2: empty line: expected one sentence per line"),
     (b"One.\nT\xffwo.\n", "<stdin>:2: is not valid UTF-8 (byte 0xff at column 2)")],
)
def test_lstmlab_tag_bad_input(trained, stdin, message):
    result = run_cli("lstmlab.cli.tag", "--model", str(trained[0]), stdin=stdin)
    assert result.returncode == 2
    assert f"lstmlab-tag: error: {message}" in result.stderr.decode()


def test_wrong_and_damaged_model_files(trained, tmp_path):
    run, _ = trained
    checkpoint = torch.load(run / "checkpoints/best.ckpt", weights_only=True)
    checkpoint["lstmlab"]["kind"] = "sentence_encoder"
    torch.save(checkpoint, tmp_path / "encoder.ckpt")
    with pytest.raises(ModelFileError, match="encoder.ckpt: this is a 'sentence_encoder' model, expected a 'tagger'"):
        Tagger.load(tmp_path / "encoder.ckpt")
    torch.save({"state_dict": {}}, tmp_path / "other.ckpt")
    with pytest.raises(ModelFileError, match="other.ckpt: not an lstmlab checkpoint"):
        Tagger.load(tmp_path / "other.ckpt")
    (tmp_path / "broken.ckpt").write_bytes(b"not a checkpoint")
    with pytest.raises(ModelFileError, match="broken.ckpt: not a readable lstmlab checkpoint"):
        Tagger.load(tmp_path / "broken.ckpt")
    with pytest.raises(ModelFileError, match="no model found"):
        Tagger.load(tmp_path)


def test_eval_reports_per_tag_scores_and_confusion(trained, tiny_ewt, tmp_path):
    run, metrics = trained
    cfg = compose_config("eval.yaml", [f"ckpt_path={run}", f"data.test_path={tiny_ewt['test']}",
                                       "extras.print_config=false"], tmp_path)
    report = evaluate(cfg)
    gold_tokens = sum(len(s["tokens"]) for s in read_conllu(tiny_ewt["test"]))
    assert report["accuracy"] == pytest.approx(metrics["test/acc"], abs=1e-6)
    assert report["tokens"] == sum(row["support"] for row in report["per_tag"]) == gold_tokens
    again = evaluate(cfg)  # a second test loop on the same model starts its confusion matrix afresh
    assert again["tokens"] == gold_tokens and again["confusion"] == report["confusion"]
    saved = json.loads((tmp_path / "report.json").read_text())
    assert saved["accuracy"] == report["accuracy"] and len(saved["per_tag"]) == 17
    assert (tmp_path / "confusion_matrix.png").stat().st_size > 10_000
    assert "precision" in (tmp_path / "per_tag.txt").read_text()


def test_eval_unknown_tag_names_file_and_line(trained, tiny_ewt, tmp_path):
    lines = tiny_ewt["test"].read_text(encoding="utf-8").splitlines()
    fields = lines[1].split("\t")
    lines[1] = "\t".join([*fields[:3], "NAME", *fields[4:]])
    bad = tmp_path / "bad.conllu"
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    cfg = compose_config("eval.yaml", [f"ckpt_path={trained[0]}", f"data.test_path={bad}",
                                       "extras.print_config=false"], tmp_path)
    with pytest.raises(ValueError, match=r"bad.conllu:2: tag 'NAME' of word .* is not one of the 17 tags"):
        evaluate(cfg)
    assert "bad.conllu:2" in (tmp_path / "FAILED").read_text()


def test_only_a_data_config_choice_counts_as_data_given():
    assert data_given(["ckpt_path=x", "data=ud_gum"]) and data_given(["+data=ud_gum"])
    assert not data_given(["ckpt_path=x", "data.test_path=my.conllu", "paths.data_dir=/d"])


@pytest.mark.parametrize("inside", ["", "model", "checkpoints/best.ckpt", "saved before data/ was sorted by role"])
def test_eval_without_data_tests_a_tagger_on_the_data_of_its_training_run(inside, trained, tiny_ewt, tiny_vectors,
                                                                          tmp_path, caplog):
    """The run's .hydra/config.yaml, as Hydra writes it (unresolved), names the tiny test file: no data=... needed,
    given the run, its model/ folder or one of its checkpoints; a run saved before data/ was sorted by role names
    its data module by the old path."""
    run = Path(shutil.copytree(trained[0], tmp_path / "run"))
    config = compose_config("train.yaml", ["experiment=pos_quick", *tiny_data_overrides(tiny_ewt, tiny_vectors)], run)
    if inside.startswith("saved before"):
        config.data._target_, inside = "lstmlab.data.tagging_datamodule.TaggingDataModule", ""
    (run / ".hydra").mkdir()
    OmegaConf.save({key: config[key] for key in config if key != "hydra"}, run / ".hydra" / "config.yaml")
    assert "${seed}" in (run / ".hydra" / "config.yaml").read_text()  # resolved against the eval config
    with caplog.at_level(logging.INFO, logger="lstmlab.cli.eval"):
        report = evaluate_as_command([f"ckpt_path={run / inside}", "extras.print_config=false"], tmp_path / "eval")
    assert report["test_path"] == str(tiny_ewt["test"])
    assert report["accuracy"] == pytest.approx(trained[1]["test/acc"], abs=1e-6)
    assert f"testing on the data config {run} was trained with" in caplog.text


def test_lstmlab_eval_tests_a_bare_model_folder_on_the_example_data_of_its_kind(trained, tmp_path):
    """A model folder copied out of its run has no training config beside it: the command, given no data=...,
    tests it on its kind's example data config (a tagger: ud_ewt, bundled, offline)."""
    model = Path(shutil.copytree(trained[0] / "model", tmp_path / "shipped" / "model"))
    report, log = eval_command(model, tmp_path)
    assert report["test_path"].endswith("ud_english_ewt/en_ewt-ud-test.conllu")
    assert report["tokens"] > 20_000  # all of EWT test
    assert "testing on data=ud_ewt, the example data config of 'tagger' models" in log


def test_resumed_run_ends_where_an_uninterrupted_run_ends(tiny_ewt, tiny_vectors, tmp_path):
    train_tiny(tiny_ewt, tiny_vectors, tmp_path / "straight", "test=false")
    train_tiny(tiny_ewt, tiny_vectors, tmp_path / "stopped", "test=false", "trainer.max_epochs=2")
    last = tmp_path / "stopped/checkpoints/last.ckpt"
    cfg = compose_config("train.yaml", ["experiment=pos_quick", f"ckpt_path={last}"], tmp_path / "unused")
    assert cfg.hydra.run.dir == str(tmp_path / "stopped")  # a resumed run continues in its own directory
    train_tiny(tiny_ewt, tiny_vectors, tmp_path / "stopped", "test=false", f"ckpt_path={last}")
    straight = load_file(tmp_path / "straight/model/model.safetensors")
    resumed = load_file(tmp_path / "stopped/model/model.safetensors")
    assert all(torch.equal(straight[k], resumed[k]) for k in straight)
    best = [torch.load(run / "checkpoints/best.ckpt", weights_only=True) for run in (tmp_path / "straight",
                                                                                     tmp_path / "stopped")]
    assert best[0]["epoch"] == best[1]["epoch"]
    epochs = [line.split(",")[0] for line in (tmp_path / "stopped/csv/metrics.csv").read_text().splitlines()[1:]]
    assert {"0", "1", "2"} <= set(epochs)  # the metrics of the epochs before the interruption are kept


def test_console_script_lstmlab_eval_writes_its_own_run_directory(trained, tiny_ewt, tmp_path):
    """Given the training run's best.ckpt, evaluation writes under logs/eval/runs/<ts>/ and leaves the run as
    it was (Hydra's run directory must not follow ckpt_path the way a resumed training run does)."""
    script = Path(sys.executable).parent / "lstmlab-eval"
    if not script.exists():
        pytest.skip("lstmlab is not installed as a package (make install)")
    run = trained[0]
    before = {path: path.stat().st_mtime_ns for path in run.rglob("*")}
    result = subprocess.run(
        [str(script), f"ckpt_path={run}/checkpoints/best.ckpt", f"data.test_path={tiny_ewt['test']}"],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert {path: path.stat().st_mtime_ns for path in run.rglob("*")} == before
    (report,) = (tmp_path / "logs/eval/runs").glob("*/report.json")
    assert (report.parent / ".hydra/config.yaml").is_file()
    assert json.loads(report.read_text())["accuracy"] == pytest.approx(trained[1]["test/acc"])


def test_tagging_raw_text_imports_neither_lightning_nor_datasets():
    """`lstmlab-tag` and `Tagger` start fast: they need torch, not the training stack (about a second each)."""
    code = "import sys, lstmlab.cli.tag; print(sorted({'lightning', 'datasets', 'hydra'} & set(sys.modules)))"
    result = run_cli("lstmlab.cli.tag", "--help")  # the command itself works
    assert result.returncode == 0
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                            env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    assert loaded.stdout.strip() == "[]", loaded.stderr[-2000:]
