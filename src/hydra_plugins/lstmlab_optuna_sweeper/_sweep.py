"""One Optuna study run through Hydra's launcher: ask trials, launch them as jobs, tell their results.

Each trial is a job of the launcher in use (in this process, joblib workers, submitit / SLURM jobs) in the folder
`<sweep dir>/<trial number>`. A job learns its trial through the `optuna_trial` override, which the pruning callback
(`lstmlab.callbacks.optuna_pruning`) uses to report the monitored metric after each validation.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import hydra
import optuna
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.utils import JobReturn
from omegaconf import OmegaConf
from optuna.trial import Trial, TrialState

from lstmlab.sweeps.search_space import as_override, describe, parse_search_space
from lstmlab.sweeps.study_folder import StudyFolder, trial_id

log = logging.getLogger(__name__)


def run_study(sweeper: Any, arguments: list[str], *, study_name: str, storage: str | None, direction: str,
              metric: str | None, n_trials: int, n_jobs: int, sampler: Any, pruner: Any,
              params: dict[str, str]) -> list[JobReturn]:
    config = sweeper.config
    parser = OverridesParser.create(config_loader=sweeper.hydra_context.config_loader)
    parsed = parser.parse_overrides(arguments)
    fixed = sorted(text for text, override in zip(arguments, parsed, strict=True) if not override.is_sweep_override())
    searched = {**params, **{override.get_key_element(): text.split("=", 1)[1]
                             for text, override in zip(arguments, parsed, strict=True) if override.is_sweep_override()}}
    if not searched:
        raise ValueError("the Optuna sweeper has nothing to search: give hydra.sweeper.params (an hparams_search "
                         "config does) or sweep a key on the command line, e.g. model.optimizer.lr=interval(1e-4,1e-2)")
    space = parse_search_space(searched)
    sweep_dir = Path(config.hydra.sweep.dir)
    folder = StudyFolder(sweep_dir, study_name, storage, direction, pruner=None)
    existing = len(folder.study.get_trials(deepcopy=False))
    folder.study.sampler = _sampler(sampler, existing)
    continuing = folder.check_identity({
        "study_name": study_name, "storage": folder.storage, "direction": folder.study.direction.name.lower(),
        "metric": metric, "n_trials": n_trials, "arguments": fixed, "search_space": describe(space)})
    lost = folder.recover_interrupted()
    OmegaConf.save(config, sweep_dir / "multirun.yaml")
    _log_start(folder, continuing, lost, n_trials, space)

    trial_config = {"storage": folder.storage, "study_name": study_name,
                    "pruner": OmegaConf.to_container(pruner, resolve=True) if pruner is not None else None}
    returns: list[JobReturn] = []
    while (remaining := n_trials - folder.counted()) > 0:
        trials = [folder.ask(space) for _ in range(min(n_jobs, remaining))]
        batch = [[*fixed, *(as_override(key, value) for key, value in trial.params.items()),
                  f"optuna_trial={_override_value({**trial_config, 'number': trial.number, 'id': trial_id(trial)})}",
                  f"hydra.sweep.subdir={trial.number}"] for trial in trials]
        try:
            sweeper.validate_batch_is_legal(batch)
            with folder.heartbeat(trials):
                results = sweeper.launcher.launch(batch, initial_job_idx=trials[0].number)
        except (KeyboardInterrupt, SystemExit):
            for trial in trials:
                folder.interrupt(trial, "the sweep was stopped")
            raise
        except Exception as error:
            for trial in trials:
                _fail(folder, trial, error)
            raise
        for trial, result in zip(trials, results, strict=True):
            _tell(folder, trial, result)
        returns.append(results)
    _require_a_finished_trial(folder, sweep_dir)
    return returns


def _sampler(config: Any, existing_trials: int) -> optuna.samplers.BaseSampler:
    """The configured sampler; a seeded one continuing a study is seeded past the trials it has, so a resumed
    sweep does not draw the first trials' parameters again."""
    if config is None:
        return optuna.samplers.TPESampler()
    seed = config.get("seed")
    return hydra.utils.instantiate(config, **({"seed": seed + existing_trials} if seed is not None else {}))


def _tell(folder: StudyFolder, trial: Trial, result: JobReturn) -> None:
    try:
        value = result.return_value  # re-raises the job's exception
    except optuna.TrialPruned as pruned:
        folder.study.tell(trial, state=TrialState.PRUNED)
        log.info("trial %d pruned: %s", trial.number, pruned)
        return
    except Exception as error:  # noqa: BLE001 - any job error is the trial's failure; the study goes on
        _fail(folder, trial, error)
        return
    if value is None or not math.isfinite(float(value)):
        _fail(folder, trial, ValueError(f"the job returned {value!r}, not a finite number: does its metrics hold "
                                        f"the optimized metric?"))
        return
    folder.study.tell(trial, float(value))
    log.info("trial %d finished: %.4f", trial.number, value)


def _fail(folder: StudyFolder, trial: Trial, error: BaseException) -> None:
    message = f"{type(error).__name__}: {error}".splitlines()[0]
    trial.set_user_attr("error", message)
    folder.study.tell(trial, state=TrialState.FAIL)
    log.warning("trial %d failed: %s", trial.number, message)


def _override_value(value: Any) -> str:
    """A Python value in Hydra's override grammar (strings quoted)."""
    if isinstance(value, dict):
        return "{" + ",".join(f"{key}:{_override_value(item)}" for key, item in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_override_value(item) for item in value) + "]"
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    return repr(value)


def _log_start(folder: StudyFolder, continuing: bool, lost: list[int], n_trials: int, space: dict) -> None:
    trials = folder.study.get_trials(deepcopy=False)
    names = {TrialState.COMPLETE: "finished", TrialState.PRUNED: "pruned", TrialState.FAIL: "failed",
             TrialState.RUNNING: "running", TrialState.WAITING: "queued"}
    counts = {name: sum(t.state == state for t in trials) for state, name in names.items()}
    if continuing:
        held = ", ".join(f"{count} {state}" for state, count in counts.items() if count) or "no trials"
        log.info("continuing Optuna study %r in %s: it holds %s%s; %d of %d trials to go",
                 folder.study.study_name, folder.folder, held,
                 f" (interrupted trials {lost} are retried)" if lost else "",
                 max(0, n_trials - folder.counted()), n_trials)
    else:
        log.info("new Optuna study %r in %s: %d trials over %s", folder.study.study_name, folder.folder, n_trials,
                 ", ".join(space))


def _require_a_finished_trial(folder: StudyFolder, sweep_dir: Path) -> None:
    """A study without a finished trial ends the command with an error; the closing lines (folder, jobs, best, the
    report command) are printed by `lstmlab.sweeps.sweep_end.SweepEnd`, the same for a grid."""
    if not folder.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        raise RuntimeError(f"Optuna study {folder.study.study_name!r}: no trial finished; see the FAILED and PRUNED "
                           f"files in {sweep_dir}/<trial>/")
