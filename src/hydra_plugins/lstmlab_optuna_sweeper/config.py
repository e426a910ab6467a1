"""`hydra/sweeper=optuna`: the sweeper's options with their defaults (conf/hparams_search/*.yaml set them per task)."""

# no `from __future__ import annotations`: OmegaConf reads these types at runtime, and Hydra's plugin scan runs
# this module before it is in sys.modules, where dataclasses would look string annotations up
from dataclasses import dataclass, field
from typing import Any

from hydra.core.config_store import ConfigStore


@dataclass
class OptunaSweeperConf:
    _target_: str = "hydra_plugins.lstmlab_optuna_sweeper.optuna_sweeper.OptunaSweeper"
    _recursive_: bool = False  # sampler and pruner stay configs: the pruner is rebuilt inside each trial's job
    study_name: str = "study"
    storage: str | None = None  # a database URL or a journal file; null: <sweep dir>/optuna.journal
    direction: str = "maximize"  # or minimize (max / min, as the run's `mode`, also work)
    metric: str | None = None  # the name of what the jobs return, for study.json and the report
    n_trials: int = 20  # trials the study ends with (finished, pruned or failed; interrupted ones are retried)
    n_jobs: int = 1  # trials launched at once (with hydra/launcher=joblib or submitit_*, they run in parallel)
    sampler: Any = field(default_factory=lambda: {"_target_": "optuna.samplers.TPESampler", "seed": None})
    pruner: Any = field(default_factory=lambda: {"_target_": "optuna.pruners.NopPruner"})
    params: dict[str, str] = field(default_factory=dict)  # key: Hydra sweep expression, e.g. choice(1, 2)


ConfigStore.instance().store(group="hydra/sweeper", name="optuna", node=OptunaSweeperConf, provider="lstmlab")
