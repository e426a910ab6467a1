"""The vocabularies every text task shares (words, characters, and labels where the task has them) and the
encoding of token sequences into compact arrays.

Tokens are encoded through a table of their distinct surface forms: each form's word id and characters are
computed once, and a sentence is stored as form ids. A split then takes 4 bytes per token plus its distinct
forms, and encoding costs one dictionary lookup per token. No torch at import: the ONNX runtime encodes text here
too.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from lstmlab.data.batching.ragged import Ragged, RaggedBuilder
from lstmlab.data.vocab.vocab import Vocab


@dataclass
class EncodedTokens:
    """Sentences as rows of form ids, with the word id and character ids of every distinct form."""

    forms: Ragged  # per sentence: ids into the form table
    form_words: np.ndarray  # [num_forms] word id of each form
    form_chars: Ragged  # per form: character ids (truncated to max_word_length)

    def __len__(self) -> int:
        return len(self.forms)

    @property
    def lengths(self) -> np.ndarray:
        return self.forms.lengths

    @property
    def nbytes(self) -> int:
        return self.forms.nbytes + self.form_words.nbytes + self.form_chars.nbytes

    def tokens_where(self, form_flags: np.ndarray) -> int:
        """How many tokens (form uses, over all sentences) have a form flagged True in `form_flags` [num_forms]."""
        return int(np.bincount(self.forms.values, minlength=len(self.form_words))[form_flags].sum())

    def forms_with_char(self, char_id: int) -> np.ndarray:
        """[num_forms] True where the form's characters include `char_id` (e.g. the unknown character)."""
        found = np.zeros(len(self.form_words), dtype=bool)
        np.logical_or.at(found, np.repeat(np.arange(len(found)), self.form_chars.lengths),
                         self.form_chars.values == char_id)
        return found

    def padded(self, rows: Sequence[int], with_chars: bool = True, min_chars: int = 1) -> dict:
        """`padded_arrays` as torch tensors (sharing their memory)."""
        import torch  # the runtime, which has no torch, reads padded_arrays

        arrays = self.padded_arrays(rows, with_chars, min_chars)
        return {name: torch.from_numpy(array) for name, array in arrays.items()}

    def padded_arrays(self, rows: Sequence[int], with_chars: bool = True, min_chars: int = 1) -> dict[str, np.ndarray]:
        """words [B, T] (int64), chars [B, T, L] (0 = padding, L at least `min_chars`; left out unless
        `with_chars`), mask [B, T] (bool) for the given sentences."""
        form_rows = [self.forms[i] for i in rows]
        lengths = np.array([len(r) for r in form_rows])
        flat = np.concatenate(form_rows)
        batch, steps = len(rows), int(lengths.max())
        row_of = np.repeat(np.arange(batch), lengths)
        step_of = np.arange(len(flat)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        words = np.zeros((batch, steps), dtype=np.int64)
        words[row_of, step_of] = self.form_words[flat]
        mask = np.zeros((batch, steps), dtype=bool)
        mask[row_of, step_of] = True
        padded = {"words": words, "mask": mask}
        if not with_chars:
            return padded
        char_lengths = self.form_chars.lengths[flat]
        width = max(int(char_lengths.max()), min_chars)
        token_of = np.repeat(np.arange(len(flat)), char_lengths)
        within = np.arange(len(token_of)) - np.repeat(np.cumsum(char_lengths) - char_lengths, char_lengths)
        chars = np.zeros((batch, steps, width), dtype=np.int64)
        source = np.repeat(self.form_chars.offsets[flat], char_lengths) + within
        chars[row_of[token_of], step_of[token_of], within] = self.form_chars.values[source]
        return {**padded, "chars": chars}


@dataclass
class TextVocabs:
    """Words are looked up lowercased when `lowercase` (uncased GloVe); characters keep their case.
    `labels` are tags for tagging, classes for NLI, and None for a language model. `language` (an ISO 639 code)
    is the language of the text the vocabularies were built from: it travels with the model, so that raw text is
    split the way that language needs and the model card names it."""

    words: Vocab
    chars: Vocab
    labels: Vocab | None = None
    lowercase: bool = True
    max_word_length: int = 30
    language: str = "en"

    @staticmethod
    def count_forms(token_rows: Iterable[Sequence[str]]) -> Counter[str]:
        forms: Counter[str] = Counter()
        for tokens in token_rows:
            forms.update(tokens)
        return forms

    @classmethod
    def build(
        cls,
        forms: Counter[str],
        labels: Iterable[str] | None = None,
        min_word_freq: int = 1,
        extra_words: Iterable[str] = (),
        lowercase: bool = True,
        max_word_length: int = 30,
        language: str = "en",
    ) -> TextVocabs:
        """From the training split's form counts (`count_forms`); `extra_words` (the vectors') go last."""
        words: Counter[str] = Counter()
        chars: Counter[str] = Counter()
        for form, count in forms.items():
            words[form.lower() if lowercase else form] += count
            for char in form[:max_word_length]:
                chars[char] += count
        return cls(
            words=Vocab.from_counts(words, min_freq=min_word_freq, extra=extra_words),
            chars=Vocab.from_counts(chars),
            labels=None if labels is None else Vocab.build(labels, pad=None, unk=None),
            lowercase=lowercase,
            max_word_length=max_word_length,
            language=language,
        )

    def word_key(self, token: str) -> str:
        return token.lower() if self.lowercase else token

    def encode_tokens(self, token_rows: Iterable[Sequence[str]], with_chars: bool = True) -> EncodedTokens:
        """Encode sentences of tokens (unknown words map to <unk>); empty sentences are the caller's to refuse.
        Without `with_chars` (a model that reads words only) every form's characters are left empty, which saves
        about a third of the time."""
        form_index: dict[str, int] = {}
        rows = RaggedBuilder()
        for tokens in token_rows:
            rows.append([form_index.setdefault(token, len(form_index)) for token in tokens])
        forms = list(form_index)
        form_words = np.fromiter((self.words.index(self.word_key(f)) for f in forms), dtype=np.int32, count=len(forms))
        form_chars = (Ragged.from_rows(self.chars.encode(f[: self.max_word_length]) for f in forms) if with_chars
                      else Ragged.empty_rows(len(forms)))
        return EncodedTokens(rows.build(), form_words, form_chars)

    def to_dict(self) -> dict:
        return {
            "words": self.words.to_dict(), "chars": self.chars.to_dict(),
            "labels": None if self.labels is None else self.labels.to_dict(),
            "lowercase": self.lowercase, "max_word_length": self.max_word_length, "language": self.language,
        }

    @classmethod
    def from_dict(cls, data: dict) -> TextVocabs:
        """Vocabularies saved before models recorded their language were all built from English text."""
        labels = data.get("labels")
        return cls(
            words=Vocab.from_dict(data["words"]), chars=Vocab.from_dict(data["chars"]),
            labels=None if labels is None else Vocab.from_dict(labels),
            lowercase=data["lowercase"], max_word_length=data["max_word_length"],
            language=data.get("language", "en"),
        )
