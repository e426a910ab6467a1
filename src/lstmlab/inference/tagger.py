"""Tag text with a trained model in two lines: `Tagger.load(path)`, `tagger.predict(sentences)`."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator, Sequence

import torch

from lstmlab.data.tagging.split import TaggedSplit
from lstmlab.inference import cpu_streams
from lstmlab.inference.trained_model import TrainedModel
from lstmlab.models.bilstm_tagger import BiLSTMTagger
from lstmlab.runtime.tagged_sentence import TaggedSentence
from lstmlab.runtime.tagger import Tagger as OnnxTagger
from lstmlab.runtime.text_pipeline import Chunk, Sentence, by_length, check_sentence, in_input_order
from lstmlab.utils.cpu import bf16_autocast


class Tagger(TrainedModel):
    network_type = BiLSTMTagger
    exported_type = OnnxTagger

    @property
    def tags(self) -> list[str]:
        return list(self.vocabs.labels.itos)

    @torch.inference_mode()
    def predict(self, sentences: Sentence | Sequence[Sentence], batch_size: int = 256, bf16: bool = False
                ) -> TaggedSentence | list[TaggedSentence]:
        """Tag raw strings (split by the rule of the model's language, `tokens_of`) or lists of tokens.

        A single string returns one TaggedSentence; a list returns a list, in input order (batches are
        formed by length internally, and results do not depend on which sentences share a batch). `bf16` runs the
        network in bfloat16 (GPUs, CPUs with AVX-512 bf16 or AMX; refused elsewhere) and decodes its scores in
        float32: faster, with nearly all tags the same. The text work runs beside the network (`text_pipeline`).
        """
        single = isinstance(sentences, str)
        items = [sentences] if single else list(sentences)
        for position, sentence in enumerate(items):
            check_sentence(sentence, position, "tag")
        results = in_input_order(items, range(len(items)), lambda chunks: self.predict_chunks(chunks, batch_size, bf16))
        return results[0] if single else results

    @torch.inference_mode()
    def predict_chunks(self, chunks: Iterable[Chunk], batch_size: int = 256, bf16: bool = False,
                       split: Callable[[Sentence], list[str]] | None = None
                       ) -> Iterator[tuple[Chunk, list[TaggedSentence]]]:
        """(chunk, its TaggedSentences in the chunk's order) for each chunk of sentences, which may be read lazily
        (from a file: `lstmlab-tag`). Reading, `split` (the tokenizer; default `tokens_of`), lookup and padding run
        beside the network
        (`text_pipeline.pipelined`), so an error there (an empty sentence) reaches the caller. Never sharded: under
        a process group too, every sentence given is tagged."""
        device = next(self.net.parameters()).device

        def run(batch: tuple[list[int], list[list[str]], dict[str, torch.Tensor]]
                ) -> list[tuple[int, TaggedSentence]]:
            rows, token_lists, padded = batch
            mask = padded["mask"].to(device)
            with bf16_autocast(device, bf16):
                emissions = self.net(padded["words"].to(device), padded["chars"].to(device), mask)
            predicted = self.net.decode(emissions.float(), mask).tolist()
            return [(row, TaggedSentence(tokens, self.vocabs.labels.decode(tags[: len(tokens)])))
                    for row, tokens, tags in zip(rows, token_lists, predicted, strict=True)]

        prepare = functools.partial(self._padded_batches, batch_size=batch_size, split=split or self.tokens_of)
        for chunk, results in cpu_streams.pipelined(chunks, prepare, run, device):
            tagged: list[TaggedSentence | None] = [None] * len(chunk)
            for batch_tagged in results:
                for row, sentence in batch_tagged:
                    tagged[row] = sentence
            yield chunk, tagged

    def _padded_batches(self, chunk: Chunk, batch_size: int, split: Callable[[Sentence], list[str]]
                        ) -> list[tuple[list[int], list[list[str]], dict[str, torch.Tensor]]]:
        """The text work on one chunk: (rows of the chunk, their tokens, padded batch) per batch, by length."""
        token_lists = [split(sentence) for sentence in chunk]
        encoded = TaggedSplit.from_token_lists(token_lists, self.vocabs)
        return [(rows, [token_lists[r] for r in rows], encoded.__getitems__(rows))
                for rows in by_length(encoded.lengths, batch_size)]
