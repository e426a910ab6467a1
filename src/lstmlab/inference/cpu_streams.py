"""Inference on the CPU as several network streams side by side, each a thread with its share of torch's threads,
instead of one stream with all of them. A recurrent network at inference batch sizes scales poorly over torch's
threads (a step's matrix product is small, and every step ends at a barrier), while two independent streams keep
both cores busy, and each stream's text work (tokenizing, lookup, padding: Python, under the GIL) runs while the
other stream is inside a kernel, which releases the GIL. On 2 cores, `encode()` on raw strings beats a plain
single-stream loop over word ids (docs/benchmarks.md, "Raw text"; `python bench/raw_text_speed.py`).

Work is shared by batch, not by chunk: a stream takes the next batch of any chunk already prepared, and prepares
the next chunk when few batches are left waiting, so the streams finish together whatever the chunks' sizes. Results
come back per chunk, in the order the chunks came in.

Thread counts: torch's intra-op count is the calling thread's OpenMP setting, and a thread takes the process-wide
count when it first computes. A stream therefore first reads its count (`torch.get_num_threads` initialises it),
then sets its share. While the streams run, the calling thread computes on one thread (its few tensor operations
would otherwise wake a team of OpenMP threads that spin on the streams' cores and slow them), and so would a
thread that first computes meanwhile; the caller's count is set back at the end. This
relies on that per-thread behaviour of torch's OpenMP build (the x86 wheels); `test_cpu_streams` pins it.
"""

from __future__ import annotations

import functools
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal, TypeVar

import torch

from lstmlab.runtime import text_pipeline

Mode = Literal["background", "streams", "inline"]

Chunk = TypeVar("Chunk")
Batch = TypeVar("Batch")
Result = TypeVar("Result")
STREAMS = 2  # measured on 2 cores; on more cores each stream gets more threads
FEW_BATCHES = 2 * STREAMS  # batches left waiting when a stream starts preparing the next chunk
ENOUGH_BATCHES = 8  # the least input worth starting streams for: below, their start and uneven end cost more
# (`python bench/raw_text_speed.py` times calls of a few batches against inline preparation)


