"""Text work beside the network, for inference on many sentences. Sentences come in chunks; each chunk is
prepared (read, tokenized, looked up, padded into batches) and its batches run through the network. Chunks come out
in the order they were made and each sentence's result lands at its input position, so results stay deterministic
and in input order. How the two kinds of work share the machine depends on where the network runs (`mode_for`):

- beside an accelerator (a GPU), the next chunks are prepared in a background thread (`prefetched`) while the
  network runs the current one; torch releases the GIL inside its kernels, so the two overlap;
- on a CPU with two or more torch threads, two network streams run side by side, each with its share of the
  threads, each preparing chunks while the other computes (`cpu_streams`);
- on one CPU thread, each chunk is prepared just before the network reads it.

A background thread beside a CPU network only takes cores from it: `encode()` on strings at H=256, 2 cores, ran at
0.96x a plain loop over word ids with it, 1.02x inline and 1.12x as two streams (`python bench/raw_text_speed.py`,
which forces each mode; docs/benchmarks.md).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Literal, TypeVar

import torch

from lstmlab.data.tokenize import tokenize
from lstmlab.inference.cpu_streams import ENOUGH_BATCHES, STREAMS, in_streams

Item = TypeVar("Item")
Batch = TypeVar("Batch")
Result = TypeVar("Result")
Sentence = str | Sequence[str]  # raw text, or its tokens
Chunk = TypeVar("Chunk", bound=Sequence[Sentence])
Mode = Literal["background", "streams", "inline"]
_DONE = object()
CHUNK_SENTENCES = 1024  # sentences prepared at a time: large enough to batch by length, small enough to start soon


def tokens_of(sentence: Sentence) -> list[str]:
    """A string's tokens by the rule of `lstmlab.data.tokenize`; a token list as it is."""
    return tokenize(sentence) if isinstance(sentence, str) else list(sentence)


def is_empty(sentence: Sentence) -> bool:
    """A string with nothing but whitespace, which the tokenizer turns into no token, or an empty token list."""
    return not sentence.strip() if isinstance(sentence, str) else len(sentence) == 0


def check_tokens(sentence: Sentence, position: int) -> None:
    """A token list must hold words: a token that is "" or whitespace only (which no tokenizer makes) is a
    ValueError naming the sentence and the token, where the network would read it as an unknown word (a tagger tags
    it, an encoder silently leaves it out of the vector); so is a token that is not a string. Raw strings pass."""
    if isinstance(sentence, str):
        return
    try:
        if all(map(str.strip, sentence)):  # the common case, at C speed
            return
    except TypeError:  # a token that is not a string, named below
        pass
    for index, token in enumerate(sentence):
        if not isinstance(token, str):
            raise ValueError(f"sentence {position}, token {index} is {type(token).__name__} {token!r}, expected a "
                             "string")
        if not token.strip():
            raise ValueError(f"sentence {position}, token {index} ({token!r}) is blank: a token needs a character "
                             "that is not whitespace")


def check_sentence(sentence: Sentence, position: int, task: str) -> None:
    """`check_tokens`, and an empty sentence is a ValueError too: there is nothing to `task` (tag, represent)."""
    if is_empty(sentence):
        raise ValueError(f"sentence {position} is empty: there is nothing to {task}")
    check_tokens(sentence, position)


def longest_first_chunks(sentences: Sequence[Sentence], positions: Iterable[int],
                         size: int = CHUNK_SENTENCES) -> list[list[int]]:
    """`positions` into `sentences`, longest first, cut into chunks of `size`: strings are measured in characters,
    since their tokens are known only once a chunk is tokenized, and each chunk is then sorted by tokens."""
    ordered = sorted(positions, key=lambda position: len(sentences[position]), reverse=True)
    return [ordered[start : start + size] for start in range(0, len(ordered), size)]


class _Failed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def mode_for(device: torch.device) -> Mode:
    """How text work and a network on `device` share the machine (see above)."""
    if device.type != "cpu":
        return "background"
    return "streams" if torch.get_num_threads() >= STREAMS else "inline"


def pipelined(chunks: Iterable[Chunk], prepare: Callable[[Chunk], Sequence[Batch]], run: Callable[[Batch], Result],
              device: torch.device, computes: bool = True) -> Iterator[tuple[Chunk, list[Result]]]:
    """(chunk, [run(batch) for batch in prepare(chunk)]) for each chunk, in order, the work shared as `mode_for`
    says. An error in `chunks`, `prepare` or `run` reaches the caller with its message, after the chunks before its
    own. `run` enters its own autocast: in streams it runs on another thread (in inference mode). `computes=False`
    says the network does next to nothing (a bag of vectors): its time is all text work, which two streams would
    only take turns at under the GIL (measured: 0.75x inline), so it runs inline."""
    mode = mode_for(device)
    if mode == "streams" and not computes:
        mode = "inline"
    if mode == "background":
        prepared = prefetched((chunk, prepare(chunk)) for chunk in chunks)
        return ((chunk, [run(batch) for batch in batches]) for chunk, batches in prepared)
    if mode == "inline":
        return ((chunk, [run(batch) for batch in prepare(chunk)]) for chunk in chunks)
    return _streamed(iter(chunks), prepare, run)


def _streamed(chunks: Iterator[Chunk], prepare: Callable[[Chunk], Sequence[Batch]], run: Callable[[Batch], Result]
              ) -> Iterator[tuple[Chunk, list[Result]]]:
    """`pipelined` in network streams, unless the whole input is too small to be worth them (fewer than
    `ENOUGH_BATCHES` batches: a single sentence, a short list), which runs here with every thread."""
    ready_made: list[tuple[Chunk, Sequence[Batch]]] = []
    batches_made = 0
    while batches_made < ENOUGH_BATCHES:
        chunk = next(chunks, _DONE)
        if chunk is _DONE:
            for chunk, batches in ready_made:
                yield chunk, [run(batch) for batch in batches]
            return
        ready_made.append((chunk, prepare(chunk)))
        batches_made += len(ready_made[-1][1])
    yield from in_streams(ready_made, chunks, prepare, run, STREAMS)


def ahead(items: Iterable[Item], device: torch.device) -> Iterator[Item]:
    """The items of `items` in order: made in a background thread (`prefetched`) beside an accelerator, else each
    when it is asked for (the ELMo export, whose outputs per chunk are too large to hold for streams)."""
    return prefetched(items) if mode_for(device) == "background" else iter(items)


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
