"""LightningModule for sequence tagging: one shared step for train/val/test, torchmetrics per stage."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import lightning as L
import torch
from torchmetrics.classification import MulticlassAccuracy, MulticlassConfusionMatrix

from lstmlab.data.batching import TAG_PADDING
from lstmlab.data.tagging_vocabs import TaggingVocabs
from lstmlab.models.bilstm_tagger import BiLSTMTagger
from lstmlab.serialization import TAGGER_KIND, model_payload


class TaggingTask(L.LightningModule):
    def __init__(
        self,
        net: BiLSTMTagger,
        vocabs: TaggingVocabs,
        optimizer: Callable[..., torch.optim.Optimizer] | None = None,  # None: evaluation only
        scheduler: Callable[..., Any] | None = None,
        monitor: str = "val/acc",
    ) -> None:
        super().__init__()
        self.net = net
        self.vocabs = vocabs
        self.optimizer_factory = optimizer
        self.scheduler_factory = scheduler
        self.monitor = monitor
        num_tags = len(vocabs.tags)
        # one metric instance per stage (a ModuleDict cannot use "train" as a key); inputs are ids the network
        # made, so torchmetrics' per-update argument checks are skipped
        self.train_acc, self.val_acc, self.test_acc = (
            MulticlassAccuracy(num_tags, average="micro", ignore_index=TAG_PADDING, validate_args=False)
            for _ in range(3)
        )
        self.test_confusion = MulticlassConfusionMatrix(num_tags, ignore_index=TAG_PADDING, validate_args=False)

    def forward(self, words: torch.Tensor, chars: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.net.decode(self.net(words, chars, mask), mask)

    def _shared_step(self, batch: dict[str, torch.Tensor], stage: str) -> torch.Tensor:
        emissions = self.net(batch["words"], batch["chars"], batch["mask"])
        loss = self.net.loss(emissions, batch["tags"], batch["mask"])
        predicted = self.net.decode(emissions, batch["mask"])
        tags = batch["tags"]
        accuracy = getattr(self, f"{stage}_acc")
        accuracy(predicted, tags)
        if stage == "test":
            self.test_confusion(predicted, tags)
        tokens = int(batch["mask"].sum())
        on_step = stage == "train"
        self.log(f"{stage}/loss", loss, on_step=on_step, on_epoch=True, prog_bar=True, batch_size=tokens)
        self.log(f"{stage}/acc", accuracy, on_step=False, on_epoch=True, prog_bar=True)
        return loss

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        return self._shared_step(batch, "train")

    def on_train_epoch_end(self) -> None:
        # logged here rather than by LearningRateMonitor, which refuses to run without a logger
        self.log("train/lr", self.optimizers().param_groups[0]["lr"])

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        self._shared_step(batch, "val")

    def test_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        self._shared_step(batch, "test")

    def configure_optimizers(self) -> dict:
        if self.optimizer_factory is None:
            raise ValueError("this TaggingTask was built for evaluation: pass optimizer=... to train it")
        optimizer = self.optimizer_factory(params=self.parameters())
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
        if getattr(self.trainer.precision_plugin, "scaler", None) is not None or not gradient_clip_val:
            super().configure_gradient_clipping(optimizer, gradient_clip_val, gradient_clip_algorithm)
        elif gradient_clip_algorithm in (None, "norm"):
            torch.nn.utils.clip_grad_norm_(self.parameters(), gradient_clip_val)
        else:
            torch.nn.utils.clip_grad_value_(self.parameters(), gradient_clip_val)

    def model_payload(self) -> dict:
        """What a saved model needs to be used without this run's config: network config and vocabularies."""
        return model_payload(TAGGER_KIND, self.net.config_dict(), self.vocabs.to_dict())

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["lstmlab"] = self.model_payload()
        # dropout's random state, so a resumed run continues exactly where an uninterrupted one would
        checkpoint["lstmlab_rng"] = torch.get_rng_state()

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        if "lstmlab_rng" in checkpoint:
            torch.set_rng_state(checkpoint["lstmlab_rng"])
