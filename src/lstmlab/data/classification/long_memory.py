"""The long-term-dependency task (after Hochreiter & Schmidhuber 1997): remember a few symbols across a long
stretch of irrelevant ones, and name them at the end.

A sequence is `memory_length` symbols drawn from `num_symbols` memory symbols (m0, m1, ...), then `lag` noise
symbols drawn from `num_noise_symbols` others (x0, x1, ...), then the query `?`. The label is the memorised
symbols in order ("m3 m0"), one of num_symbols ** memory_length classes, so chance is 1 / that. Nothing between
the memory and the query carries information: a model answers right only by carrying the memory over `lag` steps.
Sequences are generated when the data module is set up, from the run's seed (train, validation) or a fixed
`test_seed` (test: the same sequences for every run and seed); no file is read or written.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from lstmlab.data.batching.ragged import Ragged
from lstmlab.data.classification.datamodule import ClassificationDataModule
from lstmlab.data.classification.labelled_sentences import LabelledSentences
from lstmlab.data.vocab.text_vocabs import EncodedTokens, TextVocabs
from lstmlab.data.vocab.vocab import Vocab

QUERY = "?"


def long_memory_vocabs(num_symbols: int, num_noise_symbols: int, memory_length: int) -> TextVocabs:
    symbols = [f"m{i}" for i in range(num_symbols)] + [f"x{i}" for i in range(num_noise_symbols)] + [QUERY]
    classes = [" ".join(combo) for combo in itertools.product(symbols[:num_symbols], repeat=memory_length)]
    return TextVocabs(words=Vocab(["<pad>", "<unk>", *symbols]), chars=Vocab(["<pad>", "<unk>"]),
                      labels=Vocab(classes, pad=None, unk=None), lowercase=False)


def generate_sequences(
    count: int, lag: int, memory_length: int, num_symbols: int, num_noise_symbols: int, seed: int | list[int],
) -> tuple[np.ndarray, np.ndarray]:
    """(symbol ids [count, memory_length + lag + 1] into the symbol list m*, x*, ?; class ids [count])."""
    rng = np.random.default_rng(seed)
    memory = rng.integers(num_symbols, size=(count, memory_length))
    noise = num_symbols + rng.integers(num_noise_symbols, size=(count, lag))
    query = np.full((count, 1), num_symbols + num_noise_symbols)
    labels = memory @ (num_symbols ** np.arange(memory_length - 1, -1, -1))  # itertools.product's order
    return np.concatenate([memory, noise, query], axis=1), labels


class LongMemoryDataModule(ClassificationDataModule):
    """Generated sequences as `LabelledSentences`, so the sequence classifier reads them as it reads sentences
    (and `lstmlab-eval` tests a trained model on them). Batching, sharding and resuming are TextDataModule's."""

    def __init__(
        self,
        *,
        lag: int = 100,
        memory_length: int = 2,
        num_symbols: int = 4,
        num_noise_symbols: int = 4,
        train_size: int = 20_000,
        val_size: int = 1_000,
        test_size: int = 2_000,
        test_seed: int = 0,
        **options: Any,
    ) -> None:
        super().__init__(lowercase=False, **options)
        if lag < 0 or memory_length < 1 or num_symbols < 2 or num_noise_symbols < 1:
            raise ValueError(f"long memory needs lag >= 0, memory_length >= 1, num_symbols >= 2 and "
                             f"num_noise_symbols >= 1; got {lag}, {memory_length}, {num_symbols}, {num_noise_symbols}")
        self.shape = {"lag": lag, "memory_length": memory_length, "num_symbols": num_symbols,
                      "num_noise_symbols": num_noise_symbols}
        self.sizes = {"train": train_size, "val": val_size, "test": test_size}
        self.seeds = {"train": [self.seed, 0], "val": [self.seed, 1], "test": [test_seed, 2]}

    def setup(self, stage: str | None = None) -> None:
        if self.vocabs is None:
            self.vocabs = long_memory_vocabs(self.shape["num_symbols"], self.shape["num_noise_symbols"],
                                             self.shape["memory_length"])
            self.trainable_words = len(self.vocabs.words)
        needed = {"fit": ("train", "val"), "validate": ("val",), "test": ("test",), "predict": ("test",)}
        for split in needed.get(stage or "", ("train", "val", "test")):
            if split not in self.splits:
                self._store(split, self.generate(split))

    def generate(self, split: str) -> LabelledSentences:
        symbols, labels = generate_sequences(self.sizes[split], seed=self.seeds[split], **self.shape)
        count, steps = symbols.shape
        num_forms = len(self.vocabs.words) - 2  # the symbols are the form table; word id = form id + 2
        encoded = EncodedTokens(
            forms=Ragged(symbols.astype(np.int32).ravel(), np.arange(count + 1, dtype=np.int64) * steps),
            form_words=np.arange(2, num_forms + 2, dtype=np.int32),
            form_chars=Ragged.empty_rows(num_forms),
        )
        return LabelledSentences(encoded, labels)
