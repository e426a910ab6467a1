"""Contextual word representations from a trained biLM in two lines, like allennlp's `Elmo`:

    elmo = Elmo.load("logs/bilm_ptb/runs/<ts>")
    output = elmo([["The", "cat", "sat", "."], ["Hello", "!"]])   # output.layers [3, 2, 4, 600], output.mask [2, 4]

Inference is stateless and deterministic: each sentence is read on its own (from the sentence boundary token, as
between sentences in training), so its vectors do not depend on what came before it or on its batch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TypeVar

import torch

from lstmlab.inference import cpu_streams
from lstmlab.inference.trained_model import TrainedModel
from lstmlab.models.bilm import BiLanguageModel
from lstmlab.runtime.elmo import Elmo as OnnxElmo
from lstmlab.runtime.elmo_output import ElmoOutput
from lstmlab.runtime.text_pipeline import ahead, by_length, check_token_lists
from lstmlab.utils.cpu import bf16_autocast

Item = TypeVar("Item")


class Elmo(TrainedModel):
    network_type = BiLanguageModel
    exported_type = OnnxElmo

    @property
    def dim(self) -> int:
        return self.net.output_dim

    @property
    def num_layers(self) -> int:
        return self.net.num_output_layers

    @property
    def max_sentence_length(self) -> int:
        return self.net.config.max_sentence_length

    def check(self, sentences: Sequence[Sequence[str]], first: int = 0) -> list[list[str]]:
        """Token lists as given, or a ValueError that names the first bad sentence (counted from `first`) and what
        was expected."""
        return check_token_lists(sentences, first, self.max_sentence_length)

    @torch.inference_mode()
    def __call__(self, sentences: Sequence[Sequence[str]], bf16: bool = False) -> ElmoOutput:
        """Representations of one batch of tokenized sentences, padded to the longest, in float32. `bf16` computes
        in bfloat16 (GPUs, CPUs with AVX-512 bf16 or AMX; refused elsewhere): faster, vectors within ~1e-2."""
        token_lists = self.check(sentences)
        if not token_lists:
            raise ValueError("no sentences given")
        return self._represent(*self._padded(token_lists), bf16)

    @torch.inference_mode()
    def represent_chunks(self, chunks: Iterable[Sequence[Item]], batch_size: int = 64, bf16: bool = False,
                         split: Callable[[Item], Sequence[str]] = list) -> Iterator[tuple[list[Item], ElmoOutput]]:
        """(its items, their ElmoOutput) per batch of each chunk of items, `split` giving an item's tokens; within a
        chunk, batches of similar lengths, longest first (each later batch fits in memory that an earlier one
        freed). Chunks may be read lazily (from a file: `lstmlab-elmo`): reading, `split`, lookup and padding of
        the next chunks run in a background thread beside a GPU network (`text_pipeline.ahead`), and an error
        there reaches the caller; a bad sentence is a ValueError that counts it from the first chunk's first item."""
        seen = 0

        def padded_batches(chunk: Sequence[Item]) -> list[tuple[list[Item], dict[str, torch.Tensor], int]]:
            nonlocal seen
            token_lists = self.check([split(item) for item in chunk], first=seen)
            seen += len(chunk)
            batches = by_length([len(tokens) for tokens in token_lists], batch_size)
            return [([chunk[r] for r in rows], *self._padded([token_lists[r] for r in rows])) for rows in batches]

        device = next(self.net.parameters()).device
        for batches in ahead((padded_batches(chunk) for chunk in chunks), cpu_streams.mode_for(device)):
            for items, padded, unknown_chars in batches:
                yield items, self._represent(padded, unknown_chars, bf16)

    def _padded(self, token_lists: list[list[str]]) -> tuple[dict[str, torch.Tensor], int]:
        """The text work on one batch: (characters and mask, padded; tokens with characters the model never saw)."""
        encoded = self.vocabs.encode_tokens(token_lists)
        unknown_chars = encoded.tokens_where(encoded.forms_with_char(self.vocabs.chars.unk_index))
        return encoded.padded(range(len(token_lists))), unknown_chars

    def _represent(self, padded: dict[str, torch.Tensor], unknown_chars: int, bf16: bool) -> ElmoOutput:
        device = next(self.net.parameters()).device
        mask = padded["mask"].to(device)
        with bf16_autocast(device, bf16):
            layers = self.net.sentence_layers(padded["chars"].to(device), mask)
        return ElmoOutput(layers.float(), mask, unknown_chars)
