"""An empty input given to lstmlab-tag, -embed or -elmo is warned of on stderr, naming it (most often a wrong file
or a step before that wrote nothing), and still gives exit status 0 and a valid, empty output (issue 26)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
from helpers import read_embeddings

from lstmlab import SentenceEncoder
from lstmlab.cli import elmo, embed, tag


@pytest.fixture
def empty_file(tmp_path) -> Path:
    path = tmp_path / "empty.txt"
    path.write_bytes(b"")
    return path


def warning_of(prog: str, name: str | Path, action: str) -> str:
    return f"{prog}: warning: {name}: empty input, nothing to {action}"


def test_tag_warns_of_an_empty_file_and_writes_an_empty_output(trained, empty_file, tmp_path, capsys):
    output = tmp_path / "tagged.conllu"
    assert tag.main(["--model", str(trained[0]), str(empty_file), "-o", str(output)]) == 0
    err = capsys.readouterr().err
    assert warning_of("lstmlab-tag", empty_file, "tag") in err and "0 sentences" in err
    assert output.read_bytes() == b""


@pytest.mark.parametrize("suffix", [".npy", ".h5", ".parquet"])
def test_embed_warns_of_an_empty_file_and_writes_an_empty_output(tiny_vectors, empty_file, tmp_path, capsys, suffix):
    model = SentenceEncoder.from_vectors(tiny_vectors).save(tmp_path / "model")
    output = tmp_path / f"embeddings{suffix}"
    assert embed.main(["--model", str(model), str(empty_file), "-o", str(output), "--quiet"]) == 0
    assert warning_of("lstmlab-embed", empty_file, "embed") in capsys.readouterr().err
    embeddings = read_embeddings(output)["embeddings"]
    assert embeddings.shape == (0, SentenceEncoder.load(model).dim) and embeddings.dtype == np.float32


def test_elmo_warns_of_an_empty_file_and_writes_an_empty_output(trained_bilm, empty_file, tmp_path, capsys):
    output = tmp_path / "elmo.h5"
    assert elmo.main(["--model", str(trained_bilm[0]), str(empty_file), "-o", str(output), "--quiet"]) == 0
    assert warning_of("lstmlab-elmo", empty_file, "embed") in capsys.readouterr().err
    with h5py.File(output, "r") as written:
        assert list(written) == ["sentence_to_index"] and json.loads(written["sentence_to_index"][0]) == {}


def test_the_console_script_warns_of_an_empty_standard_input(trained, tmp_path):
    script = Path(sys.executable).parent / "lstmlab-tag"
    if not script.exists():
        pytest.skip("lstmlab is not installed as a package (make install)")
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    result = subprocess.run([str(script), "--model", str(trained[0])], input=b"", capture_output=True, env=env,
                            timeout=120)
    assert result.returncode == 0 and result.stdout == b""
    assert warning_of("lstmlab-tag", "<stdin>", "tag") in result.stderr.decode()


def test_a_nonempty_input_gets_no_warning(trained, tmp_path, capsys):
    source = tmp_path / "raw.txt"
    source.write_text("The dog barks.\n", encoding="utf-8")
    assert tag.main(["--model", str(trained[0]), str(source)]) == 0
    assert "warning" not in capsys.readouterr().err
