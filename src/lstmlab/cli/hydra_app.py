"""Glue shared by the Hydra entry points (`lstmlab-train`, `lstmlab-eval`): where the configs are, the resolvers
they use, building callbacks and loggers, recording failed runs.

The configs ship inside the package as `lstmlab.conf` (the repository's top-level conf/, mapped into the wheel by
pyproject.toml), so the commands find them from any working directory and under any install; a user's own config
folder joins the search path with `--config-dir my_conf` or `hydra.searchpath=[file://my_conf]`.
"""

from __future__ import annotations

import difflib
import functools
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import hydra
from hydra.core.utils import JobReturn, JobStatus
from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from lstmlab.data import locations
from lstmlab.utils import slurm

log = logging.getLogger(__name__)

CONFIG_MODULE = "lstmlab.conf"
CONFIG_PATH = f"pkg://{CONFIG_MODULE}"  # hydra.main's config_path: the packaged configs, found through importlib


def check_override_keys(config_name: str) -> None:
    """Stop, before Hydra starts, on a command-line override of a key the config does not have, naming the
    closest keys it has: Hydra's own message for `model.hiden_size=3` suggests `+model.hiden_size=3`, which adds
    the typo to the config. Anything else wrong on the command line is left for Hydra to report."""
    errors = unknown_override_keys(config_name, sys.argv[1:])
    if errors:
        sys.stderr.write("".join(f"lstmlab-{Path(config_name).stem}: {error}\n" for error in errors))
        sys.exit(1)


def unknown_override_keys(config_name: str, argv: list[str]) -> list[str]:
    """`model.hiden_size: no such key; did you mean model.net.hidden_size?` for each `key=value` (sweeps too) whose
    key the composed config lacks. Composes the config once with Hydra's public compose API, as the command would."""
    from hydra import compose, initialize_config_module
    from hydra._internal.utils import get_args_parser
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.core.override_parser.types import OverrideType
    from hydra.errors import ConfigCompositionException
    from omegaconf.errors import ConfigAttributeError, ConfigKeyError

    # an internal: hydra.main's own parser, so that flags are read exactly as the command reads them (-m, --cfg,
    # --config-dir, -cn); pinned by tests/cli/test_train_command.py
    args, _ = get_args_parser().parse_known_args(argv)
    if not args.overrides or args.help or args.hydra_help or args.shell_completion or args.info:
        return []
    try:
        overrides = OverridesParser.create().parse_overrides(args.overrides)
    except Exception:  # noqa: BLE001 - a malformed override: Hydra's message says what is wrong with it
        return []
    fixed = {override.key_or_group: override.input_line for override in overrides if not override.is_sweep_override()}
    swept = [override.key_or_group for override in overrides if override.is_sweep_override()]
    if args.config_dir:
        fixed.setdefault("hydra.searchpath", f"hydra.searchpath=[file://{Path(args.config_dir).resolve()}]")
    unknown = []
    with initialize_config_module(config_module=CONFIG_MODULE, version_base="1.3"):
        while True:
            try:
                cfg = compose(args.config_name or config_name, overrides=list(fixed.values()), return_hydra_config=True)
                break
            except ConfigCompositionException as error:
                key = getattr(error.__cause__, "full_key", None)
                if not isinstance(error.__cause__, (ConfigAttributeError, ConfigKeyError)) or key not in fixed \
                        or next(o for o in overrides if o.key_or_group == key).type is not OverrideType.CHANGE:
                    return []  # another problem (an unknown config group option, a bad value): Hydra reports it
                unknown.append(key)
                del fixed[key]
            except Exception:  # noqa: BLE001 - not for this check to report
                return []
    keys = flat_keys(OmegaConf.to_container(cfg, resolve=False))
    if all("." in key for key in swept):  # a swept group could change which keys exist: then leave them be
        unknown += [key for key in swept if key not in keys and not any(name.startswith(f"{key}.") for name in keys)]
    return [f"{key}: no such key" + hint(key, keys) for key in unknown]


def hint(key: str, keys: list[str]) -> str:
    """`; did you mean a or b?` with the closest existing keys, else how to add a key."""
    scope = [name for name in keys if name.startswith("hydra.") == key.startswith("hydra.")]
    close = difflib.get_close_matches(key, scope, n=2, cutoff=0.7)
    if close:
        return f"; did you mean {' or '.join(close)}?"
    return f" (--cfg job lists them; +{key}=... adds a new key)"


def flat_keys(node: Any, prefix: str = "") -> list[str]:
    """Every dotted key of a nested config dict whose value is not a dict (lists are values)."""
    if not isinstance(node, dict) or not node:
        return [prefix[:-1]] if prefix else []
    return [key for name, value in node.items() for key in flat_keys(value, f"{prefix}{name}.")]


def instantiate_group(group: DictConfig | None) -> list[Any]:
    """Instantiate every entry of a config group mapping (callbacks, loggers) that has a `_target_`."""
    if not group:
        return []
    return [hydra.utils.instantiate(entry) for entry in group.values() if entry and "_target_" in entry]


class ResumeError(Exception):
    """A resume refused before anything was trained or written: the checkpoint does not fit the command."""


