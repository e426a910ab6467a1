"""The options that `lstmlab-tag`, `lstmlab-embed`, `lstmlab-elmo` and `lstmlab-eval-transfer` share, each defined
once (flag, type, help, default), so that one spelling means one thing in every command; the first three, which run
a model over a file of sentences, build their parsers from `model_command_parser` and `add_run_options`.

No torch here: `lstmlab-eval-transfer` checks its arguments before it imports the model code.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

BATCH_SIZE = 64  # sentences per forward pass


class Options(Protocol):
    """A parser, or a group of one (--model is in lstmlab-eval-transfer's --model/--vectors choice)."""

    def add_argument(self, *names: str, **settings: Any) -> argparse.Action: ...


def command_parser(prog: str, description: str | None) -> argparse.ArgumentParser:
    """A command's parser: its module docstring as the description, kept as written, and no abbreviated options,
    so that one option has one spelling (the old `lstmlab-elmo --tokenize` would otherwise be read as --tokenized,
    its opposite)."""
    return argparse.ArgumentParser(prog=prog, description=description, allow_abbrev=False,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)


def positive_int(text: str) -> int:
    """argparse type of a count: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def output_file(text: str) -> Path:
    """argparse type of an output file: a folder in its place is an error before any work, not after it."""
    if Path(text).is_dir():
        raise argparse.ArgumentTypeError(f"{text}: is a folder; expected an output file")
    return Path(text)


def add_model(parser: Options, kind: str, required: bool = True) -> None:
    """--model; `kind` says which models are accepted (any other kind is refused when it is loaded). In a mutually
    exclusive group, which cannot require its options one by one, `required=False`."""
    parser.add_argument("--model", required=required,
                        help=f"run directory, exported model folder or .ckpt file of {kind}; or a Hugging Face "
                             "Hub id, org/name or org/name@revision (an existing local path wins)")


def add_device(parser: Options) -> None:
    parser.add_argument("--device", default="cpu", help="torch device to run the model on: cpu, cuda, cuda:1, ... "
                                                        "(default cpu)")


def add_batch_size(parser: Options) -> None:
    parser.add_argument("--batch-size", type=positive_int, default=BATCH_SIZE,
                        help=f"sentences per forward pass (default {BATCH_SIZE})")


def add_bf16(parser: Options) -> None:
    parser.add_argument("--bf16", action="store_true",
                        help="compute in bfloat16 on a GPU or a CPU with AVX-512 bf16 or AMX (an error on other CPUs): "
                             "faster on such a CPU (docs/benchmarks.md); vectors within ~1e-2 of float32, nearly all "
                             "tags the same")


def add_quiet(parser: Options) -> None:
    parser.add_argument("--quiet", action="store_true", help="no progress bar (the final summary line remains)")


def add_tokenized(parser: Options, default: bool, why: str = "") -> None:
    """--tokenized/--no-tokenized; `why` explains the command's default."""
    shown = "--tokenized" if default else "--no-tokenized"
    parser.add_argument("--tokenized", action=argparse.BooleanOptionalAction, default=default,
                        help="input is whitespace-tokenized: split on whitespace only; --no-tokenized: raw text, "
                             f"tokenized by lstmlab's rule, lstmlab.data.tokenization.tokenize (default {shown}"
                             + (f": {why})" if why else ")"))


def add_output(parser: Options, what: str, check: Callable[[str], Path] = output_file, required: bool = False) -> None:
    """-o/--output, `what` it names: a file (checked by `check`) for most commands, a folder for
    lstmlab-eval-transfer."""
    parser.add_argument("-o", "--output", type=check, required=required, help=what)


def model_command_parser(prog: str, description: str | None, model: str, output: str, *, input_required: bool = False,
                         output_check: Callable[[str], Path] = output_file, output_required: bool = True
                         ) -> argparse.ArgumentParser:
    """The parser of a command that runs a model over a file of sentences: --model (`model` says which kind), the
    input file (standard input when left out, unless `input_required`) and -o (`output` says what it holds). The
    command then adds its own options, and `add_run_options` the shared tail."""
    parser = command_parser(prog, description)
    add_model(parser, model)
    if input_required:
        parser.add_argument("input", help="text file, one sentence per line (- for standard input)")
    else:
        parser.add_argument("input", nargs="?", default="-",
                            help="text file, one sentence per line (default or -: standard input)")
    add_output(parser, output, check=output_check, required=output_required)
    return parser


def add_run_options(parser: argparse.ArgumentParser, tokenized: bool, why: str = "", progress_bar: bool = True
                    ) -> argparse.ArgumentParser:
    """How a model command reads and runs: --tokenized (default `tokenized`, `why` explains it), --batch-size,
    --device, --bf16, and --quiet where the command shows a `progress_bar`."""
    add_tokenized(parser, tokenized, why)
    add_batch_size(parser)
    add_device(parser)
    add_bf16(parser)
    if progress_bar:
        add_quiet(parser)
    return parser
