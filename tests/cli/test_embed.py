"""Embedding export: the writers round-trip what they are given and write whole files or none; `lstmlab-embed`
writes one row per line, as `SentenceEncoder.encode` computes it, and stops with a clear error on bad input."""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pytest
from helpers import FORMATS, SENTENCES, leftovers, read_embeddings

from lstmlab.cli import embed as embed_command
from lstmlab.cli.embed import main
from lstmlab.data.tokenization.tokenize import tokenize
from lstmlab.inference.sentence_encoder import SentenceEncoder
from lstmlab.io.embedding_writers import open_writer
from lstmlab.models.nli_classifier import NLIClassifier


@pytest.mark.parametrize("suffix", FORMATS)
def test_writer_round_trip_keeps_values_order_and_shapes(tmp_path, suffix):
    rng = np.random.default_rng(0)
    sentences = [" ".join(["word"] * n) + " ü€" for n in range(30, 0, -1)]  # reverse length order
    vectors = rng.standard_normal((len(sentences), 6)).astype(np.float32)
    empty = np.zeros(len(sentences), dtype=bool)
    vectors[4], empty[4] = 0.0, True
    path = tmp_path / f"emb{suffix}"
    attributes = {"model": "/runs/nli", "dim": 6, "normalized": False}
    with open_writer(path, 6, attributes) as writer:
        for start, stop in ((0, 7), (7, 8), (8, 8), (8, 30)):  # uneven batches, one of a single row, one empty
            writer.write(vectors[start:stop], sentences[start:stop], empty[start:stop])
        assert writer.commit() == path
    assert leftovers(tmp_path, path.name) == []

    read = read_embeddings(path)
    assert read["embeddings"].shape == (30, 6) and read["embeddings"].dtype == np.float32
    np.testing.assert_array_equal(read["embeddings"], vectors)
    if suffix != ".npy":
        assert read["sentences"] == sentences
        assert read["empty"].shape == (30,) and read["empty"].tolist() == empty.tolist()
        assert {k: v.item() if isinstance(v, np.generic) else v for k, v in read["attributes"].items()} == attributes
    if suffix == ".parquet":
        assert read["lines"] == list(range(1, 31))


@pytest.mark.parametrize("suffix", FORMATS)
@pytest.mark.parametrize("rows", [0, 1])
def test_writer_output_is_two_dimensional_for_zero_or_one_row(tmp_path, suffix, rows):
    path = tmp_path / f"emb{suffix}"
    with open_writer(path, 4) as writer:
        writer.write(np.ones((rows, 4), np.float32), ["one sentence"] * rows, np.zeros(rows, bool))
        writer.commit()
    assert read_embeddings(path)["embeddings"].shape == (rows, 4)


@pytest.mark.parametrize("suffix", FORMATS)
@pytest.mark.parametrize("interruption", [RuntimeError, KeyboardInterrupt])
def test_failed_export_leaves_the_older_output_and_no_temporary_file(tmp_path, suffix, interruption):
    path = tmp_path / f"emb{suffix}"
    with open_writer(path, 3) as writer:
        writer.write(np.full((2, 3), 7, np.float32), ["old one", "old two"], np.zeros(2, bool))
        writer.commit()
    before = path.read_bytes()

    with pytest.raises(interruption), open_writer(path, 3) as writer:
        writer.write(np.zeros((5, 3), np.float32), ["new"] * 5, np.zeros(5, bool))
        assert writer.temp_path.parent == tmp_path and writer.temp_path.exists()
        raise interruption("stopped mid-export")
    assert path.read_bytes() == before
    assert leftovers(tmp_path, path.name) == []

    (tmp_path / path.name).unlink()
    with pytest.raises(RuntimeError), open_writer(path, 3) as writer:
        writer.write(np.zeros((5, 3), np.float32), ["new"] * 5, np.zeros(5, bool))
        raise RuntimeError("no older output this time")
    assert leftovers(tmp_path) == []


