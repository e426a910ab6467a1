"""Text work beside the network, for inference on many sentences. Sentences come in chunks; each chunk is
prepared (read, tokenized, looked up, padded into batches) and its batches run through the network. Chunks come out
in the order they were made and each sentence's result lands at its input position, so results stay deterministic
and in input order. Both back ends use this module, PyTorch's and the ONNX runtime's, so it imports no torch. How the
two kinds of work share the machine depends on where the network runs (the `mode` a back end passes; PyTorch's is
`cpu_streams.mode_for`, the runtime's `inline`):

- beside an accelerator (a GPU), the next chunks are prepared in a background thread (`prefetched`) while the
  network runs the current one; torch releases the GIL inside its kernels, so the two overlap;
- on a CPU with two or more torch threads, two network streams run side by side, each with its share of the
  threads, each preparing chunks while the other computes (`cpu_streams`);
- on one CPU thread, each chunk is prepared just before the network reads it.

A background thread beside a CPU network only takes cores from it: two streams beat it and inline preparation on two
cores (docs/benchmarks.md, "Raw text"; `python bench/raw_text_speed.py` forces each mode).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Literal, TypeVar

from lstmlab.data.tokenization.rules import Tokenizer

Item = TypeVar("Item")
Batch = TypeVar("Batch")
Result = TypeVar("Result")
Sentence = str | Sequence[str]  # raw text, or its tokens
Chunk = TypeVar("Chunk", bound=Sequence[Sentence])
Mode = Literal["background", "inline"]
_DONE = object()
MAX_PADDING = 0.25  # of a batch's positions (`by_length`)
CHUNK_SENTENCES = 1024  # sentences prepared at a time: large enough to batch by length, small enough to start soon


class ReadsRawText:
    """What the models of both back ends share for raw strings: `tokenize`, the rule that splits text of the model's
    language (`lstmlab.data.tokenization.rules`: UD English EWT's for English, the Unicode rule for any other), which
    each back end reads from its model files, and `tokens_of`."""

    tokenize: Tokenizer

    def tokens_of(self, sentence: Sentence) -> list[str]:
        """A string's tokens by this model's rule; a token list as it is."""
        return self.tokenize(sentence) if isinstance(sentence, str) else list(sentence)


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


def sentences_to_encode(items: Sequence[Sentence], allow_empty: bool) -> list[int]:
    """The positions of the non-empty sentences, after `check_tokens` on each; an empty one is a ValueError unless
    `allow_empty` (it gets a zero vector)."""
    for position, sentence in enumerate(items):
        check_tokens(sentence, position)
    empty = [i for i, sentence in enumerate(items) if is_empty(sentence)]
    if empty and not allow_empty:
        raise ValueError(f"sentence {empty[0]} is empty ({len(empty)} empty in all): there is nothing to encode; "
                         "pass allow_empty=True to get a zero vector for it")
    return [i for i, sentence in enumerate(items) if not is_empty(sentence)]


def longest_first_chunks(sentences: Sequence[Sentence], positions: Iterable[int],
                         size: int = CHUNK_SENTENCES) -> list[list[int]]:
    """`positions` into `sentences`, longest first, cut into chunks of `size`: strings are measured in characters,
    since their tokens are known only once a chunk is tokenized, and each chunk is then sorted by tokens."""
    ordered = sorted(positions, key=lambda position: len(sentences[position]), reverse=True)
    return [ordered[start : start + size] for start in range(0, len(ordered), size)]


def by_length(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Rows cut into batches of similar lengths, longest first (each later batch fits in memory an earlier freed):
    at most `batch_size` rows, none shorter than `1 - MAX_PADDING` of its batch's longest, so that a batch is at
    most a quarter padding. A call of 64 sentences of running text (lengths from 1 to 100 words) was one batch
    three quarters padding; cut so, it tags several times faster (docs/benchmarks.md, "Deployment")."""
    batches: list[list[int]] = []
    for row in sorted(range(len(lengths)), key=lengths.__getitem__, reverse=True):
        if batches and len(batches[-1]) < batch_size and lengths[row] >= (1 - MAX_PADDING) * lengths[batches[-1][0]]:
            batches[-1].append(row)
        else:
            batches.append([row])
    return batches


def in_input_order(items: Sequence[Sentence], positions: Iterable[int],
                   run: Callable[[Iterator[list[Sentence]]], Iterator[tuple[object, Sequence[Result]]]]
                   ) -> list[Result | None]:
    """The results of `run` (chunks of sentences in, (chunk, a result per sentence) out) over the items at
    `positions`, in longest-first chunks, each put back at its input position; None at the other positions."""
    results: list[Result | None] = [None] * len(items)
    chunks = longest_first_chunks(items, positions)
    for chunk, (_, chunk_results) in zip(chunks, run([items[p] for p in chunk] for chunk in chunks), strict=True):
        for position, result in zip(chunk, chunk_results, strict=True):
            results[position] = result
    return results


def check_token_lists(sentences: Sequence[Sequence[str]], first: int, max_length: int) -> list[list[str]]:
    """Token lists as given, or a ValueError that names the first bad sentence (counted from `first`) and what was
    expected: a string instead of tokens, an empty sentence, a blank token, more tokens than `max_length`."""
    token_lists = []
    for position, tokens in enumerate(sentences, start=first):
        if isinstance(tokens, str):
            raise ValueError(f"sentence {position} is a string: give lists of tokens (e.g. text.split())")
        check_sentence(tokens, position, "represent")
        if len(tokens) > max_length:
            raise ValueError(f"sentence {position} has {len(tokens)} tokens; this model reads at most "
                             f"{max_length} (net.max_sentence_length): split it")
        token_lists.append(list(tokens))
    return token_lists


class _Failed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def pipelined(chunks: Iterable[Chunk], prepare: Callable[[Chunk], Sequence[Batch]], run: Callable[[Batch], Result],
              mode: Mode) -> Iterator[tuple[Chunk, list[Result]]]:
    """(chunk, [run(batch) for batch in prepare(chunk)]) for each chunk, in order, the work shared as `mode` says.
    An error in `chunks`, `prepare` or `run` reaches the caller with its message, after the chunks before its own.
    (PyTorch's network streams are `cpu_streams.pipelined`.)"""
    if mode == "background":
        prepared = prefetched((chunk, prepare(chunk)) for chunk in chunks)
        return ((chunk, [run(batch) for batch in batches]) for chunk, batches in prepared)
    return ((chunk, [run(batch) for batch in prepare(chunk)]) for chunk in chunks)


def ahead(items: Iterable[Item], mode: Mode) -> Iterator[Item]:
    """The items of `items` in order: made in a background thread (`prefetched`) beside an accelerator, else each
    when it is asked for (the ELMo export, whose outputs per chunk are too large to hold for streams)."""
    return prefetched(items) if mode == "background" else iter(items)


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