def record_failures(task: Callable[[DictConfig], Any]) -> Callable[[DictConfig], Any]:
    """Write the exception of a crashed run into its run directory (`FAILED`; `PRUNED` for an Optuna trial its
    study stopped) and re-raise, so a multirun shows which runs failed and why (lightning-hydra-template's
    task_wrapper). A resume refused in place writes nothing: the run directory is the checkpoint's own run."""

    @functools.wraps(task)
    def wrapped(cfg: DictConfig) -> Any:
        try:
            return task(cfg)
        except Exception as error:
            from optuna import TrialPruned

            output_dir = Path(cfg.paths.output_dir)
            if isinstance(error, ResumeError) and resume_dir(cfg.get("ckpt_path"), "") == str(output_dir.resolve()):
                log.error("%s", error)
                raise
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


class KeepRunOnRefusedResume(Callback):
    """Hydra callback (`hydra.callbacks` in train.yaml): a run resumed from `<run>/checkpoints/<file>.ckpt` runs in
    `<run>` (see `resume_dir`), and Hydra rewrites `<run>/.hydra/` and appends to its log before the job starts.
    When the job then refuses the resume (`ResumeError`), this puts both back byte for byte, so the finished run
    is still described by the config it was trained with (`lstmlab-eval` reads it)."""

    def __init__(self) -> None:
        self.kept: dict[Path, tuple[bytes, int]] = {}  # path: (content, mtime in ns), taken before the job
        self.written: Callable[[], list[Path]] = list  # no resume in place: nothing to keep

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        run = resume_dir(config.get("ckpt_path"), "")
        if run:
            self.written = functools.partial(written_by_hydra, Path(run), config.hydra.output_subdir)
            self.kept = {path: (path.read_bytes(), path.stat().st_mtime_ns) for path in self.written()}

    def on_run_end(self, config: DictConfig, job_return: JobReturn, **kwargs: Any) -> None:
        # JobReturn's field, not its public `return_value`, which also prints "Error executing job" to stderr
        # each time it is read; pinned by tests/cli/test_train_command.py
        if job_return.status is JobStatus.FAILED and isinstance(job_return._return_value, ResumeError):
            for path in set(self.written()) - set(self.kept):
                path.unlink()  # written by the refused job: the run had no such file
            for path, (content, mtime) in self.kept.items():
                path.write_bytes(content)
                os.utime(path, ns=(mtime, mtime))


def written_by_hydra(run: Path, output_subdir: str | None) -> list[Path]:
    """What Hydra writes into a run folder before the job runs: its .hydra/ files and the job's log."""
    files = [*run.glob("*.log"), *((run / output_subdir).glob("*") if output_subdir else [])]
    return [path for path in files if path.is_file()]


def expose_plugins() -> None:
    """Make lstmlab's Hydra plugins (the Optuna sweeper) visible to Hydra's plugin scan, which lists the folders
    of the `hydra_plugins` namespace package. A wheel install puts ours in site-packages/hydra_plugins, where the
    scan looks; an editable install (setuptools' import-hook mode, which the conf/ mapping needs) serves it through
    an import hook that no folder listing sees, so its real folder joins the namespace path.
    tests/sweeps/test_optuna_sweep.py pins that Hydra finds the sweeper."""
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


def saved_config() -> Path | None:
    """Where Hydra saved this job's composed config; None outside a Hydra job or with hydra.output_subdir=null."""
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized() or HydraConfig.get().output_subdir is None:
        return None
    return Path(HydraConfig.get().runtime.output_dir) / HydraConfig.get().output_subdir / "config.yaml"


def register_resolvers() -> None:
    """`${working_dir:}` is where runs land (see `working_dir`); `${env_or:NAME,default}` defaults a value to an
    environment variable; `${samples_dir:}` and `${sample:FILE}` find the bundled samples (see
    `lstmlab.data.locations`); `${resume_dir:...}` keeps a resumed run in its folder;
    `${run_name:<timestamp>,<overrides>}` names a new one (after the SLURM job in one, `lstmlab.utils.slurm`);
    `${folder_name:<path or name>}` is a path's last component, for run folders named after a data folder."""
    resolvers = {
        "working_dir": working_dir,
        "env_or": lambda name, default: os.environ.get(name) or default,
        "samples_dir": lambda: str(locations.samples_dir()),
        "sample": locations.sample_file,
        "resume_dir": resume_dir,
        "run_name": slurm.run_name,
        "folder_name": lambda path: Path(str(path).rstrip("/\\")).name,
    }
    for name, resolver in resolvers.items():
        if not OmegaConf.has_resolver(name):
            OmegaConf.register_new_resolver(name, resolver)


def apply_extras(cfg: DictConfig) -> None:
    """Run-start niceties from the `extras` group. The composed config is saved in the run folder (Hydra's
    .hydra/config.yaml), and one line says where: printed in full it would bury the lines that matter (errors,
    progress) under ~150 lines; `extras.print_config=true` prints it as a rich tree too."""
    from lightning.pytorch.utilities import rank_zero_only

    if rank_zero_only.rank != 0:
        return
    saved = saved_config()
    if saved:
        log.info("composed config: %s", saved)
    if not cfg.get("extras", {}).get("print_config"):
        return
    import rich
    import rich.syntax
    import rich.tree

    tree = rich.tree.Tree("config", style="dim")
    for key in cfg:
        if key in ("hydra",):
            continue
        branch = tree.add(str(key), style="bold")
        value = cfg[key]
        text = OmegaConf.to_yaml(value, resolve=True) if isinstance(value, DictConfig) else str(value)
        branch.add(rich.syntax.Syntax(text, "yaml"))
    rich.print(tree)
