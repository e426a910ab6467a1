"""Network streams on the CPU (`lstmlab.inference.cpu_streams`): chunks come back whole and in order whatever the
streams finish first, errors reach the caller after the chunks before their own, leaving early stops the streams,
each stream computes on its share of torch's threads and the caller's count comes back afterwards."""

from __future__ import annotations

import threading
import time

import pytest
import torch

from lstmlab.inference import cpu_streams
from lstmlab.inference.cpu_streams import ENOUGH_BATCHES, in_streams, mode_for, pipelined, thread_shares


@pytest.fixture
def two_threads():
    """torch on two threads, the count streams need, whatever this machine's cores."""
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


def stream_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name.startswith("lstmlab-stream-")]


def batches_of(chunk: list[int]) -> list[list[int]]:
    """A chunk of numbers cut into batches of 3."""
    return [chunk[start : start + 3] for start in range(0, len(chunk), 3)]


def streamed(chunks: list[list[int]], run=lambda batch: [n * n for n in batch], prepare=batches_of):
    return in_streams([(chunks[0], prepare(chunks[0]))], iter(chunks[1:]), prepare, run, streams=2)


def test_chunks_come_back_whole_and_in_order_from_both_streams(two_threads):
    chunks = [list(range(start, start + size)) for start, size in ((0, 7), (7, 1), (8, 0), (8, 12), (20, 5))]
    ran_on: set[str] = set()

    def run(batch):
        ran_on.add(threading.current_thread().name)
        time.sleep(0.002 * (3 - len(batch)))  # short batches finish last: the order must not follow
        return [n * n for n in batch]

    received = list(streamed(chunks, run))
    assert [chunk for chunk, _ in received] == chunks
    assert [sum(results, []) for _, results in received] == [[n * n for n in chunk] for chunk in chunks]
    assert ran_on == {"lstmlab-stream-0", "lstmlab-stream-1"}
    assert stream_threads() == []


def test_each_stream_computes_on_its_share_and_the_callers_count_comes_back(two_threads):
    """The behaviour of torch's OpenMP build that the streams rely on: a thread's count is its own once set."""
    counts: set[tuple[str, int]] = set()

    def run(batch):
        torch.ones(100_000).cumsum(0)  # a kernel first: a thread's lazy initialisation must not undo its share
        counts.add((threading.current_thread().name, torch.get_num_threads()))
        return batch

    chunks = [list(range(30)) for _ in range(4)]
    for _ in streamed(chunks, run):
        assert torch.get_num_threads() == 1  # the caller's share while the streams run
    assert counts == {("lstmlab-stream-0", 1), ("lstmlab-stream-1", 1)}
    assert torch.get_num_threads() == 2
    later: list[int] = []
    thread = threading.Thread(target=lambda: later.append(torch.get_num_threads()))
    thread.start()
    thread.join()
    assert later == [2]  # a thread that starts computing afterwards takes the caller's count


def test_an_error_reaches_the_caller_after_the_chunks_before_its_own(two_threads):
    def prepare(chunk):
        if chunk[0] == 30:
            raise ValueError("line 31 of input.txt: empty line")
        return batches_of(chunk)

    chunks = [list(range(start, start + 10)) for start in range(0, 60, 10)]
    received = []
    started = time.perf_counter()
    with pytest.raises(ValueError, match="line 31 of input.txt: empty line"):
        for chunk, _ in streamed(chunks, prepare=prepare):
            received.append(chunk[0])
    assert received == [0, 10, 20] and time.perf_counter() - started < 5
    assert stream_threads() == []


def test_an_error_in_the_network_or_in_reading_reaches_the_caller(two_threads):
    def run(batch):
        if 7 in batch:
            raise RuntimeError("out of memory")
        return batch

    with pytest.raises(RuntimeError, match="out of memory"):
        list(streamed([list(range(5)), list(range(5, 10))], run))

    def lines():
        yield [3, 4, 5]
        raise UnicodeDecodeError("utf-8", b"\xff", 0, 1, "input.txt line 9: invalid start byte")

    received = []
    with pytest.raises(UnicodeDecodeError, match="input.txt line 9"):
        for chunk, _ in in_streams([([1, 2], [[1, 2]])], lines(), batches_of, lambda batch: batch, streams=2):
            received.append(chunk)
    assert received == [[1, 2], [3, 4, 5]]
    assert stream_threads() == []


def test_leaving_the_loop_early_stops_the_streams(two_threads):
    def endless():
        start = 0
        while True:
            yield list(range(start, start + 6))
            start += 6

    for chunk, _ in in_streams([([0], [[0]])], endless(), batches_of, lambda batch: batch, streams=2):
        if chunk[0] >= 30:
            break
    assert stream_threads() == []
    assert torch.get_num_threads() == 2


def test_too_little_for_streams_runs_in_the_caller_with_every_thread(two_threads, monkeypatch):
    seen: list[tuple[str, int]] = []

    def run(batch):
        seen.append((threading.current_thread().name, torch.get_num_threads()))
        return batch

    small = [[1, 2], list(range(3, 3 + 3 * (ENOUGH_BATCHES - 2)))]  # one batch short of enough, over two chunks
    assert [chunk for chunk, _ in cpu_streams.streamed(iter(small), batches_of, run)] == small
    assert set(seen) == {(threading.current_thread().name, 2)}
    assert list(cpu_streams.streamed(iter([]), batches_of, run)) == []
    enough = [list(range(3 * ENOUGH_BATCHES))]
    assert [chunk for chunk, _ in cpu_streams.streamed(iter(enough), batches_of, run)] == enough
    assert seen[-1][0].startswith("lstmlab-stream-")


def test_the_mode_follows_the_device_and_the_thread_count(two_threads):
    assert mode_for(torch.device("cpu")) == "streams"
    assert mode_for(torch.device("meta")) == "background"
    torch.set_num_threads(1)
    assert mode_for(torch.device("cpu")) == "inline"


def test_threads_are_shared_as_evenly_as_they_go():
    assert thread_shares(2, 2) == [1, 1]
    assert thread_shares(5, 2) == [3, 2]
    assert thread_shares(16, 2) == [8, 8]
    assert thread_shares(1, 2) == [1, 1]


def test_a_network_that_barely_computes_runs_inline(two_threads, monkeypatch):
    """A bag of vectors is all text work: two streams would only take turns at the GIL."""
    ran_on: set[str] = set()

    def run(batch):
        ran_on.add(threading.current_thread().name)
        return batch

    chunks = [list(range(start, start + 9)) for start in range(0, 90, 9)]
    assert [chunk for chunk, _ in pipelined(chunks, batches_of, run, torch.device("cpu"), computes=False)] == chunks
    assert ran_on == {threading.current_thread().name}


def test_the_callers_autocast_holds_in_the_streams(two_threads):
    """Autocast is per thread: a user's `torch.autocast("cpu")` around encode() must reach the network."""
    states: set[tuple[bool, torch.dtype]] = set()

    def run(batch):
        states.add((torch.is_autocast_enabled("cpu"), torch.get_autocast_dtype("cpu")))
        return batch

    chunks = [list(range(12)), list(range(12, 24))]
    with torch.autocast("cpu", dtype=torch.float16):
        list(streamed(chunks, run))
    assert states == {(True, torch.float16)}
    states.clear()
    list(streamed(chunks, run))
    assert {enabled for enabled, _ in states} == {False}
