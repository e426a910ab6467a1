"""Tag text with a trained model in two lines: `Tagger.load(path)`, `tagger.predict(sentences)`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from lstmlab.data.batching import BucketBatchSampler, EpochSampler
from lstmlab.data.tagging_split import TaggedSplit
from lstmlab.data.text_vocabs import TextVocabs
from lstmlab.data.tokenize import tokenize
from lstmlab.io.model_folder import load_model_file
from lstmlab.models.bilstm_tagger import BiLSTMTagger
from lstmlab.utils.cpu import bf16_autocast


@dataclass
class TaggedSentence:
    tokens: list[str]
    tags: list[str]

    def __iter__(self):
        return iter(zip(self.tokens, self.tags, strict=True))


class Tagger:
    def __init__(self, net: BiLSTMTagger, vocabs: TextVocabs) -> None:
        self.net = net.eval()
        self.vocabs = vocabs

    @classmethod
    def load(cls, path: str | Path, device: str = "cpu") -> Tagger:
        """From a run directory, an export folder or a `.ckpt` file (read with weights_only=True)."""
        payload, state = load_model_file(path, BiLSTMTagger.kind)
        net = BiLSTMTagger.from_saved(payload["net_config"], state)
        return cls(net.to(device), TextVocabs.from_dict(payload["vocabs"]))

    @property
    def tags(self) -> list[str]:
        return list(self.vocabs.labels.itos)

    @torch.inference_mode()
    def predict(
        self, sentences: str | Sequence[str] | Sequence[Sequence[str]], batch_size: int = 256, bf16: bool = False
    ) -> TaggedSentence | list[TaggedSentence]:
        """Tag raw strings (tokenized by `lstmlab.data.tokenize`) or lists of tokens.

        A single string returns one TaggedSentence; a list returns a list, in input order (batches are
        formed by length internally, and results do not depend on which sentences share a batch). `bf16` runs the
        network in bfloat16 (GPUs, CPUs with AVX-512 bf16 or AMX; refused elsewhere) and decodes its scores in
        float32: faster, with nearly all tags the same.
        """
        single = isinstance(sentences, str)
        token_lists = [tokenize(s) if isinstance(s, str) else list(s) for s in ([sentences] if single else sentences)]
        for position, tokens in enumerate(token_lists):
            if not tokens:
                raise ValueError(f"sentence {position} is empty: there is nothing to tag")
        results: list[TaggedSentence | None] = [None] * len(token_lists)
        device = next(self.net.parameters()).device
        encoded = TaggedSplit.from_token_lists(token_lists, self.vocabs)
        # never sharded: under a process group too, every sentence given is tagged
        by_length = BucketBatchSampler(EpochSampler(len(token_lists), shuffle=False), encoded.lengths, batch_size)
        for batch_indices in by_length:
            batch = encoded.__getitems__(batch_indices)
            mask = batch["mask"].to(device)
            with bf16_autocast(device, bf16):
                emissions = self.net(batch["words"].to(device), batch["chars"].to(device), mask)
            predicted = self.net.decode(emissions.float(), mask)
            for row, index in enumerate(batch_indices):
                tags = self.vocabs.labels.decode(predicted[row, : len(token_lists[index])].tolist())
                results[index] = TaggedSentence(token_lists[index], tags)
        return results[0] if single else results
