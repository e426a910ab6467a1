"""Natural language inference: train a sentence encoder through a 3-way classifier over sentence pairs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torchmetrics.classification import MulticlassAccuracy, MulticlassConfusionMatrix

from lstmlab.data.nli_datamodule import NLIDataModule
from lstmlab.data.text_vocabs import TextVocabs
from lstmlab.models.nli_classifier import NLIClassifier
from lstmlab.tasks.base import Task


class NLITask(Task):
    kind = NLIClassifier.kind
    datamodule_type = NLIDataModule
    example_data = "snli_devtrain"

    def __init__(self, net: NLIClassifier, vocabs: TextVocabs, **options: Any) -> None:
        super().__init__(net, vocabs, **options)
        classes = len(vocabs.labels)
        # one metric instance per stage; inputs are ids the network made, so per-update checks are skipped
        self.train_acc, self.val_acc, self.test_acc = (
            MulticlassAccuracy(classes, average="micro", validate_args=False) for _ in range(3)
        )
        self.test_confusion = MulticlassConfusionMatrix(classes, validate_args=False)

    @classmethod
    def build(cls, datamodule: NLIDataModule, net: Callable[..., NLIClassifier], **options: Any) -> NLITask:
        vocabs = datamodule.vocabs
        network = net(num_words=len(vocabs.words), num_classes=len(vocabs.labels),
                      trainable_words=datamodule.trainable_words)
        pretrained = datamodule.pretrained_rows()
        if pretrained is not None:
            network.load_pretrained(*pretrained)
        return cls(network, vocabs, **options)

    @classmethod
    def from_payload(cls, payload: dict, state: dict[str, torch.Tensor]) -> NLITask:
        return cls(NLIClassifier.from_saved(payload["net_config"], state), TextVocabs.from_dict(payload["vocabs"]))

    def usage_hint(self, run_dir: str) -> str:
        return f"lstmlab-embed --model {run_dir} sentences.txt -o embeddings.npy"

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.net(batch["premise_words"], batch["premise_mask"], batch["hypothesis_words"],
                        batch["hypothesis_mask"])

    def _shared_step(self, batch: dict[str, torch.Tensor], stage: str) -> torch.Tensor:
        scores = self(batch)
        loss = self.net.loss(scores, batch["labels"])
        predicted = scores.argmax(dim=-1)
        accuracy = getattr(self, f"{stage}_acc")
        accuracy(predicted, batch["labels"])
        if stage == "test":
            self.test_confusion(predicted, batch["labels"])
        pairs = len(batch["labels"])
        self.log(f"{stage}/loss", loss, on_step=stage == "train", on_epoch=True, prog_bar=True, batch_size=pairs)
        self.log(f"{stage}/acc", accuracy, on_step=False, on_epoch=True, prog_bar=True, batch_size=pairs)
        return loss
