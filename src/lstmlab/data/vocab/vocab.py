"""A small typed vocabulary: string <-> index, built from training data only, saved as JSON with the model."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

PAD = "<pad>"
UNK = "<unk>"


@dataclass
class Vocab:
    """Index 0 is padding and 1 the unknown entry when those specials are present; labels have neither."""

    itos: list[str]
    pad: str | None = PAD
    unk: str | None = UNK
    stoi: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.stoi = {token: index for index, token in enumerate(self.itos)}
        if len(self.stoi) != len(self.itos):
            duplicates = [t for t, n in Counter(self.itos).items() if n > 1][:5]
            raise ValueError(f"vocabulary has duplicate entries: {duplicates}")
        for special in (self.pad, self.unk):
            if special is not None and special not in self.stoi:
                raise ValueError(f"special token {special!r} is missing from the vocabulary")

    @classmethod
    def build(
        cls,
        tokens: Iterable[str],
        min_freq: int = 1,
        pad: str | None = PAD,
        unk: str | None = UNK,
        extra: Iterable[str] = (),
    ) -> Vocab:
        """Most frequent first (ties alphabetical, so the build is deterministic); `extra` entries go last."""
        return cls.from_counts(Counter(tokens), min_freq, pad, unk, extra)

    @classmethod
    def from_counts(
        cls,
        counts: Counter[str],
        min_freq: int = 1,
        pad: str | None = PAD,
        unk: str | None = UNK,
        extra: Iterable[str] = (),
    ) -> Vocab:
        specials = [s for s in (pad, unk) if s is not None]
        ranked = sorted((t for t, n in counts.items() if n >= min_freq), key=lambda t: (-counts[t], t))
        itos = specials + [t for t in ranked if t not in specials]
        seen = set(itos)
        itos += [t for t in extra if not (t in seen or seen.add(t))]
        return cls(itos, pad=pad, unk=unk)

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, token: str) -> bool:
        return token in self.stoi

    @property
    def pad_index(self) -> int:
        return self.stoi[self.pad] if self.pad is not None else -1

    @property
    def unk_index(self) -> int:
        return self.stoi[self.unk] if self.unk is not None else -1

    def index(self, token: str) -> int:
        """Index of `token`; unknown tokens map to `unk`, or raise KeyError in a vocabulary without one."""
        found = self.stoi.get(token)
        if found is not None:
            return found
        if self.unk is None:
            raise KeyError(token)
        return self.stoi[self.unk]

    def encode(self, tokens: Sequence[str]) -> list[int]:
        return [self.index(t) for t in tokens]

    def decode(self, indices: Iterable[int]) -> list[str]:
        return [self.itos[i] for i in indices]

    def to_dict(self) -> dict:
        return {"itos": self.itos, "pad": self.pad, "unk": self.unk}

    @classmethod
    def from_dict(cls, data: dict) -> Vocab:
        return cls(list(data["itos"]), pad=data["pad"], unk=data["unk"])
