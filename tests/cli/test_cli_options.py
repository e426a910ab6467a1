"""The options `lstmlab-tag`, `lstmlab-embed`, `lstmlab-elmo` and `lstmlab-eval-transfer` share mean one thing,
spelled one way (`lstmlab.cli.options`); what they do: -o, --tokenized, and --bf16 in the three inference APIs."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
from conftest import ROOT, needs_bf16

from lstmlab import Elmo, SentenceEncoder, Tagger
from lstmlab.cli import elmo, embed, eval_transfer, tag
from lstmlab.data.tokenization.tokenize import tokenize
from lstmlab.utils.cpu import bf16_lstm_supported

PARSERS: dict[str, Callable[[], argparse.ArgumentParser]] = {
    "lstmlab-tag": tag.build_parser, "lstmlab-embed": embed.build_parser, "lstmlab-elmo": elmo.build_parser,
    "lstmlab-eval-transfer": eval_transfer.build_parser,
}
# the least each command parses, to which an option under test is added
REQUIRED = {"lstmlab-tag": ["--model", "m"], "lstmlab-embed": ["--model", "m", "-o", "e.npy"],
            "lstmlab-elmo": ["--model", "m", "in.txt", "-o", "e.h5"], "lstmlab-eval-transfer": ["--model", "m"]}
TOKENIZED_DEFAULT = {"lstmlab-tag": False, "lstmlab-embed": False, "lstmlab-elmo": True,  # allennlp's convention
                     "lstmlab-eval-transfer": False}
TEXT = ["The cat sat on the mat.", "I don't know", "We will never forget ."]


def option(parser: argparse.ArgumentParser, flag: str) -> argparse.Action:
    (action,) = [action for action in parser._actions if flag in action.option_strings]
    return action


@pytest.mark.parametrize("flag", ["--model", "--device", "--batch-size", "--bf16", "--tokenized", "-o"])
def test_every_command_spells_and_types_a_shared_option_alike(flag):
    actions = {name: option(build(), flag) for name, build in PARSERS.items()}
    described = {(tuple(a.option_strings), a.dest) for a in actions.values()}
    assert len(described) == 1, described
    if flag == "-o":  # a file, checked per format, or (eval-transfer) a folder
        return
    assert len({(type(a), a.type, a.nargs) for a in actions.values()}) == 1
    if flag == "--tokenized":
        assert {name: a.default for name, a in actions.items()} == TOKENIZED_DEFAULT
        assert isinstance(actions["lstmlab-tag"], argparse.BooleanOptionalAction)
        assert "allennlp" in actions["lstmlab-elmo"].help
    else:
        assert len({a.default for a in actions.values()}) == 1
    if flag == "--model":  # the same words, then which kind of model
        common = "run directory, exported model folder or .ckpt file of "
        assert all(a.help.startswith(common) for a in actions.values())
    elif flag != "--tokenized":
        assert len({a.help for a in actions.values()}) == 1


@pytest.mark.parametrize("name", PARSERS)
@pytest.mark.parametrize(("value", "message"), [("0", "must be at least 1, got 0"),
                                                ("many", "expected a whole number of at least 1, got 'many'")])
def test_a_bad_batch_size_is_an_argparse_error_naming_the_flag(name, value, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        PARSERS[name]().parse_args([*REQUIRED[name], "--batch-size", value])
    assert exit_.value.code == 2
    assert f"{name}: error: argument --batch-size: {message}" in capsys.readouterr().err


@pytest.mark.parametrize("name", PARSERS)
def test_tokenized_has_a_negative_form(name):
    parser = PARSERS[name]()
    assert parser.parse_args([*REQUIRED[name], "--tokenized"]).tokenized is True
    assert parser.parse_args([*REQUIRED[name], "--no-tokenized"]).tokenized is False


def test_elmo_has_no_second_spelling_for_raw_input(capsys):
    with pytest.raises(SystemExit):
        elmo.build_parser().parse_args([*REQUIRED["lstmlab-elmo"], "--tokenize"])
    assert "unrecognized arguments: --tokenize" in capsys.readouterr().err


def test_eval_transfer_refuses_bf16_for_the_bag_of_vectors(capsys):
    with pytest.raises(SystemExit) as exit_:
        eval_transfer.main(["--vectors", "glove.txt", "--bf16"])
    assert exit_.value.code == 2 and "--bf16 is for a --model's LSTM" in capsys.readouterr().err


def test_eval_transfer_hands_the_encoder_its_tokenized_and_bf16_settings():
    class Recording:
        dim = 1

        def encode(self, sentences, batch_size, bf16):
            self.call = (sentences, batch_size, bf16)
            return np.zeros((len(sentences), 1), dtype=np.float32)

    recording = Recording()
    eval_transfer.CommandEncoder(recording, tokenized=True, bf16=True).encode(["don't stop"], batch_size=3)
    assert recording.call == ([["don't", "stop"]], 3, True)
    eval_transfer.CommandEncoder(recording, tokenized=False, bf16=False).encode(["don't stop"])
    assert recording.call == (["don't stop"], 64, False)


# --- what the options do -----------------------------------------------------------------------------------------


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return path


def test_tag_output_file_holds_what_stdout_would_and_stdout_stays_empty(trained, tmp_path, capsys):
    source = write_lines(tmp_path / "in.txt", TEXT)
    assert tag.main(["--model", str(trained[0]), str(source)]) == 0
    printed = capsys.readouterr().out
    output = tmp_path / "out.conllu"
    assert tag.main(["--model", str(trained[0]), str(source), "-o", str(output)]) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and output.read_text(encoding="utf-8") == printed
    tokens = sum(len(tokenize(line)) for line in TEXT)
    assert printed.count("# sent_id = ") == 3
    assert len([row for row in printed.splitlines() if row[:1].isdigit()]) == tokens
    assert f"3 sentences, {tokens} tokens" in captured.err and str(output) in captured.err


def test_tag_output_file_is_whole_or_absent(trained, tmp_path, capsys):
    output = write_lines(tmp_path / "out.conllu", ["older output"])
    source = write_lines(tmp_path / "in.txt", [TEXT[0], "", TEXT[1]])
    assert tag.main(["--model", str(trained[0]), str(source), "-o", str(output)]) == 2
    assert "in.txt:2: empty line: expected one sentence per line" in capsys.readouterr().err
    assert output.read_text() == "older output\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.txt", "out.conllu"]  # no temporary file left


def test_tag_output_that_is_a_folder_is_refused_before_any_work(tmp_path, capsys):
    with pytest.raises(SystemExit):
        tag.main(["--model", "unused", "-o", str(tmp_path)])
    assert f"argument -o/--output: {tmp_path}: is a folder; expected an output file" in capsys.readouterr().err


def test_elmo_no_tokenized_reads_raw_text_by_lstmlabs_rule(trained_bilm, tmp_path):
    source = write_lines(tmp_path / "raw.txt", ["I don't know."])
    raw, split = tmp_path / "raw.h5", tmp_path / "split.h5"
    assert elmo.main(["--model", str(trained_bilm[0]), str(source), "-o", str(raw), "--no-tokenized", "--quiet"]) == 0
    assert elmo.main(["--model", str(trained_bilm[0]), str(source), "-o", str(split), "--quiet"]) == 0
    tokens = tokenize("I don't know.")
    assert tokens == ["I", "do", "n't", "know", "."]
    with h5py.File(raw, "r") as store:
        assert json.loads(store["sentence_to_index"][0]) == {" ".join(tokens): "0"}
        expected = Elmo.load(trained_bilm[0])([tokens]).layers[:, 0]
        torch.testing.assert_close(torch.from_numpy(store["0"][()]), expected, atol=1e-6, rtol=0)
    with h5py.File(split, "r") as store:  # the default: whitespace only, as allennlp
        assert json.loads(store["sentence_to_index"][0]) == {"I don't know.": "0"}


# --- bf16 ----------------------------------------------------------------------------------------------------------


@needs_bf16
def test_tagger_bf16_tags_nearly_as_float32(trained, tiny_ewt):
    from lstmlab.data.readers.conllu import read_conllu

    sentences = [sentence["tokens"] for sentence in read_conllu(tiny_ewt["test"])]
    tagger = Tagger.load(trained[0])
    full, half = tagger.predict(sentences), tagger.predict(sentences, bf16=True)
    pairs = [(a, b) for f, h in zip(full, half, strict=True) for a, b in zip(f.tags, h.tags, strict=True)]
    assert sum(a == b for a, b in pairs) / len(pairs) > 0.98


@needs_bf16
def test_elmo_bf16_vectors_are_within_1e_2_of_float32(trained_bilm):
    model = Elmo.load(trained_bilm[0])
    sentences = [sentence.split() for sentence in TEXT]
    full, half = model(sentences), model(sentences, bf16=True)
    assert half.layers.dtype == torch.float32
    torch.testing.assert_close(half.layers, full.layers, atol=1e-2, rtol=0)


def bf16_calls(request: pytest.FixtureRequest) -> dict[str, Callable[[], object]]:
    tagger, encoder, bilm = (request.getfixturevalue(name)[0] for name in ("trained", "trained_nli", "trained_bilm"))
    return {"Tagger.predict": lambda: Tagger.load(tagger).predict(TEXT, bf16=True),
            "SentenceEncoder.encode": lambda: SentenceEncoder.load(encoder).encode(TEXT, bf16=True),
            "Elmo": lambda: Elmo.load(bilm)([sentence.split() for sentence in TEXT], bf16=True)}


@pytest.mark.skipif(bf16_lstm_supported(), reason="this CPU runs bf16 LSTMs: nothing to refuse")
@pytest.mark.parametrize("api", ["Tagger.predict", "SentenceEncoder.encode", "Elmo"])
def test_bf16_is_refused_clearly_where_the_cpu_cannot(api, request):
    with pytest.raises(ValueError, match=r"bf16 needs a CPU whose oneDNN runs a bf16 LSTM .*run in float32"):
        bf16_calls(request)[api]()


def test_the_bf16_probe_answers_alike_inside_inference_mode():
    """The inference APIs run in inference mode, where no backward pass is possible: their first call of the
    (cached) probe must not answer "no bf16" for that reason."""
    answer = bf16_lstm_supported()
    bf16_lstm_supported.cache_clear()
    with torch.inference_mode():
        assert bf16_lstm_supported() == answer


def run_command(command: str, model: Path, folder: Path, *extra: str, **env: str) -> subprocess.CompletedProcess:
    """`lstmlab-<command> --model MODEL in.txt [-o ...] EXTRA` in a fresh process (a fresh bf16 probe)."""
    source = write_lines(folder / "in.txt", TEXT)
    output = {"tag": [], "embed": ["-o", str(folder / "e.npy"), "--quiet"],
              "elmo": ["-o", str(folder / "e.h5"), "--quiet"]}[command]
    return subprocess.run([sys.executable, "-m", f"lstmlab.cli.{command}", "--model", str(model), str(source),
                           *output, *extra], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(ROOT / "src"), **env})


MODEL_OF = {"tag": "trained", "embed": "trained_nli", "elmo": "trained_bilm"}


@needs_bf16
@pytest.mark.parametrize("command", MODEL_OF)
def test_commands_run_in_bf16_where_the_cpu_can(command, request, tmp_path):
    result = run_command(command, request.getfixturevalue(MODEL_OF[command])[0], tmp_path, "--bf16")
    assert result.returncode == 0, result.stderr[-2000:]


@pytest.mark.parametrize("command", MODEL_OF)
def test_commands_refuse_bf16_in_one_line_where_onednn_cannot(command, request, tmp_path):
    """ONEDNN_MAX_CPU_ISA=AVX2 makes oneDNN behave as on an AVX2-only CPU (such as AMD Zen 3), on any x86 CPU."""
    result = run_command(command, request.getfixturevalue(MODEL_OF[command])[0], tmp_path, "--bf16",
                         ONEDNN_MAX_CPU_ISA="AVX2")
    if result.returncode == 0:
        pytest.skip("ONEDNN_MAX_CPU_ISA=AVX2 does not hide bf16 on this machine")
    assert result.returncode == 2 and result.stdout == ""
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"lstmlab-{command}: error: bf16 needs a CPU whose oneDNN runs a bf16 LSTM")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.txt"]
