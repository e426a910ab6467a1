"""Optuna searches (`lstmlab-train -m hparams_search=...`): the search space from Hydra's sweep syntax, a study kept
in its sweep folder that the same command continues after a kill, and pruning of a clearly worse trial."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
import torch
from conftest import ROOT, TINY_MODEL, compose_config, tiny_data_overrides
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import TrialState

from lstmlab.sweeps.search_space import as_override, parse_search_space
from lstmlab.sweeps.study_folder import HEARTBEAT, INTERRUPTED, StudyFolder, StudyMismatchError, open_storage, trial_id
from lstmlab.utils.torch_threads import available_cores

SEARCH = "model.optimizer.lr=tag(log,interval(0.003,0.03))"


def test_sweep_syntax_becomes_an_optuna_search_space():
    space = parse_search_space({"lr": "tag(log, interval(1e-4, 3e-2))", "dropout": "interval(0.1, 0.5)",
                                "hidden": "choice(128, 256)", "batch": "range(16, 65, 16)",
                                "layers": "int(interval(1, 3))", "filters": "[[3,8]],[[3,16]]"})
    assert space == {"lr": FloatDistribution(1e-4, 3e-2, log=True), "dropout": FloatDistribution(0.1, 0.5),
                     "hidden": CategoricalDistribution(["128", "256"]), "batch": IntDistribution(16, 64, step=16),
                     "layers": IntDistribution(1, 3), "filters": CategoricalDistribution(["[[3,8]]", "[[3,16]]"])}
    assert as_override("lr", 0.001234) == "lr=0.001234" and as_override("hidden", "256") == "hidden=256"
    with pytest.raises(ValueError, match=r"hydra.sweeper.params.lr: '0.1' is one value, not a search space"):
        parse_search_space({"lr": "0.1"})


@pytest.mark.parametrize("search", ["pos_optuna", "nli_optuna", "bilm_optuna", "classify_optuna"])
def test_every_task_search_composes_with_its_experiment_and_names_a_space(search):
    experiment = {"pos_optuna": "pos_quick", "nli_optuna": "nli_cpu", "bilm_optuna": "bilm_text",
                  "classify_optuna": "classify_sst2"}[search]
    cfg = compose_config("train.yaml", [f"hparams_search={search}", f"experiment={experiment}"], Path("unused"))
    sweeper = cfg.hydra.sweeper
    assert sweeper._target_.endswith("OptunaSweeper") and sweeper.study_name == search
    assert sweeper.direction == cfg.mode and sweeper.metric == cfg.monitor == cfg.optimized_metric
    space = parse_search_space(dict(sweeper.params))
    assert "model.optimizer.lr" in space and len(space) >= 4
    composed = compose_config("train.yaml", [f"experiment={experiment}", *(as_override(key, d.low if hasattr(
        d, "low") else d.choices[0]) for key, d in space.items())], Path("unused"))
    assert composed.model.optimizer.lr > 0  # every searched key exists in the experiment's config


def test_a_study_started_again_with_other_arguments_is_refused(tmp_path):
    folder = StudyFolder(tmp_path, "s", None, "max")
    identity = {"study_name": "s", "arguments": ["experiment=pos_quick"], "search_space": {"lr": "float"},
                "direction": "maximize", "metric": "val/acc", "n_trials": 4}
    assert folder.check_identity(identity) is False  # a new study
    assert folder.check_identity({**identity, "n_trials": 8}) is True  # a larger budget continues it
    assert json.loads((tmp_path / "study.json").read_text())["n_trials"] == 8
    with pytest.raises(StudyMismatchError, match=r"study.json: this folder holds study 's' of other arguments: "
                                                 r"this command adds \['trainer.max_epochs=3'\]"):
        folder.check_identity({**identity, "arguments": ["experiment=pos_quick", "trainer.max_epochs=3"]})


def test_a_trial_whose_sweep_process_died_is_failed_marked_and_retried(tmp_path):
    folder = StudyFolder(tmp_path, "s", None, "max")
    space = {"lr": FloatDistribution(0.001, 0.1, log=True)}
    finished = folder.ask(space)
    folder.study.tell(finished, 0.5)
    lost = folder.ask(space)
    (tmp_path / str(lost.number)).mkdir()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    lost.set_user_attr("sweeper_pid", int(dead.stdout))  # as if its sweep had been killed
    assert folder.counted() == 2

    again = StudyFolder(tmp_path, "s", None, "max")  # the sweep started again
    assert again.recover_interrupted() == [lost.number]
    assert again.counted() == 1  # the interrupted trial does not use up the budget
    retry = again.ask(space)
    assert retry.params == lost.params and retry.user_attrs["retry_of"] == lost.number
    assert (tmp_path / str(lost.number) / INTERRUPTED).read_text() == (
        f"interrupted (its sweep process was killed); retried as trial {retry.number}\n")
    states = [t.state for t in again.study.get_trials()]
    assert states == [TrialState.COMPLETE, TrialState.FAIL, TrialState.RUNNING]
    assert again.recover_interrupted() == []  # the retry runs in this (living) process


def test_a_trial_left_running_on_another_machine_is_retried_once_its_heartbeat_is_stale(tmp_path):
    """A sweep started again on another machine (another login node, the folder shared) cannot ask after a process
    id: the trial's heartbeat tells. Silent for an hour: lost; renewed a moment ago: running there, left alone."""
    folder = StudyFolder(tmp_path, "s", None, "max")
    space = {"lr": FloatDistribution(0.001, 0.1, log=True)}
    silent, alive = folder.ask(space), folder.ask(space)
    for trial, heartbeat in ((silent, time.time() - 3600), (alive, time.time())):
        (tmp_path / str(trial.number)).mkdir()
        trial.set_user_attr("sweeper_host", "node-b")
        trial.set_user_attr("sweeper_pid", 4242)
        trial.set_user_attr(HEARTBEAT, heartbeat)

    again = StudyFolder(tmp_path, "s", None, "max")
    assert again.recover_interrupted() == [silent.number]
    assert (tmp_path / str(silent.number) / INTERRUPTED).read_text() == (
        "interrupted (its sweep process 4242 on node-b has been silent for 60 min); retried when the same command "
        "runs again\n")
    states = [t.state for t in again.study.get_trials()]
    assert states == [TrialState.FAIL, TrialState.RUNNING, TrialState.WAITING]  # the lost one's retry is queued
    assert again.counted() == 1  # the live trial on node-b uses up its part of the budget
    assert not (tmp_path / str(alive.number) / INTERRUPTED).exists()


