"""The data module for language modelling: plain-text files, read as running text in windows (truncated BPTT) or
as separate sentences.

Policies (each counted and logged per split, in `self.report`): empty lines are skipped; a line longer than
`max_sentence_length` tokens is cut into pieces of at most that length in sentence-level mode (running text has
no limit); words outside the vocabulary are predicted as <unk>; characters outside the character vocabulary
get the unknown-character id; characters past `max_word_length` in a word are not read.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import datasets
import numpy as np

from lstmlab.data.batching.arrow_cache import cached_parse
from lstmlab.data.batching.ragged import Ragged
from lstmlab.data.datamodule import TextDataModule
from lstmlab.data.language_model.batches import SentenceSplit, StreamWindows, TextStream, dense_chars
from lstmlab.data.readers.nli import TOKENIZERS
from lstmlab.data.readers.text_corpus import read_text_corpus
from lstmlab.data.readers.treebank import treebank_options
from lstmlab.data.text_files import resolve_data_file
from lstmlab.data.vocab.text_vocabs import EncodedTokens

log = logging.getLogger(__name__)

BOUNDARY = "<eos>"  # between sentences: the LMs predict it, and read it before each sentence
FEATURES = datasets.Features({"tokens": datasets.Sequence(datasets.Value("string")), "file": datasets.Value("string"),
                              "line": datasets.Value("int64")})


def file_list(paths: str | Sequence[str] | None) -> list[str]:
    if not paths:
        return []
    return [str(paths)] if isinstance(paths, str | Path) else [str(p) for p in paths]


class LanguageModelDataModule(TextDataModule):
    """`train_path`, `val_path`, `test_path`: a text file or a list of them (one sentence or document per line;
    plain or gzipped; `encoding`, UTF-8 by default; a CoNLL-U file gives its words). `treebank` (a UD treebank's
    folder or name under `treebanks_dir`, as for tagging) sets the three to its CoNLL-U splits and the language;
    `extra_train_path`: more training text read after train_path (raw text of the language). `tokenizer`:
    whitespace (tokenized text such as PTB), rule (English raw text) or unicode (raw text of any language).
    `window`: tokens per training window; `batch_size` / `eval_batch_size`: parallel rows of running text. Other
    options: TextDataModule (no pretrained vectors: the model reads characters)."""

    def __init__(
        self,
        *,
        train_path: str | Sequence[str] | None = None,
        val_path: str | Sequence[str] | None = None,
        test_path: str | Sequence[str] | None = None,
        extra_train_path: str | Sequence[str] | None = None,
        treebank: str | None = None,
        treebanks_dir: str | None = None,
        tokenizer: str = "whitespace",
        window: int = 35,
        sentence_level: bool = False,
        max_sentence_length: int = 200,
        encoding: str = "utf-8",
        **options: Any,
    ) -> None:
        if tokenizer not in TOKENIZERS:
            raise ValueError(f"data.tokenizer must be one of {tuple(TOKENIZERS)}, got {tokenizer!r}")
        if treebank:
            paths = {"train_path": train_path, "val_path": val_path, "test_path": test_path}
            options = treebank_options(str(treebank), treebanks_dir, None, {**paths, **options})
            train_path, val_path, test_path = (options.pop(name) for name in paths)
        self.files = {"train": file_list(train_path) + file_list(extra_train_path), "val": file_list(val_path),
                      "test": file_list(test_path)}
        names = {f"{split}_path": " + ".join(files) or None for split, files in self.files.items()}
        super().__init__(**names, **options)
        self.tokenizer = tokenizer
        self.window = window
        self.sentence_level = sentence_level
        self.max_sentence_length = max_sentence_length
        self.encoding = encoding
        self.report: dict[str, dict[str, int]] = {}

    def read_split(self, split: str, path: str) -> datasets.Dataset:
        files = [resolve_data_file(f) for f in self.files[split]]
        options = {"files": [str(f) for f in files], "tokenizer": self.tokenizer, "encoding": self.encoding}
        return cached_parse(read_text_corpus, files[0], options, FEATURES, self.cache_dir, files=files)

    def token_rows(self, dataset: datasets.Dataset) -> Iterable[list[str]]:
        yield [BOUNDARY]
        yield from dataset["tokens"]

    def labels(self, dataset: datasets.Dataset) -> None:
        return None

    def _sentences(self, dataset: datasets.Dataset, report: dict[str, int]) -> list[list[str]]:
        sentences = []
        limit = self.max_sentence_length if self.sentence_level else None
        for tokens in dataset["tokens"]:
            if not tokens:
                report["empty_lines"] += 1
            elif limit and len(tokens) > limit:
                report["lines_cut"] += 1
                sentences += [tokens[i : i + limit] for i in range(0, len(tokens), limit)]
            else:
                sentences.append(tokens)
        return sentences

    def encode(self, dataset: datasets.Dataset, where: str) -> TextStream | SentenceSplit:
        report = {"lines": len(dataset), "empty_lines": 0, "lines_cut": 0}
        sentences = self._sentences(dataset, report)
        if not sentences:
            raise ValueError(f"{where}: no text (every line is empty)")
        tail = [] if self.sentence_level else [BOUNDARY]
        encoded = self.vocabs.encode_tokens([[BOUNDARY]] + [tokens + tail for tokens in sentences])  # form 0: BOUNDARY
        self._count_unknowns(encoded, report)
        self.report[where] = report
        log.info("%s: %d lines; skipped %d empty; %d cut at %d tokens; %d tokens predicted as <unk>, %d with "
                 "characters outside the character vocabulary", where, report["lines"], report["empty_lines"],
                 report["lines_cut"], self.max_sentence_length, report["unknown_words"], report["unknown_chars"])
        chars = dense_chars(encoded)
        if not self.sentence_level:
            return TextStream(encoded.forms.values.astype(np.int64), encoded.form_words, chars, len(sentences))
        forms = encoded.forms
        without_first = Ragged(forms.values[1:], forms.offsets[1:] - 1)
        return SentenceSplit(EncodedTokens(without_first, encoded.form_words, encoded.form_chars), 0, chars)

    def _count_unknowns(self, encoded: EncodedTokens, report: dict[str, int]) -> None:
        report["unknown_words"] = encoded.tokens_where(encoded.form_words == self.vocabs.words.unk_index)
        report["unknown_chars"] = encoded.tokens_where(encoded.forms_with_char(self.vocabs.chars.unk_index))

    def _loader(self, split: str, train: bool) -> Any:
        if self.sentence_level:
            return super()._loader(split, train)
        replicas, rank = self._shards()
        windows = StreamWindows(self.splits[split], self.batch_size if train else self.eval_batch_size, self.window,
                                num_replicas=replicas, rank=rank)
        if windows.dropped:
            log.info("%s: the last %d of %d tokens do not fill a row and are left out", split, windows.dropped,
                     self.splits[split].num_tokens)
        return windows
