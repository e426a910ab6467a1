"""Sequence tagging: one shared step for train/val/test, torchmetrics per stage, a per-tag report for eval."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torchmetrics.classification import MulticlassAccuracy, MulticlassConfusionMatrix

from lstmlab.data.tagging.datamodule import TaggingDataModule
from lstmlab.data.tagging.split import TAG_PADDING
from lstmlab.data.vocab.text_vocabs import TextVocabs
from lstmlab.data.vocab.vocab import Vocab
from lstmlab.io.model_card import CardDetails
from lstmlab.io.model_folder import load_model_file
from lstmlab.models.bilm import BiLanguageModel
from lstmlab.models.bilstm_tagger import BiLSTMTagger
from lstmlab.tasks.base import Task

POS_COLUMNS = {"upos", "xpos"}  # the CoNLL-U columns that hold parts of speech

class TaggingTask(Task):
    kind = BiLSTMTagger.kind
    datamodule_type = TaggingDataModule
    example_data = "ud_ewt"
    card = CardDetails(
        "BiLSTM sequence tagger", ("token-classification",), "token-classification", "token-classification",
        'from lstmlab import Tagger\ntagger = Tagger.load("{model}")\n'
        'tagger.predict("The quick brown fox jumps over the lazy dog.")',
        "lstmlab-tag --model {model} < raw.txt")

    def __init__(self, net: BiLSTMTagger, vocabs: TextVocabs, **options: Any) -> None:
        super().__init__(net, vocabs, **options)
        num_tags = len(vocabs.labels)
        # one metric instance per stage (a ModuleDict cannot use "train" as a key); inputs are ids the network
        # made, so torchmetrics' per-update argument checks are skipped
        self.train_acc, self.val_acc, self.test_acc = (
            MulticlassAccuracy(num_tags, average="micro", ignore_index=TAG_PADDING, validate_args=False)
            for _ in range(3)
        )
        self.test_confusion = MulticlassConfusionMatrix(num_tags, ignore_index=TAG_PADDING, validate_args=False)

    @classmethod
    def build(cls, datamodule: TaggingDataModule, net: Callable[..., BiLSTMTagger], bilm: str | None = None,
              **options: Any) -> TaggingTask:
        """`bilm`: a trained biLM (run directory, export folder or `.ckpt`) whose frozen layers the tagger reads."""
        vocabs = datamodule.vocabs
        sizes = {"num_words": len(vocabs.words), "num_chars": len(vocabs.chars), "num_tags": len(vocabs.labels),
                 "trainable_words": datamodule.trainable_words,
                 "aux_tags": {column: len(vocab) for column, vocab in datamodule.aux_vocabs.items()}}
        network = net(**sizes) if bilm is None else with_bilm(net, sizes, bilm, vocabs.chars)
        pretrained = datamodule.pretrained_rows()
        if pretrained is not None:
            network.words.load_pretrained(*pretrained)
        return cls(network, vocabs, **options)

    @classmethod
    def from_payload(cls, payload: dict, state: dict[str, torch.Tensor]) -> TaggingTask:
        return cls(BiLSTMTagger.from_saved(payload["net_config"], state), TextVocabs.from_dict(payload["vocabs"]))

    @classmethod
    def extra_card_tags(cls, config: dict) -> list[str]:
        """`pos` for a part-of-speech tagger (UD's UPOS or XPOS column), not for chunks or other tags."""
        return ["pos"] if (config.get("data") or {}).get("tag_column") in POS_COLUMNS else []

    def forward(self, words: torch.Tensor, chars: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.net.decode(self.net(words, chars, mask), mask)

    def _shared_step(self, batch: dict[str, torch.Tensor], stage: str) -> torch.Tensor:
        states = self.net.states(batch["words"], batch["chars"], batch["mask"])
        emissions = self.net.emissions(states)
        loss = self.net.loss(emissions, batch["tags"], batch["mask"])
        if stage == "train" and "aux" in batch:
            aux_loss = self.net.aux_loss(states, batch["aux"])
            self.log("train/aux_loss", aux_loss, on_step=True, on_epoch=True, batch_size=batch["num_tokens"])
            loss = loss + aux_loss
        predicted = self.net.decode(emissions, batch["mask"])
        accuracy = getattr(self, f"{stage}_acc")
        accuracy(predicted, batch["tags"])
        if stage == "test":
            self.test_confusion(predicted, batch["tags"])
        on_step = stage == "train"
        self.log(f"{stage}/loss", loss, on_step=on_step, on_epoch=True, prog_bar=True, batch_size=batch["num_tokens"])
        self.log(f"{stage}/acc", accuracy, on_step=False, on_epoch=True, prog_bar=True)
        return loss


def with_bilm(net: Callable[..., BiLSTMTagger], sizes: dict[str, Any], path: str, chars: Vocab) -> BiLSTMTagger:
    """The network with the biLM at `path` (refused unless it is one) built in, its weights loaded, and the map from
    the tagger's char ids (`chars`) to the biLM's."""
    payload, state = load_model_file(path, BiLanguageModel.kind)
    network = net(**sizes, bilm=payload["net_config"])
    network.bilm.load_state_dict(state)
    network.bilm_chars.copy_(char_id_map(chars, TextVocabs.from_dict(payload["vocabs"]).chars))
    return network


def char_id_map(source: Vocab, target: Vocab) -> torch.Tensor:
    """The `target` id of each `source` char id: padding to padding, a char `target` never saw to its unknown id
    (the tagger's and the biLM's character vocabularies come from different training text)."""
    ids = [target.index(char) for char in source.itos]
    ids[source.pad_index] = target.pad_index
    return torch.tensor(ids, dtype=torch.long)
