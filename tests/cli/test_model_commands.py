"""`lstmlab-tag`, `lstmlab-embed` and `lstmlab-elmo` share one parser shape (`options.model_command_parser` and
`options.add_run_options`) and one main loop ending in one summary line (`command.throughput_summary`)."""

from __future__ import annotations

import re

import pytest

from lstmlab.cli import elmo, embed, options, tag
from lstmlab.cli.command import throughput_summary

COMMANDS = {"lstmlab-tag": tag, "lstmlab-embed": embed, "lstmlab-elmo": elmo}
SENTENCES = ["The people of this nation .", "We will never forget .", "Thank you ."]  # 14 tokens, either way


@pytest.mark.parametrize("prog", COMMANDS)
def test_every_model_command_lists_its_own_options_then_the_shared_run_options_in_one_order(prog):
    flags = [action.option_strings[0] for action in COMMANDS[prog].build_parser()._actions if action.option_strings]
    shared = ["--tokenized", "--batch-size", "--device", "--bf16"] + (["--quiet"] if prog != "lstmlab-tag" else [])
    assert flags[:3] == ["-h", "--model", "-o"]
    assert flags[-len(shared):] == shared
    assert COMMANDS[prog].build_parser().prog == prog


def test_the_input_is_optional_where_standard_input_is_the_default():
    parser = options.model_command_parser("lstmlab-x", None, "a model", "output file")
    assert parser.parse_args(["--model", "m", "-o", "out"]).input == "-"
    required = options.model_command_parser("lstmlab-x", None, "a model", "output file", input_required=True)
    with pytest.raises(SystemExit):
        required.parse_args(["--model", "m", "-o", "out"])


def test_the_summary_gives_the_rate_and_where_the_output_went():
    summary = throughput_summary("3 sentences, 12,345 tokens", 12345, "tokens", "<stdout>", "; a note")
    assert summary(2.0) == "3 sentences, 12,345 tokens in 2.0 s (6,172 tokens/s); a note -> <stdout>"
    assert summary(0.0).startswith("3 sentences, 12,345 tokens in 0.0 s (")  # no division by zero


def summary_line(capsys, prog: str) -> str:
    (line,) = [line for line in capsys.readouterr().err.splitlines() if line.startswith(f"{prog}: ")]
    return line


def test_each_command_ends_in_its_summary_line(trained, trained_nli, trained_bilm, tmp_path, capsys):
    source = tmp_path / "in.txt"
    source.write_text("".join(f"{line}\n" for line in SENTENCES), encoding="utf-8")
    rate = r"in \d+\.\d s \([\d,]+ {}/s\)"

    assert tag.main(["--model", str(trained[0]), str(source)]) == 0
    assert re.fullmatch(rf"lstmlab-tag: 3 sentences, 14 tokens {rate.format('tokens')} -> <stdout>",
                        summary_line(capsys, "lstmlab-tag"))

    output = tmp_path / "vectors.npy"
    assert embed.main(["--model", str(trained_nli[0]), str(source), "-o", str(output), "--quiet"]) == 0
    assert re.fullmatch(rf"lstmlab-embed: 3 sentences x \d+ dims {rate.format('sentences')} "
                        rf"-> {re.escape(str(output))}", summary_line(capsys, "lstmlab-embed"))

    output = tmp_path / "elmo.h5"
    assert elmo.main(["--model", str(trained_bilm[0]), str(source), "-o", str(output), "--quiet"]) == 0
    assert re.fullmatch(rf"lstmlab-elmo: 3 sentences, 14 tokens {rate.format('tokens')}"
                        rf"(; \d+ tokens with characters the model never saw)? -> {re.escape(str(output))}",
                        summary_line(capsys, "lstmlab-elmo"))
