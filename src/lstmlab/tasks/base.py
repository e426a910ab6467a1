"""What every lstmlab task shares, and the protocol the generic entry points (train.py, eval.py) rely on.

A task is a LightningModule with a model `kind` ("tagger", ...). It knows how to build its network from a
data module, what a saved model must carry (`payload`) and what files its export holds beside it, what its model
card says (`card`), how to rebuild itself from a saved model, and how to report an evaluation. The entry points only
call these, so adding a task adds files and edits no entry point.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar

import lightning as L
import torch
from lightning.pytorch.trainer.states import TrainerFn
from torch import nn
from torch.optim.lr_scheduler import ReduceLROnPlateau

from lstmlab.data.datamodule import TextDataModule
from lstmlab.data.vocab.text_vocabs import TextVocabs
from lstmlab.io.checkpoint_upgrade import upgrade_checkpoint
from lstmlab.io.model_card import CardDetails, generic_card
from lstmlab.io.model_folder import model_payload
from lstmlab.tasks.evaluation_report import format_table, write_report
from lstmlab.tasks.optimizers import make_optimizer
from lstmlab.utils.rng_state import gather_rng_states, restore_rank_rng_states

TASKS: dict[str, type[Task]] = {}


class Task(L.LightningModule):
    kind: ClassVar[str]
    datamodule_type: ClassVar[type[TextDataModule]] = TextDataModule  # the data this task trains and tests on
    example_data: ClassVar[str] = ""  # a data config of that kind, for messages
    validate_best: ClassVar[bool] = False  # train.py also validates the best checkpoint and reports val/*
    card: ClassVar[CardDetails | None] = None  # what its model card says (None: a generic card)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "kind" in cls.__dict__:
            TASKS[cls.kind] = cls

    def __init__(
        self,
        net: nn.Module,
        vocabs: TextVocabs,
        optimizer: Callable[..., torch.optim.Optimizer] | None = None,  # None: evaluation only
        scheduler: Callable[..., Any] | None = None,
        monitor: str = "val/acc",
        mode: str = "max",
    ) -> None:
        super().__init__()
        self.net = net
        self.vocabs = vocabs
        self.optimizer_factory = optimizer
        self.scheduler_factory = scheduler
        self.monitor = monitor
        self.mode = mode
        self._validated = False  # this epoch's validation has run: the plateau scheduler may step on its result

    # --- the protocol ---------------------------------------------------------------------------------------
    @classmethod
    def build(cls, datamodule: TextDataModule, net: Callable[..., nn.Module], **options: Any) -> Task:
        """The task for training: `net` is the network's factory from the config, completed with the sizes
        the data module knows (vocabularies, pretrained vectors)."""
        raise NotImplementedError

    @classmethod
    def from_payload(cls, payload: dict, state: dict[str, torch.Tensor]) -> Task:
        """The task for evaluation, from a saved model (see `payload`)."""
        raise NotImplementedError

    def payload(self) -> dict:
        """What a saved model needs to be used without this run's config: network config and vocabularies."""
        return model_payload(self.kind, self.net.config_dict(), self.vocabs.to_dict())

    @classmethod
    def export_files(cls, payload: dict) -> dict[str, str]:
        """{file name: text} an export folder holds beside the model's own files (none by default)."""
        return {}

    @classmethod
    def card_details(cls, config: dict | None = None) -> CardDetails:
        """What the model card of a run with this (resolved) `config` says: `card`, with `extra_card_tags`."""
        card = cls.card or generic_card(cls.kind)
        extra = cls.extra_card_tags(config) if config else []
        return replace(card, tags=(*card.tags, *extra)) if extra else card

    @classmethod
    def extra_card_tags(cls, config: dict) -> list[str]:
        """Hub tags that depend on the run's config, a run's whole config (none by default)."""
        return []

    @classmethod
    def usage_hint(cls, run_dir: str) -> str:
        """One line for the run summary: how to use the exported model (its card's command)."""
        return cls.card_details().cli_line.format(model=run_dir)

    def evaluate(self, trainer: L.Trainer, datamodule: TextDataModule, output_dir: Path, source: dict) -> dict:
        """Test on the data module's test split. A task with a `test_confusion` matrix (over `vocabs.labels`) also
        gets per-label precision/recall/F1 and the matrix: report.json, per_tag.txt and a PNG."""
        metrics = trainer.test(self, datamodule=datamodule)[0]
        confusion = getattr(self, "test_confusion", None)
        if confusion is None:
            return {**source, **metrics}
        report = write_report(output_dir, confusion.compute().cpu(), self.vocabs.labels.itos, metrics, source)
        report["table"] = format_table(report["per_tag"])
        return report

    def on_test_epoch_start(self) -> None:
        confusion = getattr(self, "test_confusion", None)
        if confusion is not None:
            confusion.reset()  # read after the loop, so not reset by logging

    # --- steps: one shared step per task, called with the stage's name ----------------------------------------
    def _shared_step(self, batch: dict[str, Any], stage: str) -> torch.Tensor:
        """Loss of a batch; logs `<stage>/loss` and the task's metrics."""
        raise NotImplementedError

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> torch.Tensor:
        return self._shared_step(batch, "train")

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        self._shared_step(batch, "val")

    def test_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        self._shared_step(batch, "test")

    # --- training -------------------------------------------------------------------------------------------
    def on_train_epoch_end(self) -> None:
        # logged here rather than by LearningRateMonitor, which refuses to run without a logger
        self.log("train/lr", self.optimizers().param_groups[0]["lr"])
        self._anneal()

    def on_validation_end(self) -> None:
        if self.trainer.state.fn == TrainerFn.FITTING and not self.trainer.sanity_checking:
            self._validated = True

    def _anneal(self) -> None:
        """Step a plateau scheduler on this epoch's validation result, here, before the epoch-end checkpoint is
        written (Lightning calls the module's epoch-end hook before the checkpoint callbacks'). Lightning 2.6 steps it
        itself after that checkpoint, and not at all at the end of an epoch it resumed (its fit loop is still
        `restarting` then), so a resumed run annealed one epoch late and ended elsewhere; `lr_scheduler_step` leaves
        those steps out. tests/e2e/test_mid_epoch_resume.py pins it."""
        validated, self._validated = self._validated, False
        if not validated:
            return  # an epoch cut short by max_steps, as Lightning's own rule
        for config in self.trainer.lr_scheduler_configs:
            if isinstance(config.scheduler, ReduceLROnPlateau):
                config.scheduler.step(self.trainer.callback_metrics[config.monitor])

    def lr_scheduler_step(self, scheduler: Any, metric: Any) -> None:
        if not isinstance(scheduler, ReduceLROnPlateau):  # a plateau scheduler steps in `_anneal`
            super().lr_scheduler_step(scheduler, metric)

    def configure_optimizers(self) -> dict:
        if self.optimizer_factory is None:
            raise ValueError(f"this {type(self).__name__} was built for evaluation: pass optimizer=... to train it")
        scaled = getattr(self.trainer.precision_plugin, "scaler", None) is not None  # fp16-mixed's loss scaler
        optimizer = make_optimizer(self.optimizer_factory, self.parameters(), scaled)
        if self.scheduler_factory is None:
            return {"optimizer": optimizer}
        scheduler = self.scheduler_factory(optimizer=optimizer)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "monitor": self.monitor,
                                                         "interval": "epoch"}}

    def configure_gradient_clipping(
        self, optimizer: torch.optim.Optimizer, gradient_clip_val: float | None = None,
        gradient_clip_algorithm: str | None = None,
    ) -> None:
        # Lightning refuses to clip for a fused optimizer under mixed precision, since with fp16's loss scaler
        # the gradients would still be scaled. bf16 and fp32 have no scaler, so clipping here is exact.
        checked_norm = self.__dict__.pop("checked_gradient_norm", None)  # this step's, from DivergenceStop
        if getattr(self.trainer.precision_plugin, "scaler", None) is not None or not gradient_clip_val:
            super().configure_gradient_clipping(optimizer, gradient_clip_val, gradient_clip_algorithm)
        elif gradient_clip_algorithm in (None, "norm") and checked_norm is not None:
            # clip_grad_norm_'s scaling, without its second pass over the gradients for the same norm
            scale = torch.clamp(gradient_clip_val / (checked_norm + 1e-6), max=1.0)
            for parameter in self.parameters():
                if parameter.grad is not None:
                    parameter.grad.detach().mul_(scale)
        elif gradient_clip_algorithm in (None, "norm"):
            torch.nn.utils.clip_grad_norm_(self.parameters(), gradient_clip_val)
        else:
            torch.nn.utils.clip_grad_value_(self.parameters(), gradient_clip_val)

    # --- checkpoints ----------------------------------------------------------------------------------------
    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["lstmlab"] = self.payload()
        # every random state Lightning does not save, so a resumed run continues exactly where an
        # uninterrupted one would (dropout masks, word dropout, anything drawn from Python or numpy)
        checkpoint["lstmlab_rng"] = gather_rng_states()  # Lightning builds the checkpoint on every rank

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        upgrade_checkpoint(checkpoint, Path(self.trainer.ckpt_path or "the checkpoint"))
        if "lstmlab_rng" in checkpoint:
            restore_rank_rng_states(checkpoint["lstmlab_rng"], self.global_rank)

