"""What the command lines share (their options are in `lstmlab.cli.options`): bad input and missing files end in
one `prog: error: ...` line and exit status 2, Ctrl-C (SIGINT) in status 130 and SIGTERM in 143, each with one line
(outputs are written atomically, so nothing partial is left: `lstmlab.utils.termination` makes SIGTERM an exception
for the command's lifetime)."""

from __future__ import annotations

import argparse
import signal
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, TextIO, TypeVar

from lstmlab.data.errors import DataFormatError
from lstmlab.io.model_errors import ModelFileError
from lstmlab.utils.atomic_file import atomic_file
from lstmlab.utils.malloc_tuning import tune_malloc
from lstmlab.utils.onednn_cache import bound_primitive_cache
from lstmlab.utils.termination import Terminated, terminate_as_interrupt

Model = TypeVar("Model")


def describe_os_error(error: OSError) -> str:
    """`path: reason` rather than Python's `[Errno 13] Permission denied: 'path'`."""
    return f"{error.filename}: {error.strerror}" if error.filename and error.strerror else str(error)


def run_command(prog: str, work: Callable[[], str]) -> int:
    """Run `work`, which returns the summary line printed on success; the exit status."""
    try:
        with terminate_as_interrupt():
            summary = work()
    except (DataFormatError, ModelFileError, ValueError) as error:
        print(f"{prog}: error: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"{prog}: error: {describe_os_error(error)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as interruption:
        stopped, signum = (("terminated", signal.SIGTERM) if isinstance(interruption, Terminated)
                           else ("interrupted", signal.SIGINT))
        print(f"{prog}: {stopped}; no output written", file=sys.stderr)
        return 128 + signum
    print(f"{prog}: {summary}", file=sys.stderr)
    return 0


def run_model_on_input(prog: str, args: argparse.Namespace, load: Callable[..., Model],
                       process: Callable[[Model, BinaryIO, str, int | None], Callable[[float], str]], action: str
                       ) -> int:
    """What lstmlab-tag, -embed and -elmo do: bound memory (malloc, oneDNN's kernel cache), open `args.input`, load
    the model (`load(args.model, device=args.device)`), run `process(model, handle, name, lines)` and print the
    summary it returns for the seconds it took (`throughput_summary`); the exit status (see `run_command`). An empty
    input is warned of (`nothing to {action}`) and still processed, so that the output is a valid empty one: an empty
    input is most often a step before that wrote nothing."""
    tune_malloc()
    bound_primitive_cache()

    def work() -> str:
        handle, name, total = open_input(args.input)
        with handle:
            if is_empty_input(handle):
                print(f"{prog}: warning: {name}: empty input, nothing to {action}", file=sys.stderr)
            model = load(args.model, device=args.device)
            start = time.perf_counter()
            summary = process(model, handle, name, total)
            return summary(time.perf_counter() - start)

    return run_command(prog, work)


def throughput_summary(done: str, count: int, unit: str, output: object, note: str = "") -> Callable[[float], str]:
    """A model command's summary line for the seconds it took: what was `done`, the rate of `count` `unit`s per
    second, a `note` and where the `output` went."""
    return lambda seconds: f"{done} in {seconds:.1f} s ({count / max(seconds, 1e-9):,.0f} {unit}/s){note} -> {output}"


def count_lines(path: Path) -> int:
    """Lines in a file, counted on raw bytes (fast), for the progress bar's total and time left."""
    lines, last = 0, b"\n"
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            lines += block.count(b"\n")
            last = block[-1:]
    return lines + (last != b"\n")  # a last line without a line ending


def open_input(path: str) -> tuple[BinaryIO, str, int | None]:
    """(binary handle, name for messages, line count for the progress bar) of an input file, or of standard input
    for "-" (whose length is unknown)."""
    if path == "-":
        return sys.stdin.buffer, "<stdin>", None
    file = Path(path)
    handle = file.open("rb")
    return handle, path, count_lines(file) if file.is_file() else None


def is_empty_input(handle: BinaryIO) -> bool:
    """Whether the input holds nothing, told without reading it: a buffered stream's peek, which keeps the first
    bytes of a pipe for the reader. A stream that cannot peek (an io.BytesIO given as stdin) counts as not empty."""
    peek = getattr(handle, "peek", None)
    return peek is not None and not peek(1)


@contextmanager
def text_output(path: Path | None) -> Iterator[TextIO]:
    """Standard output for None; else the file `path`, which appears whole when the block succeeds and otherwise
    not at all (an older file is left as it was)."""
    if path is None:
        yield sys.stdout
        return
    with atomic_file(path) as temporary, temporary.open("w", encoding="utf-8") as out:
        yield out
