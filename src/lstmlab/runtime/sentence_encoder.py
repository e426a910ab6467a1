"""`SentenceEncoder` over an ONNX export: the calls of `lstmlab.inference.SentenceEncoder` (sentence-transformers'
`encode`), numpy and ONNX Runtime underneath; vectors come back as numpy arrays."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence

import numpy as np

from lstmlab.runtime.onnx_folder import ExportedModel, OnnxModel, check_cpu_only
from lstmlab.runtime.text_pipeline import (
    Chunk,
    Sentence,
    by_length,
    is_empty,
    longest_first_chunks,
    pipelined,
    sentences_to_encode,
)

Sentences = str | Sequence[str] | Sequence[Sequence[str]]


def normalized(vectors: np.ndarray) -> np.ndarray:
    """Each row scaled to unit L2 length (a zero row stays zero), as torch's F.normalize."""
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


class SentenceEncoder(ExportedModel):
    kind = "nli"

    def __init__(self, model: OnnxModel) -> None:
        super().__init__(model)
        self.dim: int = model.manifest["dim"]


    def encode(self, sentences: Sentences, batch_size: int = 64, show_progress_bar: bool = False,
               convert_to_numpy: bool = True, normalize_embeddings: bool = False, allow_empty: bool = False,
               bf16: bool = False) -> np.ndarray:
        """Vectors [N, dim] (float32, numpy) in input order; a single string gives one vector [dim]. As PyTorch's
        `encode`: strings are tokenized, token lists taken as they are, an empty sentence is an error unless
        `allow_empty` (a zero vector)."""
        check_cpu_only("cpu", bf16)
        single = isinstance(sentences, str)
        items = [sentences] if single else list(sentences)
        output = np.zeros((len(items), self.dim), dtype=np.float32)
        chunks = longest_first_chunks(items, sentences_to_encode(items, allow_empty))
        encoded = self.encode_chunks(([items[p] for p in chunk] for chunk in chunks), batch_size,
                                     normalize=normalize_embeddings)
        for chunk, (_, vectors) in zip(chunks, encoded, strict=True):
            output[chunk] = vectors
        return output[0] if single else output

    def encode_chunks(self, chunks: Iterable[Chunk], batch_size: int = 64, bf16: bool = False,
                      split: Callable[[Sentence], list[str]] | None = None, normalize: bool = False
                      ) -> Iterator[tuple[Chunk, np.ndarray]]:
        """(chunk, its vectors [len(chunk), dim] in the chunk's order; an empty sentence's are zeros) for each chunk
        of sentences, which may be read lazily (from a file: `lstmlab-embed`); `split` gives a sentence's tokens
        (default `tokens_of`)."""
        check_cpu_only("cpu", bf16)
        split = split or self.tokens_of

        def prepare(chunk: Chunk) -> list[tuple[list[int], dict[str, np.ndarray]]]:
            present = [row for row, sentence in enumerate(chunk) if not is_empty(sentence)]
            encoded = self.vocabs.encode_tokens((split(chunk[row]) for row in present), with_chars=False)
            return [([present[r] for r in rows], encoded.padded_arrays(rows, with_chars=False))
                    for rows in by_length(encoded.lengths, batch_size)]

        def run(batch: tuple[list[int], dict[str, np.ndarray]]) -> tuple[list[int], np.ndarray]:
            rows, padded = batch
            return rows, self.model.run(**padded)[0]

        for chunk, results in pipelined(chunks, prepare, run, "inline"):
            vectors = np.zeros((len(chunk), self.dim), dtype=np.float32)
            for rows, batch_vectors in results:
                vectors[rows] = batch_vectors
            yield chunk, normalized(vectors) if normalize else vectors
