"""`Elmo` over an ONNX export of a biLM: the calls of `lstmlab.inference.Elmo`, numpy and ONNX Runtime underneath;
layers come back as numpy arrays."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TypeVar

from lstmlab.runtime.elmo_output import ElmoOutput
from lstmlab.runtime.onnx_folder import ExportedModel, OnnxModel, check_cpu_only
from lstmlab.runtime.text_pipeline import by_length, check_token_lists

Item = TypeVar("Item")


class Elmo(ExportedModel):
    kind = "bilm"

    def __init__(self, model: OnnxModel) -> None:
        super().__init__(model)
        self.dim: int = model.manifest["dim"]
        self.num_layers: int = model.manifest["num_layers"]
        self.max_sentence_length: int = model.net_config["max_sentence_length"]
        # the graph reads words at least as wide as the sentence boundary token
        self.min_chars = max(1, len(model.net_config["boundary_chars"]))


    def check(self, sentences: Sequence[Sequence[str]], first: int = 0) -> list[list[str]]:
        return check_token_lists(sentences, first, self.max_sentence_length)

    def __call__(self, sentences: Sequence[Sequence[str]], bf16: bool = False) -> ElmoOutput:
        """Representations of one batch of tokenized sentences, padded to the longest, float32 numpy arrays."""
        check_cpu_only("cpu", bf16)
        token_lists = self.check(sentences)
        if not token_lists:
            raise ValueError("no sentences given")
        return self._represent(token_lists)

    def represent_chunks(self, chunks: Iterable[Sequence[Item]], batch_size: int = 64, bf16: bool = False,
                         split: Callable[[Item], Sequence[str]] = list) -> Iterator[tuple[list[Item], ElmoOutput]]:
        """(its items, their ElmoOutput) per batch of each chunk, batches of similar lengths, longest first."""
        check_cpu_only("cpu", bf16)
        seen = 0
        for chunk in chunks:
            token_lists = self.check([split(item) for item in chunk], first=seen)
            seen += len(chunk)
            for rows in by_length([len(tokens) for tokens in token_lists], batch_size):
                yield [chunk[r] for r in rows], self._represent([token_lists[r] for r in rows])

    def _represent(self, token_lists: list[list[str]]) -> ElmoOutput:
        encoded = self.vocabs.encode_tokens(token_lists)
        unknown_chars = encoded.tokens_where(encoded.forms_with_char(self.vocabs.chars.unk_index))
        padded = encoded.padded_arrays(range(len(token_lists)), min_chars=self.min_chars)
        layers = self.model.run(chars=padded["chars"], mask=padded["mask"])[0]
        return ElmoOutput(layers, padded["mask"], unknown_chars)