def test_writer_rejects_a_batch_that_does_not_match_its_sentences(tmp_path):
    with open_writer(tmp_path / "emb.npy", 4) as writer:
        with pytest.raises(ValueError, match=r"expected a \[2, 4\] batch"):
            writer.write(np.zeros((2, 5), np.float32), ["a", "b"], np.zeros(2, bool))
        with pytest.raises(ValueError, match="empty flags"):
            writer.write(np.zeros((2, 4), np.float32), ["a", "b"], np.zeros(3, bool))
        with pytest.raises(ValueError):
            writer.write(np.zeros(4, np.float32), ["a"], np.zeros(1, bool))  # a 1-D vector is not a batch
    assert leftovers(tmp_path) == []  # never committed: nothing appears


def test_unknown_extension_names_the_known_ones(tmp_path):
    with pytest.raises(ValueError, match=r"'\.csv'.*\.npy, \.h5, \.parquet"):
        open_writer(tmp_path / "emb.csv", 4)
    assert leftovers(tmp_path) == []


# --- the lstmlab-embed command ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def encoder(vectors_model) -> SentenceEncoder:
    return SentenceEncoder.load(vectors_model)


def embed(*argv: str | Path) -> int:
    return main([str(arg) for arg in argv])


def write_input(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return path


@pytest.mark.parametrize("suffix", FORMATS)
def test_embed_writes_one_row_per_line_as_encode_does(tmp_path, vectors_model, encoder, monkeypatch, capsys, suffix):
    monkeypatch.setattr(embed_command, "CHUNK_LINES", 2)  # several chunks, the last one short
    source = write_input(tmp_path / "in.txt", SENTENCES)
    output = tmp_path / f"emb{suffix}"
    assert embed("--model", vectors_model, source, "-o", output, "--batch-size", "2") == 0

    read = read_embeddings(output)
    assert read["embeddings"].shape == (len(SENTENCES), encoder.dim)
    np.testing.assert_array_equal(read["embeddings"], encoder.encode(SENTENCES))
    if suffix != ".npy":
        assert read["sentences"] == SENTENCES and not read["empty"].any()
    summary = capsys.readouterr().err.strip().splitlines()[-1]
    assert f"{len(SENTENCES)} sentences" in summary and f"{encoder.dim} dims" in summary
    assert "sentences/s" in summary and str(output) in summary
    assert leftovers(tmp_path, "in.txt", output.name) == []


def test_embed_with_a_trained_nli_model_matches_its_encoder(tmp_path, trained_nli, monkeypatch):
    run_dir, _ = trained_nli
    monkeypatch.setattr(embed_command, "CHUNK_LINES", 3)
    output = tmp_path / "emb.h5"
    assert embed("--model", run_dir, write_input(tmp_path / "in.txt", SENTENCES), "-o", output, "--quiet") == 0

    encoder = SentenceEncoder.load(run_dir)
    read = read_embeddings(output)
    assert read["embeddings"].shape == (len(SENTENCES), encoder.dim)
    np.testing.assert_allclose(read["embeddings"], encoder.encode(SENTENCES), rtol=1e-5, atol=1e-6)
    assert read["sentences"] == SENTENCES
    assert read["attributes"]["model"] == str(run_dir.resolve()) and read["attributes"]["dim"] == encoder.dim


def test_embed_reads_standard_input_pretokenized_and_normalizes(tmp_path, vectors_model, encoder, monkeypatch):
    tokenized = [" ".join(tokenize(sentence)) for sentence in SENTENCES]
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO("\n".join(tokenized).encode())))
    output = tmp_path / "emb.npy"
    assert embed("--model", vectors_model, "-o", output, "--tokenized", "--normalize", "--quiet") == 0

    expected = encoder.encode([line.split() for line in tokenized], normalize_embeddings=True)
    embeddings = read_embeddings(output)["embeddings"]
    np.testing.assert_allclose(embeddings, expected, rtol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(embeddings, axis=1), 1.0, rtol=1e-5)


def test_embed_stops_at_an_empty_line_and_keeps_the_older_output(tmp_path, vectors_model, monkeypatch, capsys):
    monkeypatch.setattr(embed_command, "CHUNK_LINES", 2)  # the empty line comes after rows were written
    output = tmp_path / "emb.parquet"
    assert embed("--model", vectors_model, write_input(tmp_path / "old.txt", SENTENCES[:1]), "-o", output) == 0
    before = output.read_bytes()

    source = write_input(tmp_path / "in.txt", [*SENTENCES[:3], "  ", *SENTENCES[3:]])
    assert embed("--model", vectors_model, source, "-o", output) == 2
    assert f"lstmlab-embed: error: {source}:4: empty line" in capsys.readouterr().err
    assert output.read_bytes() == before
    assert leftovers(tmp_path, "old.txt", "in.txt", output.name) == []


