"""Tag text with a trained model in two lines: `Tagger.load(path)`, `tagger.predict(sentences)`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from lstmlab.data.batching import BucketBatchSampler, EpochSampler, collate_sentences
from lstmlab.data.tagging_vocabs import TaggingVocabs
from lstmlab.data.tokenize import tokenize
from lstmlab.models.bilstm_tagger import BiLSTMTagger, TaggerConfig
from lstmlab.serialization import TAGGER_KIND, load_model_file


@dataclass
class TaggedSentence:
    tokens: list[str]
    tags: list[str]

    def __iter__(self):
        return iter(zip(self.tokens, self.tags, strict=True))


class Tagger:
    def __init__(self, net: BiLSTMTagger, vocabs: TaggingVocabs) -> None:
        self.net = net.eval()
        self.vocabs = vocabs

    @classmethod
    def load(cls, path: str | Path, device: str = "cpu") -> Tagger:
        """From a run directory, an export folder or a `.ckpt` file (read with weights_only=True)."""
        payload, state = load_model_file(path, TAGGER_KIND)
        net = BiLSTMTagger(TaggerConfig(**payload["net_config"]))
        net.load_state_dict(state)
        return cls(net.to(device), TaggingVocabs.from_dict(payload["vocabs"]))

    @property
    def tags(self) -> list[str]:
        return list(self.vocabs.tags.itos)

    @torch.inference_mode()
    def predict(
        self, sentences: str | Sequence[str] | Sequence[Sequence[str]], batch_size: int = 256
    ) -> TaggedSentence | list[TaggedSentence]:
        """Tag raw strings (tokenized by `lstmlab.data.tokenize`) or lists of tokens.

        A single string returns one TaggedSentence; a list returns a list, in input order (batches are
        formed by length internally, and results do not depend on which sentences share a batch).
        """
        single = isinstance(sentences, str)
        token_lists = [tokenize(s) if isinstance(s, str) else list(s) for s in ([sentences] if single else sentences)]
        for position, tokens in enumerate(token_lists):
            if not tokens:
                raise ValueError(f"sentence {position} is empty: there is nothing to tag")
        results: list[TaggedSentence | None] = [None] * len(token_lists)
        device = next(self.net.parameters()).device
        by_length = BucketBatchSampler(EpochSampler(len(token_lists), shuffle=False),
                                       [len(t) for t in token_lists], batch_size)
        for batch_indices in by_length:
            batch = collate_sentences([self.vocabs.encode(token_lists[i]) for i in batch_indices])
            mask = batch["mask"].to(device)
            predicted = self.net.decode(self.net(batch["words"].to(device), batch["chars"].to(device), mask), mask)
            for row, index in enumerate(batch_indices):
                tags = self.vocabs.tags.decode(predicted[row, : len(token_lists[index])].tolist())
                results[index] = TaggedSentence(token_lists[index], tags)
        return results[0] if single else results
