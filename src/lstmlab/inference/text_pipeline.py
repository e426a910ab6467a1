"""Text work ahead of the network, for inference on many sentences: the next chunk of sentences is read,
tokenized, looked up and padded in a background thread while the network runs the current one. Torch releases the
GIL inside its kernels, so the two overlap. Chunks come out in the order they were made and each sentence's result
lands at its input position, so results stay deterministic and in input order.

The thread runs only when the network is on an accelerator (a GPU), where the CPU would otherwise wait for it. On
the CPU it is not used: the text work is now a few percent of the network's time (the tokenizer alone about 2%),
and a background thread cost more than that, whether torch's threads took every core (encode() on strings at H=256:
0.76x a plain loop over word ids with the thread, 0.99x without, on 2 cores) or left one spare (0.93x against
1.00x with torch on one thread); measured by `python bench/raw_text_speed.py`, which forces either way. Without
the thread, each chunk's text work is done just before the network reads it.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator, Sequence
from typing import TypeVar

import torch

from lstmlab.data.tokenize import tokenize

Item = TypeVar("Item")
Sentence = str | Sequence[str]  # raw text, or its tokens
Chunk = TypeVar("Chunk", bound=Sequence[Sentence])
_DONE = object()
CHUNK_SENTENCES = 1024  # sentences prepared at a time: large enough to batch by length, small enough to start soon


def tokens_of(sentence: Sentence) -> list[str]:
    """A string's tokens by the rule of `lstmlab.data.tokenize`; a token list as it is."""
    return tokenize(sentence) if isinstance(sentence, str) else list(sentence)


def is_empty(sentence: Sentence) -> bool:
    """A string with nothing but whitespace, which the tokenizer turns into no token, or an empty token list."""
    return not sentence.strip() if isinstance(sentence, str) else len(sentence) == 0


def longest_first_chunks(sentences: Sequence[Sentence], positions: Iterable[int],
                         size: int = CHUNK_SENTENCES) -> list[list[int]]:
    """`positions` into `sentences`, longest first, cut into chunks of `size`: strings are measured in characters,
    since their tokens are known only once a chunk is tokenized, and each chunk is then sorted by tokens."""
    ordered = sorted(positions, key=lambda position: len(sentences[position]), reverse=True)
    return [ordered[start : start + size] for start in range(0, len(ordered), size)]


class _Failed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def background_helps(device: torch.device) -> bool:
    """Whether the text work should run in a background thread beside a network on `device` (see above)."""
    return device.type != "cpu"


def ahead(items: Iterable[Item], device: torch.device) -> Iterator[Item]:
    """The items of `items` in order: made in a background thread (`prefetched`) where that helps the network on
    `device`, else each when it is asked for."""
    return prefetched(items) if background_helps(device) else iter(items)


def prefetched(items: Iterable[Item], depth: int = 2) -> Iterator[Item]:
    """The items of `items` in order, made up to `depth` ahead in a background thread. An exception raised there
    is raised here, with its own traceback; leaving the loop early (break, an error in the loop) stops the thread
    after the item it is making."""
    ready: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: object) -> bool:
        """Hand `item` over, waiting for room; False once the consumer has gone."""
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def make() -> None:
        try:
            for item in items:
                if not put(item):
                    return
        except BaseException as error:  # noqa: BLE001 - every failure, KeyboardInterrupt too, belongs to the caller
            put(_Failed(error))
            return
        put(_DONE)

    worker = threading.Thread(target=make, name="lstmlab-prefetch", daemon=True)
    worker.start()
    try:
        while (item := ready.get()) is not _DONE:
            if isinstance(item, _Failed):
                raise item.error
            yield item
    finally:
        stop.set()
        worker.join()
