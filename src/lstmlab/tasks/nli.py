"""Natural language inference: train a sentence encoder through a 3-way classifier over sentence pairs."""

from __future__ import annotations

import torch

from lstmlab.data.nli.datamodule import NLIDataModule
from lstmlab.models.nli_classifier import NLIClassifier
from lstmlab.tasks.classification import ClassificationTask


class NLITask(ClassificationTask):
    kind = NLIClassifier.kind
    network_type = NLIClassifier
    datamodule_type = NLIDataModule
    example_data = "snli_devtrain"

    def usage_hint(self, run_dir: str) -> str:
        return f"lstmlab-embed --model {run_dir} sentences.txt -o embeddings.npy"

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.net(batch["premise_words"], batch["premise_mask"], batch["hypothesis_words"],
                        batch["hypothesis_mask"])
