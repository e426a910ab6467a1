"""Batches for language-model training: running text cut into fixed windows (truncated BPTT), or sentences.

Running text: a split's tokens, with a boundary token between sentences, form one stream; it is cut into
`columns` parallel rows and read `window` tokens at a time, so each row's next window continues where its last
one ended and the LSTM state can be carried over. The backward LM reads the reversed stream the same way.
Under DDP each rank reads its own rows. Which windows have been trained on is part of the loader's state, so a
run resumed from a mid-epoch checkpoint continues with the next window (Lightning saves and restores any loader
with `state_dict`/`load_state_dict`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from lstmlab.data.vocab.text_vocabs import EncodedTokens

DIRECTIONS = ("forward", "backward")


def dense_chars(encoded: EncodedTokens) -> torch.Tensor:
    """[num_forms, longest] character ids of every distinct form, 0-padded: a batch's characters are one lookup."""
    chars = encoded.form_chars
    lengths = chars.lengths
    table = np.zeros((len(lengths), max(int(lengths.max(initial=0)), 1)), dtype=np.int64)
    rows = np.repeat(np.arange(len(lengths)), lengths)
    table[rows, np.arange(len(rows)) - np.repeat(chars.offsets[:-1], lengths)] = chars.values
    return torch.from_numpy(table)


@dataclass
class TextStream:
    """A split as running text: `stream` holds form ids, starting with the boundary token and with one after
    every sentence, so every word and every sentence end is predicted once in each direction."""

    stream: np.ndarray
    form_words: np.ndarray  # word id (softmax class) of each form
    form_chars: torch.Tensor  # [num_forms, L] character ids
    sentences: int

    def __len__(self) -> int:
        return self.sentences

    @property
    def num_tokens(self) -> int:
        return len(self.stream) - 1  # every token after the first is predicted


def distinct_words(form_chars: torch.Tensor, inputs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """`chars` [U, L] of the distinct forms among both directions' inputs, and `<direction>_tokens`, the inputs
    as indices into those rows: the character CNN then runs once per distinct word of a batch, not per token
    (a 20x35 PTB window has about a third as many distinct words as tokens)."""
    flat = torch.cat([ids.flatten() for ids in inputs.values()])
    distinct, inverse = torch.unique(flat, return_inverse=True)
    batch = {"chars": form_chars[distinct]}
    start = 0
    for direction, ids in inputs.items():
        batch[f"{direction}_tokens"] = inverse[start : start + ids.numel()].view_as(ids)
        start += ids.numel()
    return batch


class StreamWindows:
    """The windows of a TextStream: an iterable of batches with the data loader's `state_dict` protocol.
    Each batch has `window` (its index), `chars` and `<direction>_tokens` (see `distinct_words`),
    `<direction>_targets` [B, T] and `num_tokens`. Tokens past the last full row (fewer than the number of rows)
    are left out, and counted."""

    def __init__(self, text: TextStream, columns: int, window: int, num_replicas: int = 1, rank: int = 0) -> None:
        if columns < 1 or window < 1:
            raise ValueError(f"batch_size and window must be positive, got {columns} and {window}")
        rows = columns * num_replicas
        self.row_length = text.num_tokens // rows
        if self.row_length < 1:
            raise ValueError(f"{text.num_tokens} tokens cannot fill {rows} rows: use a smaller batch size")
        self.dropped = text.num_tokens - rows * self.row_length
        self.text = text
        self.window = window
        mine = slice(rank * columns, (rank + 1) * columns)
        self.tables = {}
        for direction, stream in zip(DIRECTIONS, (text.stream, text.stream[::-1]), strict=True):
            starts = np.arange(rows)[mine, None] * self.row_length
            positions = starts + np.arange(self.row_length + 1)  # inputs [:-1], targets [1:]
            self.tables[direction] = torch.from_numpy(np.ascontiguousarray(stream[positions]).astype(np.int64))
        self.form_words = torch.from_numpy(text.form_words.astype(np.int64))
        self.next_window = 0

    def __len__(self) -> int:
        return -(-self.row_length // self.window)

    def batch(self, index: int) -> dict:
        start = index * self.window
        stop = min(start + self.window, self.row_length)
        batch = distinct_words(self.text.form_chars, {d: table[:, start:stop] for d, table in self.tables.items()})
        batch["window"] = index
        for direction, table in self.tables.items():
            batch[f"{direction}_targets"] = self.form_words[table[:, start + 1 : stop + 1]]
        batch["num_tokens"] = batch["forward_targets"].numel()
        return batch

    def __iter__(self) -> Iterator[dict]:
        # read at the first batch, after Lightning has restored a resumed run's position
        start = self.next_window if self.next_window < len(self) else 0
        for index in range(start, len(self)):
            yield self.batch(index)

    def mark_trained(self, index: int) -> None:
        """Called by the task after training on window `index`: a checkpoint from now on resumes after it (the
        loader itself runs ahead of training, since Lightning fetches the next batch early)."""
        self.next_window = index + 1

    def state_dict(self) -> dict:
        return {"next_window": self.next_window}

    def load_state_dict(self, state: dict) -> None:
        self.next_window = int(state["next_window"])


@dataclass
class SentenceSplit:
    """A split as separate sentences (`sentence_level=True`): each is read on its own, from the boundary token,
    forwards and backwards; batches are padded, with a mask."""

    encoded: EncodedTokens
    boundary_form: int
    form_chars: torch.Tensor

    def __post_init__(self) -> None:
        self.form_words = torch.from_numpy(self.encoded.form_words.astype(np.int64))  # word id of each form

    def __len__(self) -> int:
        return len(self.encoded)

    @property
    def lengths(self) -> np.ndarray:
        return self.encoded.lengths

    @property
    def num_tokens(self) -> int:
        return int(self.lengths.sum()) + len(self)  # the words and each sentence's end

    def __getitems__(self, indices: Sequence[int]) -> dict:
        steps = int(self.lengths[list(indices)].max()) + 1
        rows = {f"{d}_{part}": np.zeros((len(indices), steps), dtype=np.int64)
                for d in DIRECTIONS for part in ("inputs", "targets")}
        mask = np.zeros((len(indices), steps), dtype=bool)
        for row, index in enumerate(indices):
            forms = self.encoded.forms[index]
            n = len(forms) + 1
            for direction, words in (("forward", forms), ("backward", forms[::-1])):
                rows[f"{direction}_inputs"][row, :n] = np.concatenate([[self.boundary_form], words])
                rows[f"{direction}_targets"][row, :n] = np.concatenate([words, [self.boundary_form]])
            mask[row, :n] = True
        inputs = {d: torch.from_numpy(rows[f"{d}_inputs"]) for d in DIRECTIONS}  # padding: form 0, masked
        batch = distinct_words(self.form_chars, inputs)
        batch.update(mask=torch.from_numpy(mask), num_tokens=int(mask.sum()))
        for direction in DIRECTIONS:
            batch[f"{direction}_targets"] = self.form_words[torch.from_numpy(rows[f"{direction}_targets"])]
        return batch