def thread_shares(threads: int, streams: int) -> list[int]:
    """torch threads per stream: `threads` divided as evenly as it goes, the first streams taking the rest; one
    each at least (forced streams on one thread, as `bench/raw_text_speed.py --threads 1` does)."""
    return [max(1, threads // streams + (1 if stream < threads % streams else 0)) for stream in range(streams)]


@dataclass
class _Prepared:
    chunk: object
    results: list
    remaining: int  # batches not yet run


@dataclass
class _Shared:
    """What the streams and the caller share, under one lock. Streams wait on `work` (a batch or room to prepare
    a chunk), the caller on `finished` (its next chunk done, an error, the end): a stream wakes the caller once per
    chunk, not per batch."""

    source: Iterator
    window: int  # chunks taken from the source and not yet handed back, at most
    lock: threading.Lock = field(default_factory=threading.Lock)
    waiting: deque = field(default_factory=deque)  # (chunk index, position in the chunk, batch)
    prepared: dict[int, _Prepared] = field(default_factory=dict)
    errors: dict[int, BaseException] = field(default_factory=dict)
    taken: int = 0  # chunks taken from the source
    handed: int = 0  # chunks handed back to the caller
    preparing: int = 0
    exhausted: bool = False
    stop: bool = False

    def __post_init__(self) -> None:
        self.work = threading.Condition(self.lock)
        self.finished = threading.Condition(self.lock)

    def add(self, index: int, chunk: object, batches: Sequence) -> None:
        self.prepared[index] = _Prepared(chunk, [None] * len(batches), len(batches))
        self.waiting.extend((index, position, batch) for position, batch in enumerate(batches))
        self.work.notify_all()
        if not batches:
            self.finished.notify()

    def store(self, index: int, position: int, result: object) -> None:
        done = self.prepared[index]
        done.results[position] = result
        done.remaining -= 1
        if done.remaining == 0:
            self.finished.notify()

    def end(self, index: int | None = None, error: BaseException | None = None) -> None:
        """No chunk is taken after this: the source is exhausted, or chunk `index` failed with `error` (the chunks
        before it are still finished)."""
        if error is not None:
            self.errors.setdefault(index, error)
        self.exhausted = True
        self.work.notify_all()
        self.finished.notify()

    def is_ready(self, index: int) -> bool:
        return (index in self.errors or (index in self.prepared and self.prepared[index].remaining == 0)
                or (self.exhausted and index >= self.taken))


def in_streams(ready_made: Sequence[tuple[Chunk, Sequence[Batch]]], rest: Iterator[Chunk],
               prepare: Callable[[Chunk], Sequence[Batch]], run: Callable[[Batch], Result], streams: int
               ) -> Iterator[tuple[Chunk, list[Result]]]:
    """(chunk, [run(batch) for batch in its batches]) for the chunks of `ready_made` (already prepared: (chunk, its
    batches)) and each chunk of `rest` (prepared by `prepare`), in order, computed by `streams` threads in inference
    mode and under the caller's CPU autocast (both are per thread: a user's `torch.autocast("cpu")` around the call
    holds in the streams too). An error in a stream (reading `rest`, `prepare`, `run`) is raised here, after the
    chunks before its own; leaving the loop early stops the streams after the batch each is running."""
    shared = _Shared(rest, window=streams + len(ready_made), taken=len(ready_made))
    with shared.lock:
        for index, (chunk, batches) in enumerate(ready_made):
            shared.add(index, chunk, batches)
    caller_threads = torch.get_num_threads()
    autocast = (torch.is_autocast_enabled("cpu"), torch.get_autocast_dtype("cpu"))
    ready = threading.Barrier(streams + 1)
    workers = [threading.Thread(target=_stream, args=(shared, prepare, run, threads, ready, autocast),
                                name=f"lstmlab-stream-{number}", daemon=True)
               for number, threads in enumerate(thread_shares(caller_threads, streams))]
    for worker in workers:
        worker.start()
    try:
        ready.wait()
        torch.set_num_threads(1)  # the caller's own share while the streams run (see above)
        while True:
            with shared.lock:
                index = shared.handed
                shared.finished.wait_for(functools.partial(shared.is_ready, index))
                if index in shared.errors:
                    raise shared.errors[index]
                if index >= shared.taken:
                    return
                done = shared.prepared.pop(index)
                shared.handed += 1
                shared.work.notify_all()  # room in the window
            yield done.chunk, done.results
    finally:
        ready.abort()  # streams still at the start (the caller was interrupted there) leave at once
        torch.set_num_threads(caller_threads)
        with shared.lock:
            shared.stop = True
            shared.work.notify_all()
        for worker in workers:
            worker.join()


def _stream(shared: _Shared, prepare: Callable, run: Callable, threads: int, ready: threading.Barrier,
            autocast: tuple[bool, torch.dtype]) -> None:
    torch.get_num_threads()  # initialise this thread's count now, or its first kernel would reset what is set next
    torch.set_num_threads(threads)
    try:
        ready.wait()
    except threading.BrokenBarrierError:
        return
    enabled, dtype = autocast
    with torch.inference_mode(), torch.autocast("cpu", dtype=dtype, enabled=enabled):
        while (job := _next_job(shared)) is not None:
            index, position, work = job
            error = None
            try:
                outcome = prepare(work) if position is None else run(work)
            except BaseException as caught:  # noqa: BLE001 - every failure, KeyboardInterrupt too, goes to the caller
                error = caught
            with shared.lock:
                if position is None:
                    shared.preparing -= 1
                if error is not None:
                    shared.end(index, error)
                elif position is None:
                    shared.add(index, work, outcome)
                else:
                    shared.store(index, position, outcome)


def _next_job(shared: _Shared) -> tuple[int, int | None, object] | None:
    """(chunk index, position, batch) to run, or (chunk index, None, chunk) to prepare, taken under the lock; None
    once nothing is left to do (or the caller has gone). The next chunk is prepared while few batches wait, by one
    stream while the others run them: two streams preparing at once would only take turns at the GIL."""
    with shared.lock:
        while not shared.stop:
            can_take = not shared.exhausted and shared.taken - shared.handed < shared.window
            if can_take and (not shared.waiting or (shared.preparing == 0 and len(shared.waiting) < FEW_BATCHES)):
                index = shared.taken
                try:
                    chunk = next(shared.source)
                except StopIteration:
                    shared.end()
                    continue
                except BaseException as error:  # noqa: BLE001 - a bad line of the input is the caller's to see
                    shared.end(index, error)
                    continue
                shared.taken += 1
                shared.preparing += 1
                return index, None, chunk
            if shared.waiting:
                return shared.waiting.popleft()
            if shared.exhausted and shared.preparing == 0:
                return None
            shared.work.wait()
        return None


def mode_for(device: torch.device, computes: bool = True) -> Mode:
    """How text work and a PyTorch network on `device` share the machine (`text_pipeline`): beside an accelerator,
    text in a background thread; on a CPU with two or more torch threads, network streams; else inline.
    `computes=False` says the network does next to nothing (a bag of vectors): its time is all text work, which two
    streams would only take turns at under the GIL (slower than inline), so it runs inline."""
    if device.type != "cpu":
        return "background"
    return "streams" if torch.get_num_threads() >= STREAMS and computes else "inline"


def pipelined(chunks: Iterable[Chunk], prepare: Callable[[Chunk], Sequence[Batch]], run: Callable[[Batch], Result],
              device: torch.device, computes: bool = True) -> Iterator[tuple[Chunk, list[Result]]]:
    """`text_pipeline.pipelined` for a PyTorch network on `device`, the work shared as `mode_for` says (network
    streams included). `run` enters its own autocast: in streams it runs on another thread (in inference mode)."""
    mode = mode_for(device, computes)
    if mode == "streams":
        return streamed(iter(chunks), prepare, run)
    return text_pipeline.pipelined(chunks, prepare, run, mode)


def streamed(chunks: Iterator[Chunk], prepare: Callable[[Chunk], Sequence[Batch]], run: Callable[[Batch], Result]
             ) -> Iterator[tuple[Chunk, list[Result]]]:
    """`text_pipeline.pipelined` in network streams, unless the whole input is too small to be worth them (fewer
    than `ENOUGH_BATCHES` batches: a single sentence, a short list), which runs here with every thread."""
    ready_made: list[tuple[Chunk, Sequence[Batch]]] = []
    batches_made = 0
    while batches_made < ENOUGH_BATCHES:
        chunk = next(chunks, None)
        if chunk is None:
            for chunk, batches in ready_made:
                yield chunk, [run(batch) for batch in batches]
            return
        ready_made.append((chunk, prepare(chunk)))
        batches_made += len(ready_made[-1][1])
    yield from in_streams(ready_made, chunks, prepare, run, STREAMS)
