"""Hydra launchers with `lstmlab-train -m`: joblib runs tiny jobs side by side on this machine, each with its share of
the cores; submitit runs them as local processes; the SLURM preset composes into the sbatch lines it promises."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from conftest import TINY_MODEL, compose_config, only_sweep, tiny_data_overrides, train_command

from lstmlab.utils.torch_threads import available_cores, choose_threads

TWO_JOBS = ["model.optimizer.lr=0.01,0.02", "trainer.max_epochs=1", "trainer.limit_train_batches=2"]


def launcher(tmp_path: Path, *overrides: str):
    return compose_config("train.yaml", list(overrides), tmp_path).hydra.launcher


def test_threads_are_the_cores_shared_among_the_jobs_that_run_at_once(tmp_path):
    assert choose_threads(None, launcher(tmp_path, "hydra/launcher=parallel"), 8) == (
        4, "8 cores / 2 jobs at once under hydra/launcher=joblib")
    assert choose_threads(None, launcher(tmp_path, "hydra/launcher=joblib"), 8)[0] == 1  # n_jobs=-1: one per core
    for n_jobs, threads in ((3, 2), (-2, 1), (16, 1)):  # -2: all cores but one, as joblib counts
        joblib = launcher(tmp_path, "hydra/launcher=joblib", f"hydra.launcher.n_jobs={n_jobs}")
        assert choose_threads(None, joblib, 8)[0] == threads
    assert choose_threads(None, launcher(tmp_path), 8) == (8, "all 8 cores")
    assert choose_threads(None, launcher(tmp_path, "hydra/launcher=submitit_local",
                                         "hydra.launcher.cpus_per_task=2"), 8)[0] == 2
    assert choose_threads(None, None, 8) == (8, "all 8 cores")  # train() called outside Hydra
    assert choose_threads(3, launcher(tmp_path, "hydra/launcher=parallel"), 8) == (3, "threads=3")
    with pytest.raises(ValueError, match=r"threads=0: expected a number of torch threads of at least 1, or null"):
        choose_threads(0, None, 8)


def job_span(job: Path) -> tuple[float, float]:
    """When the job started (Hydra writes its config first) and when it wrote metrics.json."""
    return (job / ".hydra" / "config.yaml").stat().st_mtime, (job / "metrics.json").stat().st_mtime


@pytest.mark.slow  # two training processes at once: about a minute on 2 cores
def test_joblib_runs_two_jobs_side_by_side_each_on_its_share_of_the_cores(tiny_ewt, tiny_vectors, tmp_path):
    result = train_command(*TINY_MODEL, *tiny_data_overrides(tiny_ewt, tiny_vectors), *TWO_JOBS,
                           "hydra/launcher=parallel", cwd=tmp_path, multirun=True)
    assert result.returncode == 0, result.stderr[-3000:]
    sweep = only_sweep(tmp_path)
    cores = available_cores()
    for job in (sweep / "0", sweep / "1"):
        assert "test/acc" in json.loads((job / "metrics.json").read_text())
        line = re.search(r"torch threads: .*", (job / "pos_quick.log").read_text()).group()
        assert line == (f"torch threads: {max(1, cores // 2)} "
                        f"({cores} cores / 2 jobs at once under hydra/launcher=joblib)")
    (start0, end0), (start1, end1) = job_span(sweep / "0"), job_span(sweep / "1")
    assert start1 < end0 and start0 < end1  # they overlapped in time


@pytest.mark.slow
def test_submitit_local_runs_each_job_as_its_own_process(tiny_ewt, tiny_vectors, tmp_path):
    result = train_command(*TINY_MODEL, *tiny_data_overrides(tiny_ewt, tiny_vectors), *TWO_JOBS,
                           "hydra/launcher=submitit_local", cwd=tmp_path, multirun=True)
    assert result.returncode == 0, result.stderr[-3000:]
    sweep = only_sweep(tmp_path)
    for job in (sweep / "0", sweep / "1"):
        assert "test/acc" in json.loads((job / "metrics.json").read_text())
    assert len(list((sweep / ".submitit").glob("*/*_result.pkl"))) == 2  # two submitit jobs, each with its result


def test_the_slurm_preset_asks_sbatch_for_the_signal_and_the_requeue(tmp_path, monkeypatch):
    """submitit writes the sbatch script from the launcher's settings; `additional_parameters` replaces submitit's own
    --signal (USR2 for its requeueing) by SIGUSR1 90 s before the time limit. submitit's SlurmExecutor wants an
    srun to exist, and builds its script in the private `_make_submission_file_text`: this test pins both."""
    submitit = pytest.importorskip("submitit")
    slurm = launcher(tmp_path, "hydra/launcher=slurm", "hydra.launcher.gpus_per_node=4",
                     "hydra.launcher.tasks_per_node=4")
    assert slurm._target_ == "hydra_plugins.hydra_submitit_launcher.submitit_launcher.SlurmLauncher"
    srun = tmp_path / "bin" / "srun"
    srun.parent.mkdir()
    srun.write_text("#!/bin/sh\n")
    srun.chmod(0o755)
    monkeypatch.setenv("PATH", f"{srun.parent}:{os.environ['PATH']}")
    executor = submitit.AutoExecutor(folder=tmp_path / "submitit", cluster="slurm")
    base = {"timeout_min", "cpus_per_task", "gpus_per_node", "tasks_per_node", "mem_gb", "nodes"}
    executor.update_parameters(**{key if key in base else f"slurm_{key}": slurm[key]
                                  for key in (*base, "partition", "additional_parameters", "array_parallelism")})
    script = executor._executor._make_submission_file_text("python -m lstmlab.cli.train", "uid")
    flags = set(re.findall(r"^#SBATCH (--\S+)$", script, flags=re.MULTILINE))
    assert {"--signal=SIGUSR1@90", "--requeue", "--partition=gpu", "--time=240", "--gpus-per-node=4",
            "--ntasks-per-node=4", "--cpus-per-task=8", "--mem=32GB", "--nodes=1"} <= flags
    assert sum(flag.startswith("--signal") for flag in flags) == 1
