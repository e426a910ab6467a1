"""Natural language inference: train a sentence encoder through a 3-way classifier over sentence pairs."""

from __future__ import annotations

import torch

from lstmlab.data.nli.datamodule import NLIDataModule
from lstmlab.io.model_card import CardDetails
from lstmlab.io.st_files import sentence_transformers_files
from lstmlab.models.nli_classifier import NLIClassifier
from lstmlab.tasks.classification import ClassificationTask


class NLITask(ClassificationTask):
    kind = NLIClassifier.kind
    network_type = NLIClassifier
    datamodule_type = NLIDataModule
    example_data = "snli_devtrain"

    card = CardDetails(
        "sentence encoder trained on natural language inference",
        ("sentence-embeddings", "sentence-similarity", "feature-extraction", "natural-language-inference"),
        "sentence-similarity", "text-classification",
        'from lstmlab import SentenceEncoder\nencoder = SentenceEncoder.load("{model}")\n'
        'vectors = encoder.encode(["A man is playing a guitar.", "Nobody plays."])',
        "lstmlab-embed --model {model} sentences.txt -o embeddings.npy")

    @classmethod
    def export_files(cls, payload: dict) -> dict[str, str]:
        """The sentence-transformers files: an NLI encoder's export is a sentence-transformers folder too (they need
        no sentence-transformers where the model is trained)."""
        return sentence_transformers_files(payload)

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.net(batch["premise_words"], batch["premise_mask"], batch["hypothesis_words"],
                        batch["hypothesis_mask"])
