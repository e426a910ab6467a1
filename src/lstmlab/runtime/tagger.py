"""`Tagger` over an ONNX export: the calls of `lstmlab.inference.Tagger`, numpy and ONNX Runtime underneath. The
graph computes the tag scores; the argmax, or a CRF's Viterbi decoding (`viterbi`), runs here in numpy."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence

import numpy as np

from lstmlab.runtime.onnx_folder import ExportedModel, OnnxModel, check_cpu_only
from lstmlab.runtime.tagged_sentence import TaggedSentence
from lstmlab.runtime.text_pipeline import (
    Chunk,
    Sentence,
    by_length,
    check_sentence,
    in_input_order,
    pipelined,
)
from lstmlab.runtime.viterbi import viterbi

Batch = tuple[list[int], list[list[str]], dict[str, np.ndarray]]


class Tagger(ExportedModel):
    kind = "tagger"

    def __init__(self, model: OnnxModel) -> None:
        super().__init__(model)
        crf = model.manifest.get("crf")
        self.crf = None if crf is None else {name: np.asarray(crf[name], dtype=np.float32) for name in crf}


    @property
    def tags(self) -> list[str]:
        return list(self.vocabs.labels.itos)

    def predict(self, sentences: Sentence | Sequence[Sentence], batch_size: int = 256, bf16: bool = False
                ) -> TaggedSentence | list[TaggedSentence]:
        """Tag raw strings (split by the rule of the model's language, `tokens_of`) or lists of tokens: one
        TaggedSentence for a string, a list in input order for a list."""
        check_cpu_only("cpu", bf16)
        single = isinstance(sentences, str)
        items = [sentences] if single else list(sentences)
        for position, sentence in enumerate(items):
            check_sentence(sentence, position, "tag")
        results = in_input_order(items, range(len(items)), lambda chunks: self.predict_chunks(chunks, batch_size))
        return results[0] if single else results

    def predict_chunks(self, chunks: Iterable[Chunk], batch_size: int = 256, bf16: bool = False,
                       split: Callable[[Sentence], list[str]] | None = None
                       ) -> Iterator[tuple[Chunk, list[TaggedSentence]]]:
        """(chunk, its TaggedSentences in the chunk's order) for each chunk of sentences, which may be read lazily
        (from a file: `lstmlab-tag`); `split` gives a sentence's tokens (default `tokens_of`)."""
        check_cpu_only("cpu", bf16)
        split = split or self.tokens_of

        def prepare(chunk: Chunk) -> list[Batch]:
            token_lists = [split(sentence) for sentence in chunk]
            encoded = self.vocabs.encode_tokens(token_lists)
            return [(rows, [token_lists[r] for r in rows], encoded.padded_arrays(rows))
                    for rows in by_length(encoded.lengths, batch_size)]

        for chunk, results in pipelined(chunks, prepare, self._tag_batch, "inline"):
            tagged: list[TaggedSentence | None] = [None] * len(chunk)
            for rows, sentences in results:
                for row, sentence in zip(rows, sentences, strict=True):
                    tagged[row] = sentence
            yield chunk, tagged

    def tag_ids(self, padded: dict[str, np.ndarray]) -> np.ndarray:
        """Best tag ids [B, T] of a padded batch (0 outside the mask)."""
        emissions = self.model.run(**padded)[0]
        if self.crf is None:
            return np.where(padded["mask"], emissions.argmax(axis=-1), 0)
        return viterbi(emissions, padded["mask"], self.crf["transitions"], self.crf["start"], self.crf["end"])

    def _tag_batch(self, batch: Batch) -> tuple[list[int], list[TaggedSentence]]:
        rows, token_lists, padded = batch
        ids = self.tag_ids(padded).tolist()
        return rows, [TaggedSentence(tokens, self.vocabs.labels.decode(tags[: len(tokens)]))
                      for tokens, tags in zip(token_lists, ids, strict=True)]
