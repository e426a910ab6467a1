"""Glue shared by the Hydra entry points (`lstmlab-train`, `lstmlab-eval`): where the configs are, the resolvers
they use, building callbacks and loggers, recording failed runs.

The configs ship inside the package as `lstmlab.conf` (the repository's top-level conf/, mapped into the wheel by
pyproject.toml), so the commands find them from any working directory and under any install; a user's own config
folder joins the search path with `--config-dir my_conf` or `hydra.searchpath=[file://my_conf]`.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import hydra
from omegaconf import DictConfig, OmegaConf

from lstmlab.data import locations
from lstmlab.utils import slurm

log = logging.getLogger(__name__)

CONFIG_PATH = "pkg://lstmlab.conf"  # hydra.main's config_path: the packaged configs, found through importlib


def instantiate_group(group: DictConfig | None) -> list[Any]:
    """Instantiate every entry of a config group mapping (callbacks, loggers) that has a `_target_`."""
    if not group:
        return []
    return [hydra.utils.instantiate(entry) for entry in group.values() if entry and "_target_" in entry]


def record_failures(task: Callable[[DictConfig], Any]) -> Callable[[DictConfig], Any]:
    """Write the exception of a crashed run into its run directory (`FAILED`; `PRUNED` for an Optuna trial its
    study stopped) and re-raise, so a multirun shows which runs failed and why (lightning-hydra-template's
    task_wrapper)."""

    @functools.wraps(task)
    def wrapped(cfg: DictConfig) -> Any:
        try:
            return task(cfg)
        except Exception as error:
            from optuna import TrialPruned

            output_dir = Path(cfg.paths.output_dir)
            output_dir.mkdir(parents=True, exist_ok=True)
            if isinstance(error, TrialPruned):
                (output_dir / "PRUNED").write_text(f"{error}\n", encoding="utf-8")
                log.info("trial %s", error)
                raise
            (output_dir / "FAILED").write_text(f"{type(error).__name__}: {error}\n", encoding="utf-8")
            log.error("run failed: %s: %s (recorded in %s)", type(error).__name__, error, output_dir / "FAILED")
            raise

    return wrapped


def resume_dir(ckpt_path: str | None, default: str) -> str:
    """The run directory a resumed run continues in: the one holding `<run>/checkpoints/<file>.ckpt`, so its
    checkpoints, best score and metrics carry on; any other checkpoint (or none) starts a new directory."""
    if ckpt_path and Path(ckpt_path).parent.name == "checkpoints":
        return str(Path(ckpt_path).resolve().parent.parent)
    return default


def expose_plugins() -> None:
    """Make lstmlab's Hydra plugins (the Optuna sweeper) visible to Hydra's plugin scan, which lists the folders
    of the `hydra_plugins` namespace package. A wheel install puts ours in site-packages/hydra_plugins, where the
    scan looks; an editable install (setuptools' import-hook mode, which the conf/ mapping needs) serves it through
    an import hook that no folder listing sees, so its real folder joins the namespace path.
    tests/test_optuna_sweep.py pins that Hydra finds the sweeper."""
    import hydra_plugins
    import hydra_plugins.lstmlab_optuna_sweeper as plugin

    folder = str(Path(plugin.__file__).resolve().parent.parent)
    if folder not in [str(Path(entry).resolve()) for entry in hydra_plugins.__path__ if Path(entry).is_dir()]:
        hydra_plugins.__path__.append(folder)


def working_dir() -> str:
    """The folder the command was started in: Hydra's `runtime.cwd` inside a job; the process's own before any job
    exists, where a multirun resolves its sweep folder (`${hydra:runtime.cwd}` fails there: HydraConfig is not
    set yet)."""
    from hydra.core.hydra_config import HydraConfig

    return HydraConfig.get().runtime.cwd if HydraConfig.initialized() else os.getcwd()


def register_resolvers() -> None:
    """`${working_dir:}` is where runs land (see `working_dir`); `${env_or:NAME,default}` defaults a value to an
    environment variable; `${samples_dir:}` and `${sample:FILE}` find the bundled samples (see
    `lstmlab.data.locations`); `${resume_dir:...}` keeps a resumed run in its folder;
    `${run_name:<timestamp>,<overrides>}` names a new one (after the SLURM job in one, `lstmlab.utils.slurm`)."""
    resolvers = {
        "working_dir": working_dir,
        "env_or": lambda name, default: os.environ.get(name) or default,
        "samples_dir": lambda: str(locations.samples_dir()),
        "sample": locations.sample_file,
        "resume_dir": resume_dir,
        "run_name": slurm.run_name,
    }
    for name, resolver in resolvers.items():
        if not OmegaConf.has_resolver(name):
            OmegaConf.register_new_resolver(name, resolver)


def apply_extras(cfg: DictConfig) -> None:
    """Run-start niceties from the `extras` group: print the composed config as a rich tree."""
    if not cfg.get("extras", {}).get("print_config"):
        return
    import rich
    import rich.syntax
    import rich.tree
    from lightning.pytorch.utilities import rank_zero_only

    if rank_zero_only.rank != 0:
        return
    tree = rich.tree.Tree("config", style="dim")
    for key in cfg:
        if key in ("hydra",):
            continue
        branch = tree.add(str(key), style="bold")
        value = cfg[key]
        text = OmegaConf.to_yaml(value, resolve=True) if isinstance(value, DictConfig) else str(value)
        branch.add(rich.syntax.Syntax(text, "yaml"))
    rich.print(tree)
