"""An Optuna study that lives in its sweep folder and survives the sweep being killed.

The folder holds the study's storage (`optuna.journal`, Optuna's journal file: safe for several processes, also on a
shared file system, so SLURM jobs can join) and `study.json`, what the study searches under which fixed overrides.
Started again, the same command finds both and continues: finished trials stay as they are, a trial whose sweep
process died (kill -9, a node lost) or was stopped (Ctrl-C) is recorded as failed, marked INTERRUPTED in its folder
and retried with the same parameters. A sweep process may have run on another machine (a login node of a cluster,
the folder shared): a running trial records its sweep's host and process id, and a heartbeat, the time, which its
sweep renews every minute while the trial runs. A trial is lost when its process is gone from this machine, or when
its heartbeat is over ten minutes old, on whichever machine it ran (so the machines' clocks must agree within
minutes, as NTP keeps them). Each trial's folder is named by its trial number and tells its end by a file:
metrics.json (finished), FAILED, PRUNED or INTERRUPTED.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import optuna
from optuna.distributions import BaseDistribution
from optuna.trial import FrozenTrial, Trial, TrialState

from lstmlab.utils.atomic_file import atomic_file

log = logging.getLogger(__name__)

STUDY_FILE = "study.json"
JOURNAL_FILE = "optuna.journal"
INTERRUPTED = "INTERRUPTED"
DIRECTIONS = {"max": "maximize", "min": "minimize", "maximize": "maximize", "minimize": "minimize"}
HEARTBEAT = "sweeper_heartbeat"  # the trial's user attribute: when its sweep process last said it was alive
HEARTBEAT_S = 60.0  # how often a sweep process renews the heartbeat of the trials it runs
STALE_S = 600.0  # a running trial whose heartbeat is older than this is lost, whichever machine ran it


class StudyMismatchError(ValueError):
    """The sweep folder holds a study of other arguments or another search space than the command asks for."""


def open_storage(description: str) -> optuna.storages.BaseStorage | str:
    """A journal file path (`*.journal`) or a database URL (`sqlite:///study.db`, `postgresql://...`)."""
    if "://" in description:
        return description
    return optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(description))


def trial_id(trial: Trial | FrozenTrial) -> int:
    """The storage's id of a trial. Optuna addresses a trial from another process (the job that reports to it for
    pruning) only by this id (`optuna.trial.Trial(study, trial_id)`) and exposes it only as the private `_trial_id`;
    tests/sweeps/test_optuna_sweep.py pins it."""
    return trial._trial_id


class StudyFolder:
    def __init__(self, folder: Path, study_name: str, storage: str | None, direction: str,
                 pruner: optuna.pruners.BasePruner | None = None, *, heartbeat_s: float = HEARTBEAT_S,
                 stale_s: float = STALE_S) -> None:
        if direction not in DIRECTIONS:
            raise ValueError(f"hydra.sweeper.direction: {direction!r}; expected one of {', '.join(DIRECTIONS)}")
        self.folder = folder
        self.heartbeat_s, self.stale_s = heartbeat_s, stale_s
        self.storage = storage or str(folder / JOURNAL_FILE)
        folder.mkdir(parents=True, exist_ok=True)
        self.study = optuna.create_study(study_name=study_name, storage=open_storage(self.storage), pruner=pruner,
                                         direction=DIRECTIONS[direction], load_if_exists=True)

    # --- what the study is -----------------------------------------------------------------------------------
    def check_identity(self, identity: Mapping[str, Any]) -> bool:
        """Write study.json on the first start; later starts must ask for the same study. True: continuing."""
        path = self.folder / STUDY_FILE
        if not path.is_file():
            _write(path, json.dumps(dict(identity), indent=1))
            return False
        recorded = json.loads(path.read_text(encoding="utf-8"))
        for key in ("study_name", "arguments", "search_space", "direction", "metric"):
            if recorded.get(key) != identity.get(key):
                raise StudyMismatchError(
                    f"{path}: this folder holds study {recorded.get('study_name')!r} of other {key}: "
                    f"{_difference(recorded.get(key), identity.get(key))}. Run the study's own command to continue "
                    f"it, or start another study with hydra.sweeper.study_name=<new name> (or hydra.sweep.dir=...)")
        if recorded.get("n_trials") != identity.get("n_trials"):  # a larger (or smaller) budget: the same study
            _write(path, json.dumps(dict(identity), indent=1))
        return True

    # --- trials ------------------------------------------------------------------------------------------------
    def counted(self) -> int:
        """Trials that use up the budget: finished (complete, pruned, failed with an error) or running elsewhere.
        Interrupted trials are not counted: their parameters are retried."""
        states = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING)
        return sum(1 for t in self.study.get_trials(deepcopy=False)
                   if t.state in states or (t.state == TrialState.FAIL and "interrupted" not in t.user_attrs))

    def recover_interrupted(self) -> list[int]:
        """Trials left running by a sweep process that is gone (see `lost`): failed, then retried."""
        lost = [(trial, why) for trial in self.study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
                if (why := self.lost(trial))]
        for trial, why in lost:
            self.interrupt(trial, why)
        return [trial.number for trial, _ in lost]

    def lost(self, trial: FrozenTrial) -> str:
        """Why a running trial's sweep process is gone, or "" while it may live: on this machine its process id tells;
        from any machine, a heartbeat older than `stale_s` (the process was killed or its machine lost)."""
        attributes = trial.user_attrs
        if attributes.get("sweeper_host") == socket.gethostname() and not _process_alive(attributes.get("sweeper_pid")):
            return "its sweep process was killed"
        heartbeat = attributes.get(HEARTBEAT)  # none: a trial of an older lstmlab, judged by its process id only
        if heartbeat is not None and (silent := time.time() - heartbeat) > self.stale_s:
            return (f"its sweep process {attributes.get('sweeper_pid')} on {attributes.get('sweeper_host')} has been "
                    f"silent for {silent / 60:.0f} min")
        return ""

    @contextmanager
    def heartbeat(self, trials: list[Trial]) -> Iterator[None]:
        """While the block runs the trials (the launcher waits for their jobs), renew their heartbeat every
        `heartbeat_s`, so a sweep started again, on any machine, sees they are alive."""
        stop = threading.Event()

        def beat() -> None:
            while not stop.wait(self.heartbeat_s):
                try:
                    for trial in trials:
                        trial.set_user_attr(HEARTBEAT, time.time())
                except Exception as error:  # noqa: BLE001 - a storage hiccup must not stop the beat (nor the sweep)
                    log.warning("could not renew the heartbeat of trials %s: %s", [t.number for t in trials], error)

        thread = threading.Thread(target=beat, name="optuna-trial-heartbeat", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()

    def ask(self, space: dict[str, BaseDistribution]) -> Trial:
        trial = self.study.ask(space)
        trial.set_user_attr("sweeper_host", socket.gethostname())
        trial.set_user_attr("sweeper_pid", os.getpid())
        trial.set_user_attr(HEARTBEAT, time.time())
        retry_of = trial.user_attrs.get("retry_of")
        if retry_of is not None:
            why = self.study.get_trials(deepcopy=False)[retry_of].user_attrs.get("interrupted")
            self._mark(retry_of, f"interrupted ({why}); "
                                 f"retried as trial {trial.number}")
        return trial

    def interrupt(self, trial: Trial | FrozenTrial, why: str) -> None:
        """Record a trial that did not end as failed-by-interruption and queue its parameters again."""
        Trial(self.study, trial_id(trial)).set_user_attr("interrupted", why)
        self.study.tell(trial.number, state=TrialState.FAIL)
        self.study.enqueue_trial(trial.params, user_attrs={"retry_of": trial.number})
        self._mark(trial.number, f"interrupted ({why}); retried when the same command runs again")
        log.warning("trial %d interrupted (%s): recorded as failed, its parameters queued again", trial.number, why)

    def _mark(self, number: int, line: str) -> None:
        folder = self.folder / str(number)
        if folder.is_dir():
            _write(folder / INTERRUPTED, line)


def _difference(recorded: Any, asked: Any) -> str:
    if isinstance(recorded, list) and isinstance(asked, list):
        parts = [f"this command adds {sorted(set(asked) - set(recorded))}" if set(asked) - set(recorded) else "",
                 f"it lacks the study's {sorted(set(recorded) - set(asked))}" if set(recorded) - set(asked) else ""]
        return "; ".join(part for part in parts if part) or f"{recorded} in another order: {asked}"
    return f"the study has {recorded!r}, this command asks for {asked!r}"


def _write(path: Path, text: str) -> None:
    with atomic_file(path) as temporary:
        temporary.write_text(text + "\n", encoding="utf-8")


def _process_alive(pid: object) -> bool:
    if not isinstance(pid, int):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True