def test_a_sweep_renews_the_heartbeat_of_the_trials_it_runs(tmp_path):
    folder = StudyFolder(tmp_path, "s", None, "max", heartbeat_s=0.05)
    trial = folder.ask({"lr": FloatDistribution(0.001, 0.1, log=True)})
    asked = trial.study.get_trials()[0].user_attrs[HEARTBEAT]
    with folder.heartbeat([trial]):
        time.sleep(0.5)  # the launcher waits for the trial's job
    reader = optuna.load_study(study_name="s", storage=open_storage(str(tmp_path / "optuna.journal")))
    assert asked < reader.trials[0].user_attrs[HEARTBEAT] <= time.time()  # as another machine reads it


def trial_override(journal: Path, trial: optuna.Trial, *entries: str) -> str:
    """`optuna_trial=...` as the sweeper gives it to a trial's job (study `s` in `journal`), with more entries."""
    fields = [f"storage:'{journal}'", "study_name:s", f"number:{trial.number}", f"id:{trial_id(trial)}", *entries]
    return f"optuna_trial={{{','.join(fields)}}}"


def test_a_clearly_worse_trial_is_pruned_at_its_first_validation(tiny_ewt, tiny_vectors, tmp_path):
    """Two real trials of one study: lr 0.02 finishes; lr 1e-6 stays near chance and the median pruner stops it
    after its first validation, leaving PRUNED (not FAILED), no export and its reported value in the study."""
    from lstmlab.cli.train import train

    study = optuna.create_study(study_name="s", storage=open_storage(str(tmp_path / "optuna.journal")),
                                direction="maximize")
    pruner = "pruner:{_target_:optuna.pruners.MedianPruner,n_startup_trials:1,n_warmup_steps:0}"
    runs = {}
    for lr in (0.02, 1e-6):
        trial = study.ask()
        runs[lr] = tmp_path / str(trial.number)
        overrides = ["experiment=pos_quick", *TINY_MODEL, *tiny_data_overrides(tiny_ewt, tiny_vectors),
                     "trainer.max_epochs=3", f"model.optimizer.lr={lr}", "model.scheduler=null", "test=false",
                     trial_override(tmp_path / "optuna.journal", trial, pruner)]
        try:
            metrics = train(compose_config("train.yaml", overrides, runs[lr]))
        except optuna.TrialPruned:
            study.tell(trial, state=TrialState.PRUNED)
        else:
            study.tell(trial, metrics["val/acc"])
    good, bad = study.get_trials()
    assert good.state == TrialState.COMPLETE and sorted(good.intermediate_values) == [0, 1, 2]
    assert bad.state == TrialState.PRUNED and list(bad.intermediate_values) == [0]
    assert bad.intermediate_values[0] < good.intermediate_values[0] - 0.1
    assert (runs[1e-6] / "PRUNED").read_text().startswith("pruned at epoch 0 (validation 0): val/acc=0.")
    assert not (runs[1e-6] / "FAILED").exists() and not (runs[1e-6] / "model").exists()


