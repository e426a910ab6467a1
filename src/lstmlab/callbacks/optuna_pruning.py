"""Inside a trial of an Optuna sweep (`hparams_search=...`), report the monitored metric to the study after each
validation and stop the run when the study's pruner judges it hopeless. Outside a sweep (`optuna_trial: null`) it
does nothing.

The job may run in another process or on another machine than the sweep (joblib, SLURM), so it opens the study
itself from the storage the sweeper names in `optuna_trial`, with the same pruner.

The step reported is the number of validations before this one, counted across resumes: the count is the
callback's state in the checkpoint (Lightning's `state_dict`/`load_state_dict`), so a trial resumed from last.ckpt
(a requeued SLURM job, `ckpt_path=`) reports its next validation as the next step. Counted again from 0, its reports
would repeat steps the study has, which Optuna ignores, and the pruner would judge the trial on the first attempt's
values. Trainer state gives no such count (the epoch misses validations within an epoch, `val_check_interval`;
the global step differs between trials of other batch sizes). Lightning runs checkpoint callbacks after the
others, so a checkpoint written at a validation's end already counts that validation.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.trainer.states import TrainerFn


class OptunaPruning(Callback):
    def __init__(self, trial: Mapping[str, Any] | None, monitor: str) -> None:
        self.trial_config = dict(trial) if trial else None
        self.monitor = monitor
        self.validations = 0  # the step reported: trials with other batch sizes compare at the same validation
        self._trial: Any = None

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.trial_config is None or trainer.sanity_checking or trainer.state.fn != TrainerFn.FITTING:
            return  # not a trial, or not one of its training's validations (train() validates the best again)
        import optuna

        step, self.validations = self.validations, self.validations + 1
        message = ""
        if trainer.is_global_zero:
            if self.monitor not in trainer.callback_metrics:
                raise KeyError(f"optuna pruning: monitor {self.monitor!r} is not among the logged metrics "
                               f"({', '.join(sorted(trainer.callback_metrics))})")
            value = float(trainer.callback_metrics[self.monitor])
            trial = self._open_trial()
            trial.report(value, step=step)
            if trial.should_prune():
                message = (f"pruned at epoch {trainer.current_epoch} (validation {step}): {self.monitor}={value:.4f}, "
                           f"worse than the study's pruner allows")
        message = trainer.strategy.broadcast(message)  # every rank stops together
        if message:
            raise optuna.TrialPruned(message)

    def state_dict(self) -> dict[str, int]:
        return {"validations": self.validations}

    def load_state_dict(self, state_dict: dict[str, int]) -> None:
        self.validations = state_dict["validations"]

    def _open_trial(self) -> Any:
        if self._trial is None:
            import optuna

            from lstmlab.sweeps.study_folder import open_storage

            config = self.trial_config  # its `pruner` Hydra has built from the sweep's pruner config
            study = optuna.load_study(study_name=config["study_name"], storage=open_storage(config["storage"]),
                                      pruner=config.get("pruner"))
            self._trial = optuna.trial.Trial(study, int(config["id"]))
        return self._trial
