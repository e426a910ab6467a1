"""`checkpoints/last.ckpt` kept current within an epoch, so that a killed, pre-empted or interrupted run loses little.

It is written every `every_n_steps` training steps (`checkpoint_every_n_steps=N`), and when the run is asked to
stop: after Ctrl-C (SIGINT) or SIGTERM (any run; SIGTERM is also how SLURM pre-empts or cancels a job) or, in a SLURM
job, the requeue signal (SIGUSR1, which `#SBATCH --signal=SIGUSR1@90` sends before the time limit). The signal is
noted, and at the end of the next training batch that completes an optimizer step every rank saves; once Lightning
has logged that batch, the run stops with exit status 128 + the signal (130 for Ctrl-C). The run folder gets an
`INTERRUPTED` file (the signal, the step, the resume command; a sweep report shows the run as interrupted), the
log the command that resumes it, and after SIGUSR1 the job is requeued (`lstmlab.utils.slurm`). A second Ctrl-C
stops at once, as Python does, without a new last.ckpt. At the end of an epoch last.ckpt is ModelCheckpoint's
(`callbacks.model_checkpoint`), written after validation. Neither save happens at an epoch's last batch, where
Lightning would resume after the epoch's validation without running it: a stop asked for then, or during
validation, waits for the next epoch's first step; one asked for after the last batch stops the run when training
ends, before testing.

Saves wait for optimizer steps: with `trainer.accumulate_grad_batches=k` a batch that only adds its gradients to
the sum holds them in no checkpoint, so a run resumed from there would step on a partial sum. A checkpoint written
at the end of a batch that stepped is one Lightning's loops resume from exactly, together with what lstmlab adds:
the loader's place in the epoch (`ResumableDataLoader`, `StreamWindows`), every random state and the biLM's carried
state (the task's `on_save_checkpoint`). As a `Checkpoint` it runs after the other callbacks, so their state for
the batch (weight average, throughput, the pruning callback's count) is in it. SIGKILL leaves the last.ckpt
written before.

While it trains (`on_train_start` to `on_train_end`) this callback's handler replaces Lightning's and Python's for
these signals: Python's turns Ctrl-C into a KeyboardInterrupt wherever the run is (Lightning then stops with no
checkpoint), Lightning's SIGTERM handler runs collectives inside the handler (under DDP the ranks can then wait on
each other forever) and stops in the middle of a validation, and its SLURM handler saves `hpc_ckpt_<n>.ckpt` from
inside the signal handler, possibly in the middle of an optimizer step. tests/e2e/test_mid_epoch_resume.py sends the
signals to real runs, DDP included.
"""

from __future__ import annotations

import shlex
import signal
import threading
from pathlib import Path
from types import FrameType
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import Checkpoint
from lightning.pytorch.utilities import rank_zero_info
from lightning.pytorch.utilities.exceptions import SIGTERMException

from lstmlab.utils.atomic_file import atomic_file
from lstmlab.utils.slurm import in_slurm_job, requeue

INTERRUPTED = "INTERRUPTED"  # the run folder's mark of a run stopped by a signal, as a sweep report reads it


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
        self._step_at_batch_start = 0
        self._saved_to_stop = False  # last.ckpt holds the batch a signal stops at; the run stops at the next hook
        self._replaced: dict[signal.Signals, Any] = {}  # the handlers this callback's stand in for while training

    # --- the signals: noted by the handler, acted on at the end of a batch -------------------------------------
    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.received, self._saved_to_stop = None, False
        if trainer.ckpt_path and trainer.is_global_zero:  # resumed: no longer interrupted, running again
            (Path(trainer.default_root_dir) / INTERRUPTED).unlink(missing_ok=True)
        if threading.current_thread() is not threading.main_thread():
            return  # Python takes signal handlers in the main thread only
        signums = (signal.SIGINT, signal.SIGTERM) + ((self.requeue_signal,) if in_slurm_job() else ())
        for signum in signums:
            self._replaced[signum] = signal.signal(signum, self._note_signal)

    def _note_signal(self, signum: int, frame: FrameType | None) -> None:
        if signum == signal.SIGINT and self.received == signal.SIGINT:
            raise KeyboardInterrupt  # Ctrl-C twice: stop now, as without this callback
        self.received = signal.Signals(signum)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._restore_handlers()
        if self._saved_to_stop or self._stop_asked(trainer):  # after the last batch: last.ckpt is the final epoch's
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
    def on_train_batch_start(self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any,
                             batch_idx: int) -> None:
        if self._saved_to_stop:  # here, not at the saved batch's end: Lightning has logged that batch's metrics since
            self._stop(trainer)
        self._step_at_batch_start = trainer.global_step

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any,
                           batch_idx: int) -> None:
        if trainer.fast_dev_run:
            return  # as ModelCheckpoint: no checkpoints
        stop = self._stop_asked(trainer)
        if batch_idx + 1 >= trainer.num_training_batches:
            return  # an epoch's last batch: resumed from here, Lightning would skip the epoch's validation
        if trainer.global_step == self._step_at_batch_start:
            return  # gradients accumulated for a later step: no checkpoint holds them
        if stop:
            self._save(trainer)
            self._saved_to_stop = True
        elif self.every_n_steps and trainer.global_step % self.every_n_steps == 0:
            self._save(trainer)

    def _save(self, trainer: L.Trainer) -> None:
        trainer.save_checkpoint(self.path, weights_only=False)  # said, or Lightning logs its default

    def _stop(self, trainer: L.Trainer) -> None:
        received = self.received or signal.SIGTERM
        requeued = received == self.requeue_signal and trainer.is_global_zero and requeue()
        if trainer.is_global_zero:
            resume = resume_command(self.path)
            with atomic_file(Path(trainer.default_root_dir) / INTERRUPTED) as temporary:
                temporary.write_text(f"interrupted ({received.name} at step {trainer.global_step}): {self.path} "
                                     f"holds it\nresume: {resume}\n", encoding="utf-8")
            rank_zero_info(f"{received.name}: {self.path} holds step {trainer.global_step}; stopping. "
                           + ("The SLURM job is requeued and resumes from it" if requeued else f"Resume: {resume}"))
        raise SIGTERMException(128 + received)


def resume_command(checkpoint: Path) -> str:
    """`lstmlab-train` with the run's own command-line overrides and `ckpt_path=` this checkpoint (which also
    keeps the resumed run in its folder); outside a Hydra app, only the `ckpt_path=` to add."""
    from hydra.core.hydra_config import HydraConfig

    resume = f"ckpt_path={checkpoint.resolve()}"
    if not HydraConfig.initialized():
        return f"<the same command> {shlex.quote(resume)}"
    overrides = [item for item in HydraConfig.get().overrides.task
                 if item.split("=", 1)[0].lstrip("+~") != "ckpt_path"]
    return shlex.join(["lstmlab-train", *overrides, resume])
