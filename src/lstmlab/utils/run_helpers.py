"""Glue shared by the Hydra entry points: building callbacks and loggers, recording failed runs."""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import hydra
from omegaconf import DictConfig, OmegaConf

log = logging.getLogger(__name__)


def instantiate_group(group: DictConfig | None) -> list[Any]:
    """Instantiate every entry of a config group mapping (callbacks, loggers) that has a `_target_`."""
    if not group:
        return []
    return [hydra.utils.instantiate(entry) for entry in group.values() if entry and "_target_" in entry]


def record_failures(task: Callable[[DictConfig], Any]) -> Callable[[DictConfig], Any]:
    """Write the exception of a crashed run into its run directory and re-raise, so a multirun log shows
    which runs failed and why (lightning-hydra-template's task_wrapper)."""

    @functools.wraps(task)
    def wrapped(cfg: DictConfig) -> Any:
        try:
            return task(cfg)
        except Exception as error:
            output_dir = Path(cfg.paths.output_dir)
            output_dir.mkdir(parents=True, exist_ok=True)
            (output_dir / "FAILED").write_text(f"{type(error).__name__}: {error}\n", encoding="utf-8")
            log.error("run failed: %s: %s (recorded in %s)", type(error).__name__, error, output_dir / "FAILED")
            raise

    return wrapped


def project_root() -> str:
    """The checkout this package runs from (editable install), else the working directory."""
    checkout = Path(__file__).resolve().parents[3]
    return str(checkout) if (checkout / "conf" / "train.yaml").is_file() else os.getcwd()


def resume_dir(ckpt_path: str | None, default: str) -> str:
    """The run directory a resumed run continues in: the one holding `<run>/checkpoints/<file>.ckpt`, so its
    checkpoints, best score and metrics carry on; any other checkpoint (or none) starts a new directory."""
    if ckpt_path and Path(ckpt_path).parent.name == "checkpoints":
        return str(Path(ckpt_path).resolve().parent.parent)
    return default


def config_dir() -> str:
    """Absolute path of conf/: Hydra resolves a relative config_path differently under console scripts."""
    return str(Path(project_root()) / "conf")


def register_resolvers() -> None:
    """`${env_or:NAME,default}` lets a config default to an environment variable (LSTMLAB_DATA_DIR);
    `${project_root:}` finds the checkout so `data/` and `logs/` resolve from any working directory."""
    if not OmegaConf.has_resolver("env_or"):
        OmegaConf.register_new_resolver("env_or", lambda name, default: os.environ.get(name) or default)
    if not OmegaConf.has_resolver("project_root"):
        OmegaConf.register_new_resolver("project_root", project_root)
    if not OmegaConf.has_resolver("resume_dir"):
        OmegaConf.register_new_resolver("resume_dir", resume_dir)


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