def test_embed_interrupted_leaves_no_output(tmp_path, vectors_model, monkeypatch, capsys):
    monkeypatch.setattr(embed_command, "CHUNK_LINES", 2)
    embed_batch = NLIClassifier.embed
    calls = iter(range(100))

    def embed_then_ctrl_c(self, *args, **kwargs):
        if next(calls) == 1:  # the second chunk (of one batch), after the first was written
            raise KeyboardInterrupt
        return embed_batch(self, *args, **kwargs)

    monkeypatch.setattr(NLIClassifier, "embed", embed_then_ctrl_c)
    assert embed("--model", vectors_model, write_input(tmp_path / "in.txt", SENTENCES), "-o", tmp_path / "e.npy") == 130
    assert "interrupted" in capsys.readouterr().err
    assert leftovers(tmp_path, "in.txt") == []


def test_embed_allow_empty_gives_a_flagged_zero_row(tmp_path, vectors_model, encoder, capsys):
    lines = [SENTENCES[0], "", SENTENCES[1]]
    output = tmp_path / "emb.h5"
    assert embed("--model", vectors_model, write_input(tmp_path / "in.txt", lines), "-o", output, "--allow-empty") == 0

    read = read_embeddings(output)
    assert read["empty"].tolist() == [False, True, False]
    np.testing.assert_array_equal(read["embeddings"][1], 0.0)
    np.testing.assert_array_equal(read["embeddings"][[0, 2]], encoder.encode([lines[0], lines[2]]))
    assert "(1 empty" in capsys.readouterr().err


def test_embed_rejects_non_utf8_input_naming_the_line(tmp_path, vectors_model, capsys):
    source = tmp_path / "in.txt"
    source.write_bytes(b"a good line\ncaf\xe9 in latin-1\n")
    assert embed("--model", vectors_model, source, "-o", tmp_path / "emb.npy") == 2
    assert f"{source}:2: is not valid UTF-8" in capsys.readouterr().err
    assert leftovers(tmp_path, "in.txt") == []


def test_embed_rejects_an_unknown_extension_before_loading_anything(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_code:
        embed("--model", tmp_path / "no-model", "-", "-o", tmp_path / "emb.csv")
    assert exit_code.value.code == 2
    assert "lstmlab-embed: error: " in (error := capsys.readouterr().err)
    assert re.search(r"unknown output format '\.csv'; use one of \.npy, \.h5, \.parquet", error)


def test_embed_reports_an_unwritable_output(tmp_path, vectors_model, capsys):
    source = write_input(tmp_path / "in.txt", SENTENCES)
    assert embed("--model", vectors_model, source, "-o", source / "emb.npy") == 2  # unwritable, even for root
    assert f"lstmlab-embed: error: {source / 'emb.npy'}: Not a directory" in capsys.readouterr().err
    assert leftovers(tmp_path, "in.txt") == []


def test_embed_reports_a_missing_input(tmp_path, vectors_model, capsys):
    assert embed("--model", vectors_model, tmp_path / "nowhere.txt", "-o", tmp_path / "emb.npy") == 2
    assert f"lstmlab-embed: error: {tmp_path / 'nowhere.txt'}: No such file or directory" in capsys.readouterr().err


@pytest.mark.parametrize("model_path", ["run directory", "checkpoint"])
def test_embed_refuses_a_tagger_as_model(tmp_path, trained, capsys, model_path):
    run_dir, _ = trained
    model = run_dir if model_path == "run directory" else run_dir / "checkpoints" / "last.ckpt"
    source = write_input(tmp_path / "in.txt", SENTENCES)
    assert embed("--model", model, source, "-o", tmp_path / "emb.npy") == 2
    error = capsys.readouterr().err
    assert error.startswith("lstmlab-embed: error: ") and "'tagger' model, expected a 'nli' model" in error
    assert leftovers(tmp_path, "in.txt") == []
