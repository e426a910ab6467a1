"""Sentence classification: one label per token sequence (SST-2, MR, TREC, the long-memory task). NLI is the
same task over sentence pairs (`tasks.nli`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import torch
from torch import nn
from torchmetrics.classification import MulticlassAccuracy, MulticlassConfusionMatrix

from lstmlab.data.classification.datamodule import ClassificationDataModule
from lstmlab.data.datamodule import TextDataModule
from lstmlab.data.vocab.text_vocabs import TextVocabs
from lstmlab.io.model_card import CardDetails
from lstmlab.models.sequence_classifier import SequenceClassifier
from lstmlab.tasks.base import Task


class ClassificationTask(Task):
    kind = SequenceClassifier.kind
    network_type: ClassVar[type[nn.Module]] = SequenceClassifier
    datamodule_type = ClassificationDataModule
    example_data = "sst2"
    card = CardDetails("sentence classifier", ("text-classification",), "text-classification", "text-classification",
                       'from lstmlab.tasks import load_task\nclassifier = load_task("{model}")',
                       "lstmlab-eval ckpt_path={model} data=...")

    def __init__(self, net: nn.Module, vocabs: TextVocabs, **options: Any) -> None:
        super().__init__(net, vocabs, **options)
        classes = len(vocabs.labels)
        # one metric instance per stage; inputs are ids the network made, so per-update checks are skipped
        self.train_acc, self.val_acc, self.test_acc = (
            MulticlassAccuracy(classes, average="micro", validate_args=False) for _ in range(3)
        )
        self.test_confusion = MulticlassConfusionMatrix(classes, validate_args=False)

    @classmethod
    def build(cls, datamodule: TextDataModule, net: Callable[..., nn.Module], **options: Any) -> ClassificationTask:
        vocabs = datamodule.vocabs
        network = net(num_words=len(vocabs.words), num_classes=len(vocabs.labels),
                      trainable_words=datamodule.trainable_words)
        pretrained = datamodule.pretrained_rows()
        if pretrained is not None:
            network.load_pretrained(*pretrained)
        return cls(network, vocabs, **options)

    @classmethod
    def from_payload(cls, payload: dict, state: dict[str, torch.Tensor]) -> ClassificationTask:
        return cls(cls.network_type.from_saved(payload["net_config"], state), TextVocabs.from_dict(payload["vocabs"]))

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.net(batch["words"], batch["mask"])

    def _shared_step(self, batch: dict[str, torch.Tensor], stage: str) -> torch.Tensor:
        scores = self(batch)
        loss = self.net.loss(scores, batch["labels"])
        predicted = scores.argmax(dim=-1)
        accuracy = getattr(self, f"{stage}_acc")
        accuracy(predicted, batch["labels"])
        if stage == "test":
            self.test_confusion(predicted, batch["labels"])
        items = len(batch["labels"])
        self.log(f"{stage}/loss", loss, on_step=stage == "train", on_epoch=True, prog_bar=True, batch_size=items)
        self.log(f"{stage}/acc", accuracy, on_step=False, on_epoch=True, prog_bar=True, batch_size=items)
        return loss
