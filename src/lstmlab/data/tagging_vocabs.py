"""The three vocabularies a tagger needs (words, characters, tags) and the token -> tensor encoding they define."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import torch

from lstmlab.data.vocab import Vocab


@dataclass
class EncodedSentence:
    words: torch.Tensor  # [T] word ids
    chars: torch.Tensor  # [T, L] character ids, 0-padded
    tags: torch.Tensor | None  # [T] tag ids; None for raw text


@dataclass
class TaggingVocabs:
    """Words are looked up lowercased when `lowercase` (uncased GloVe); characters keep their case."""

    words: Vocab
    chars: Vocab
    tags: Vocab
    lowercase: bool = True
    max_word_length: int = 30

    @classmethod
    def build(
        cls,
        sentences: Iterable[tuple[Sequence[str], Sequence[str]]],
        min_word_freq: int = 1,
        min_char_freq: int = 1,
        extra_words: Iterable[str] = (),
        lowercase: bool = True,
        max_word_length: int = 30,
    ) -> TaggingVocabs:
        """Build from (tokens, tags) pairs of the training split; `extra_words` (e.g. the vectors') go last."""
        words: list[str] = []
        chars: list[str] = []
        tags: list[str] = []
        for tokens, sentence_tags in sentences:
            words.extend(t.lower() if lowercase else t for t in tokens)
            for token in tokens:
                chars.extend(token[:max_word_length])
            tags.extend(sentence_tags)
        return cls(
            words=Vocab.build(words, min_freq=min_word_freq, extra=extra_words),
            chars=Vocab.build(chars, min_freq=min_char_freq),
            tags=Vocab.build(tags, pad=None, unk=None),
            lowercase=lowercase,
            max_word_length=max_word_length,
        )

    def word_key(self, token: str) -> str:
        return token.lower() if self.lowercase else token

    def encode(self, tokens: Sequence[str], tags: Sequence[str] | None = None) -> EncodedSentence:
        """Encode one sentence; an unknown tag raises KeyError (callers add the file and line)."""
        if not tokens:
            raise ValueError("cannot encode an empty sentence")
        length = min(self.max_word_length, max(len(t) for t in tokens))
        chars = torch.zeros(len(tokens), max(length, 1), dtype=torch.long)
        for position, token in enumerate(tokens):
            ids = self.chars.encode(token[:length])
            chars[position, : len(ids)] = torch.tensor(ids, dtype=torch.long)
        words = torch.tensor([self.words.index(self.word_key(t)) for t in tokens], dtype=torch.long)
        tag_ids = None if tags is None else torch.tensor(self.tags.encode(tags), dtype=torch.long)
        return EncodedSentence(words, chars, tag_ids)

    def to_dict(self) -> dict:
        return {
            "words": self.words.to_dict(), "chars": self.chars.to_dict(), "tags": self.tags.to_dict(),
            "lowercase": self.lowercase, "max_word_length": self.max_word_length,
        }

    @classmethod
    def from_dict(cls, data: dict) -> TaggingVocabs:
        return cls(
            words=Vocab.from_dict(data["words"]), chars=Vocab.from_dict(data["chars"]),
            tags=Vocab.from_dict(data["tags"]), lowercase=data["lowercase"], max_word_length=data["max_word_length"],
        )