def test_a_trial_resumed_from_last_ckpt_reports_its_next_validations_as_new_steps(tiny_ewt, tiny_vectors,
                                                                                    tmp_path):
    """A trial stopped mid-epoch after 2 validations (max_steps; a requeued SLURM job is the same) and resumed from
    its last.ckpt reports validations 2 and 3 as steps 2 and 3: the study holds all four, each the value the run
    logged (reported again as steps 0 and 1, Optuna would drop them and keep the first attempt's)."""
    from lstmlab.cli.train import train

    journal = tmp_path / "optuna.journal"
    study = optuna.create_study(study_name="s", storage=open_storage(str(journal)), direction="maximize")
    trial = study.ask()
    run = tmp_path / str(trial.number)
    overrides = ["experiment=pos_quick", *TINY_MODEL, *tiny_data_overrides(tiny_ewt, tiny_vectors),
                 "trainer.max_epochs=4", "trainer.limit_train_batches=8", "model.optimizer.lr=0.02",
                 "model.scheduler=null", "test=false", "checkpoint_every_n_steps=2", trial_override(journal, trial)]
    train(compose_config("train.yaml", [*overrides, "trainer.max_steps=20"], run))
    assert torch.load(run / "checkpoints/last.ckpt", weights_only=True)["global_step"] == 20  # in the third epoch
    assert sorted(study.trials[0].intermediate_values) == [0, 1]

    train(compose_config("train.yaml", [*overrides, f"ckpt_path={run / 'checkpoints/last.ckpt'}"], run))
    with (run / "csv/metrics.csv").open(newline="", encoding="utf-8") as handle:
        logged = [float(row["val/acc"]) for row in csv.DictReader(handle) if row["val/acc"]]
    reported = study.trials[0].intermediate_values
    assert sorted(reported) == [0, 1, 2, 3] and len(logged) == 4
    assert [reported[step] for step in range(4)] == pytest.approx(logged)


def sweep_command(tiny: dict[str, Path], vectors: Path, n_trials: int) -> list[str]:
    return [sys.executable, "-m", "lstmlab.cli.train", "-m", "hparams_search=optuna", "experiment=pos_quick",
            *TINY_MODEL, *tiny_data_overrides(tiny, vectors), "trainer.max_epochs=2", "test=false",
            SEARCH, f"hydra.sweeper.n_trials={n_trials}"]


