"""`checkpoints/last.ckpt` kept current within an epoch, so that a killed or pre-empted run loses little.

It is written every `every_n_steps` training steps (`checkpoint_every_n_steps=N`), and when the run is asked to
stop: after SIGTERM (any run; also how SLURM pre-empts or cancels a job) or, in a SLURM job, the requeue signal
(SIGUSR1, which `#SBATCH --signal=SIGUSR1@90` sends before the time limit). The signal is noted, and at the end of
the next training batch every rank saves and the run stops with exit status 128 + the signal; after SIGUSR1 the
job is requeued (`lstmlab.utils.slurm`). At the end of an epoch last.ckpt is ModelCheckpoint's
(`callbacks.model_checkpoint`), written after validation. Neither save happens at an epoch's last batch, where
Lightning would resume after the epoch's validation without running it: a stop asked for then, or during
validation, waits for the next epoch's first batch; one asked for after the last batch stops the run when
training ends, before testing.

A checkpoint written at the end of a training batch is one Lightning's loops resume from exactly (its own step
checkpoints are written there too), together with what lstmlab adds: the loader's place in the epoch
(`ResumableDataLoader`, `StreamWindows`), every random state and the biLM's carried state (the task's
`on_save_checkpoint`). As a `Checkpoint` it runs after the other callbacks, so their state for the batch (weight
average, throughput) is in it. SIGKILL and Ctrl-C leave the last.ckpt written before.

While it trains (`on_train_start` to `on_train_end`) this callback's handler replaces Lightning's for both
signals, which are installed just before: Lightning's SIGTERM handler runs collectives inside the handler (under
DDP the ranks can then wait on each other forever) and stops in the middle of a validation, and its SLURM handler
saves `hpc_ckpt_<n>.ckpt` from inside the signal handler, possibly in the middle of an optimizer step.
tests/test_mid_epoch_resume.py sends both signals to real runs, DDP included.
"""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from types import FrameType
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import Checkpoint
from lightning.pytorch.utilities import rank_zero_info
from lightning.pytorch.utilities.exceptions import SIGTERMException

from lstmlab.utils.slurm import in_slurm_job, requeue


class ResumeCheckpoint(Checkpoint):
    def __init__(self, dirpath: str | Path, every_n_steps: int | None = None, requeue_signal: str = "SIGUSR1") -> None:
        if every_n_steps is not None and (isinstance(every_n_steps, bool) or every_n_steps < 1):
            raise ValueError(f"checkpoint_every_n_steps must be a positive number of steps or null, "
                             f"got {every_n_steps!r}")
        if requeue_signal not in signal.Signals.__members__:
            raise ValueError(f"requeue_signal must name a signal such as 'SIGUSR1', got {requeue_signal!r}")
        self.path = Path(dirpath) / "last.ckpt"
        self.every_n_steps = every_n_steps
        self.requeue_signal = signal.Signals[requeue_signal]
        self.received: signal.Signals | None = None
        self._saved_step = -1
        self._replaced: dict[signal.Signals, Any] = {}  # the handlers this callback's stand in for while training

    # --- the signals: noted by the handler, acted on at the end of a batch -------------------------------------
    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.received = None
        if threading.current_thread() is not threading.main_thread():
            return  # Python takes signal handlers in the main thread only
        for signum in (signal.SIGTERM, self.requeue_signal) if in_slurm_job() else (signal.SIGTERM,):
            self._replaced[signum] = signal.signal(signum, self._note_signal)

    def _note_signal(self, signum: int, frame: FrameType | None) -> None:
        self.received = signal.Signals(signum)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._restore_handlers()
        if self._stop_asked(trainer):  # after the last batch: last.ckpt is the final epoch's
            self._stop(trainer)

    def on_exception(self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException) -> None:
        self._restore_handlers()

    def _restore_handlers(self) -> None:
        # before Lightning's teardown, which then puts back what it found before fit
        for signum, handler in self._replaced.items():
            signal.signal(signum, handler)
        self._replaced = {}

    def _stop_asked(self, trainer: L.Trainer) -> bool:
        asked = self.received is not None or trainer.received_sigterm
        if trainer.world_size > 1:  # every rank stops at the same batch, whichever got the signal
            asked = trainer.strategy.reduce_boolean_decision(asked, all=False)
        return asked

    # --- saving -----------------------------------------------------------------------------------------------
    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any,
                           batch_idx: int) -> None:
        if trainer.fast_dev_run:
            return  # as ModelCheckpoint: no checkpoints
        stop = self._stop_asked(trainer)
        if batch_idx + 1 >= trainer.num_training_batches:
            return  # an epoch's last batch: resumed from here, Lightning would skip the epoch's validation
        if stop:
            self._save(trainer)
            self._stop(trainer)
        step = trainer.global_step
        if self.every_n_steps and step % self.every_n_steps == 0 and step != self._saved_step:  # once per step
            self._save(trainer)

    def _save(self, trainer: L.Trainer) -> None:
        trainer.save_checkpoint(self.path)
        self._saved_step = trainer.global_step

    def _stop(self, trainer: L.Trainer) -> None:
        received = self.received or signal.SIGTERM
        requeued = received == self.requeue_signal and trainer.is_global_zero and requeue()
        rank_zero_info(f"{received.name}: {self.path} holds step {trainer.global_step}; stopping"
                       + ("; the SLURM job is requeued and resumes from it" if requeued else ""))
        raise SIGTERMException(128 + received)
