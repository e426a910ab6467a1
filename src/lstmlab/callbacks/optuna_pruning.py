"""Inside a trial of an Optuna sweep (`hparams_search=...`), report the monitored metric to the study after each
validation and stop the run when the study's pruner judges it hopeless. Outside a sweep (`optuna_trial: null`) it
does nothing.

The job may run in another process or on another machine than the sweep (joblib, SLURM), so it opens the study
itself from the storage the sweeper names in `optuna_trial`, with the same pruner.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import Callback


class OptunaPruning(Callback):
    def __init__(self, trial: Mapping[str, Any] | None, monitor: str) -> None:
        self.trial_config = dict(trial) if trial else None
        self.monitor = monitor
        self.validations = 0  # the step reported: trials with other batch sizes compare at the same validation
        self._trial: Any = None

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.trial_config is None or trainer.sanity_checking:
            return
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

    def _open_trial(self) -> Any:
        if self._trial is None:
            import optuna

            from lstmlab.sweeps.study_folder import open_storage

            config = self.trial_config  # its `pruner` Hydra has built from the sweep's pruner config
            study = optuna.load_study(study_name=config["study_name"], storage=open_storage(config["storage"]),
                                      pruner=config.get("pruner"))
            self._trial = optuna.trial.Trial(study, int(config["id"]))
        return self._trial