def run_sweep(command: list[str], folder: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=folder, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def fingerprint(folder: Path) -> dict[str, str]:
    return {str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(folder.rglob("*")) if path.is_file()}


def test_an_optuna_sweep_stores_its_study_in_the_sweep_folder_and_continues_it(tiny_ewt, tiny_vectors, tmp_path):
    sweep_dir = tmp_path / "logs/pos_quick/optuna/optuna"
    first = run_sweep(sweep_command(tiny_ewt, tiny_vectors, 2), tmp_path)
    assert "new Optuna study 'optuna'" in first.stdout + first.stderr
    study = optuna.load_study(study_name="optuna", storage=open_storage(str(sweep_dir / "optuna.journal")))
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 2
    for trial in study.trials:  # each trial's folder is its number and holds its run
        metrics = json.loads((sweep_dir / str(trial.number) / "metrics.json").read_text())
        assert trial.value == pytest.approx(metrics["val/acc"])
        overrides = (sweep_dir / str(trial.number) / ".hydra/overrides.yaml").read_text()
        assert f"model.optimizer.lr={trial.params['model.optimizer.lr']!r}" in overrides
        assert sorted(trial.intermediate_values) == [0, 1]  # the pruning callback reported each validation
    recorded = json.loads((sweep_dir / "study.json").read_text())
    assert recorded["direction"] == "maximize" and recorded["metric"] == "val/acc"
    assert recorded["search_space"] == {"model.optimizer.lr": "float in [0.003, 0.03], log scale"}
    before = fingerprint(sweep_dir / "0")

    again = run_sweep(sweep_command(tiny_ewt, tiny_vectors, 3), tmp_path)
    assert "it holds 2 finished; 1 of 3 trials to go" in again.stdout + again.stderr
    study = optuna.load_study(study_name="optuna", storage=open_storage(str(sweep_dir / "optuna.journal")))
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 3
    best = study.best_trial  # the closing lines, as a grid's (tests/sweeps/test_sweep_report.py)
    assert again.stdout.rstrip().splitlines()[-4:] == [
        f"Sweep folder:    {sweep_dir}", "Jobs:            3: 3 finished",
        f"Best job:        {best.number}, val/acc={best.value:.4f} "
        f"(model.optimizer.lr={best.params['model.optimizer.lr']:.4g}): {sweep_dir / str(best.number)}",
        f"Report:          lstmlab-sweep-report {sweep_dir}"]
    assert fingerprint(sweep_dir / "0") == before


@pytest.mark.slow
def test_a_sweep_killed_during_its_third_trial_ends_with_four_finished_trials(tiny_ewt, tiny_vectors, tmp_path):
    sweep_dir = tmp_path / "logs/pos_quick/optuna/optuna"
    command = sweep_command(tiny_ewt, tiny_vectors, 4)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    sweep = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while not (sweep_dir / "2").is_dir() and time.monotonic() < deadline and sweep.poll() is None:
        time.sleep(0.2)
    assert sweep.poll() is None, "the sweep ended before its third trial started"
    os.kill(sweep.pid, signal.SIGKILL)
    sweep.wait()
    finished = {number: fingerprint(sweep_dir / str(number)) for number in (0, 1)}

    run_sweep(command, tmp_path)
    study = optuna.load_study(study_name="optuna", storage=open_storage(str(sweep_dir / "optuna.journal")))
    states = [t.state for t in study.trials]
    assert states == [TrialState.COMPLETE] * 2 + [TrialState.FAIL] + [TrialState.COMPLETE] * 2
    assert study.trials[3].params == study.trials[2].params  # the interrupted trial, retried
    assert (sweep_dir / "2" / INTERRUPTED).read_text() == (
        "interrupted (its sweep process was killed); retried as trial 3\n")
    assert {number: fingerprint(sweep_dir / str(number)) for number in (0, 1)} == finished
    assert all((sweep_dir / str(number) / "metrics.json").is_file() for number in (0, 1, 3, 4))


@pytest.mark.slow
def test_trials_run_side_by_side_under_joblib_and_share_one_study(tiny_ewt, tiny_vectors, tmp_path):
    sweep_dir = tmp_path / "logs/pos_quick/optuna/optuna"
    run_sweep([*sweep_command(tiny_ewt, tiny_vectors, 3), "hydra/launcher=parallel",
               "hydra.sweeper.n_jobs=2"], tmp_path)
    study = optuna.load_study(study_name="optuna", storage=open_storage(str(sweep_dir / "optuna.journal")))
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 3
    cores = available_cores()
    for trial in study.trials:  # each job reported to the one study from its own joblib process
        assert sorted(trial.intermediate_values) == [0, 1]
        log = (sweep_dir / str(trial.number) / "pos_quick.log").read_text()
        assert f"torch threads: {max(1, cores // 2)} ({cores} cores / 2 jobs at once" in log
