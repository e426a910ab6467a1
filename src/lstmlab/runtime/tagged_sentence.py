"""What a tagger returns for one sentence, whichever back end ran it (PyTorch or the ONNX runtime)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass


@dataclass
class TaggedSentence:
    tokens: list[str]
    tags: list[str]

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(zip(self.tokens, self.tags, strict=True))
