"""`lstmlab-train` as a newcomer meets it, run as a real command from a fresh folder: what a run prints when its
output goes to a file, a resume that does not fit the finished run, a mistyped key, the summary's labels."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, tiny_data_overrides, train_command, train_tiny
from hydra.core.global_hydra import GlobalHydra

SMALL = ["model.net.hidden_size=16", "model.net.char_filters=[[3,8]]", "data.batch_size=16", "data.eval_batch_size=32"]


@pytest.fixture(scope="module")
def finished(tiny_ewt, tiny_vectors, tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """A 2-epoch run of the real command with the default callbacks and extras, its output a pipe (no terminal):
    (its run folder, the finished process)."""
    cwd = tmp_path_factory.mktemp("user")
    result = train_command(*SMALL, *tiny_data_overrides(tiny_ewt, tiny_vectors), "trainer.max_epochs=2",
                           "callbacks.progress_log.every_s=0", cwd=cwd)
    assert result.returncode == 0, result.stderr[-3000:]
    (run,) = (cwd / "logs/pos_quick/runs").iterdir()
    return run, result


def test_without_a_terminal_a_run_logs_its_progress_and_not_its_config(finished):
    run, result = finished
    lines = result.stdout.splitlines()
    assert any(line.endswith(f"composed config: {run}/.hydra/config.yaml") for line in lines)
    assert "model_checkpoint" not in result.stdout  # the config tree is not printed
    progress = [line for line in lines if "lstmlab.callbacks.progress_log" in line]
    assert progress and all(", step " in line and "steps/s" in line for line in progress)
    assert any(" - epoch 2/2, batch " in line and ", ETA 0:" in line and "train/loss_step" in line
               for line in progress)
    assert "it/s" not in result.stdout + result.stderr  # no frames of a progress bar
    summary = result.stderr.splitlines()[-7:]  # closes the output, as README shows it (Lightning's log: stderr)
    assert summary[0] == f"Run directory:   {run}" and summary[-2].endswith("  (best epoch)")


def test_a_resume_that_does_not_fit_leaves_the_finished_run_as_it_was(finished, tiny_ewt, tiny_vectors):
    """Hydra rewrites <run>/.hydra/ before the job starts: a refused resume must put it back, write no FAILED,
    and say in one line why."""
    run, _ = finished
    before = {path: (path.read_bytes(), path.stat().st_mtime_ns) for path in run.rglob("*") if path.is_file()}
    last = run / "checkpoints/last.ckpt"
    result = train_command(*SMALL, *tiny_data_overrides(tiny_ewt, tiny_vectors), "model.net.hidden_size=32",
                           "trainer.max_epochs=3", f"ckpt_path={last}", cwd=run.parents[3])
    assert result.returncode == 1
    assert (f"resume failed: checkpoint {last} was trained with model.net.hidden_size=16, the command asks for "
            f"model.net.hidden_size=32; nothing in {run} was changed") in result.stdout
    assert {path: (path.read_bytes(), path.stat().st_mtime_ns) for path in run.rglob("*") if path.is_file()} == before


def run_command(module: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True, env=env,
                          timeout=300, cwd=cwd)


@pytest.mark.parametrize(("module", "args", "message"), [
    ("lstmlab.cli.train", ["model.hiden_size=3"],
     "lstmlab-train: model.hiden_size: no such key; did you mean model.net.hidden_size"),
    ("lstmlab.cli.train", ["-m", "experiment=pos_quick", "trainer.max_epoch=2,3"],
     "lstmlab-train: trainer.max_epoch: no such key; did you mean trainer.max_epochs"),
    ("lstmlab.cli.eval", ["ckpt_path=model", "data.test_pat=x.conllu"],
     "lstmlab-eval: data.test_pat: no such key; did you mean data.test_path"),
], ids=["train", "train-sweep", "eval"])
def test_a_mistyped_key_is_refused_naming_the_closest_keys(module, args, message, tmp_path):
    result = run_command(module, *args, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith(message), result.stderr[-2000:]
    assert "To append to your config" not in result.stderr  # Hydra's hint, which would add the typo
    assert not (tmp_path / "logs").exists()


def test_keys_of_a_users_config_folder_are_known(tmp_path):
    """--config-dir is read as Hydra reads it: a key that only the user's experiment adds is no typo."""
    from lstmlab.cli.hydra_app import unknown_override_keys

    (tmp_path / "experiment").mkdir()
    (tmp_path / "experiment/mine.yaml").write_text("# @package _global_\ndefaults:\n  - override /data: ud_ewt\n"
                                                   "my_note: hello\n", encoding="utf-8")
    GlobalHydra.instance().clear()
    args = ["--config-dir", str(tmp_path), "experiment=mine", "my_note=bye", "trainer.max_epoch=2", "+new.key=1",
            "seed=1,2"]
    assert unknown_override_keys("train.yaml", args) == [
        "trainer.max_epoch: no such key; did you mean trainer.max_epochs or trainer.min_epochs?"]
    assert unknown_override_keys("train.yaml", ["data=no_such_data", "trainer.max_epoch=2"]) == []  # Hydra's to say


def test_the_summary_says_last_epoch_when_no_checkpoint_was_saved(tiny_ewt, tiny_vectors, tmp_path, caplog):
    with caplog.at_level(logging.INFO):
        metrics = train_tiny(tiny_ewt, tiny_vectors, tmp_path, "trainer.max_epochs=1", "test=false",
                             "callbacks.model_checkpoint=null")
    assert f"val/acc:         {metrics['val/acc']:.4f}  (last epoch: no checkpoint saved)" in caplog.text
    assert json.loads((tmp_path / "metrics.json").read_text())["val/acc"] == metrics["val/acc"]


def test_a_checkpoint_from_before_a_config_field_existed_resumes(finished, tiny_ewt, tiny_vectors, tmp_path):
    """A key the checkpoint's network config lacks (aux_tags and aux_weight came later) means its default: the run
    resumes instead of being refused as another network."""
    import shutil

    import torch

    run, _ = finished
    copy = tmp_path / "logs" / "pos_quick" / "runs" / run.name
    shutil.copytree(run, copy)
    last = copy / "checkpoints" / "last.ckpt"
    checkpoint = torch.load(last, map_location="cpu", weights_only=True)
    for key in ("aux_tags", "aux_weight"):
        del checkpoint["lstmlab"]["net_config"][key]
    torch.save(checkpoint, last)
    result = train_command(*SMALL, *tiny_data_overrides(tiny_ewt, tiny_vectors), "trainer.max_epochs=3",
                           f"ckpt_path={last}", cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "resume failed" not in result.stdout and f"Run directory:   {copy}" in result.stderr
    assert torch.load(last, map_location="cpu", weights_only=True)["epoch"] == checkpoint["epoch"] + 1
