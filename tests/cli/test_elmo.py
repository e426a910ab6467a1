"""Contextual embeddings from a trained biLM: the Python API (`Elmo`) and `lstmlab-elmo`'s HDF5 output in
allennlp's layout, in input order, whole or absent; bad input gets one clear error."""

from __future__ import annotations

import json

import h5py
import pytest
import torch

from lstmlab import Elmo
from lstmlab.cli.elmo import main as elmo_main
from lstmlab.io.model_folder import ModelFileError

SENTENCES = [["The", "people", "of", "this", "nation", "."], ["We", "will", "never", "forget", "."],
             ["Thank", "you", "."], ["The", "people", "of", "this", "nation", "."]]


@pytest.fixture(scope="module")
def elmo(trained_bilm) -> Elmo:
    return Elmo.load(trained_bilm[0])


def test_layers_and_mask(elmo):
    output = elmo(SENTENCES[:3])
    assert output.layers.shape == (3, 3, 6, elmo.dim) and elmo.num_layers == 3 and elmo.dim == 32
    assert output.mask.tolist()[2] == [True, True, True, False, False, False]
    assert output.layers[:, 2, 3:].abs().sum() == 0 and output.layers.dtype == torch.float32


def test_inference_is_stateless_and_batch_independent(elmo):
    together = elmo(SENTENCES).layers
    alone = elmo([SENTENCES[1]]).layers
    torch.testing.assert_close(together[:, 1:2, :5], alone, atol=1e-6, rtol=0)
    assert torch.equal(together[:, 0], together[:, 3])  # the same sentence, whatever came before it
    torch.testing.assert_close(elmo(SENTENCES).layers, together, atol=0, rtol=0)  # deterministic


def test_unknown_characters_are_counted(elmo):
    assert elmo([["plain", "words"]]).unknown_chars == 0
    assert elmo([["naïve", "日本", "words"]]).unknown_chars == 2


@pytest.mark.parametrize(("sentences", "message"), [
    ([["fine"], []], "sentence 1 is empty"),
    (["not tokenized"], "sentence 0 is a string: give lists of tokens"),
    ([["word"] * 1001], "sentence 0 has 1001 tokens; this model reads at most 1000"),
])
def test_bad_sentences_are_refused(elmo, sentences, message):
    with pytest.raises(ValueError, match=message):
        elmo(sentences)


def test_a_model_of_another_kind_is_refused(trained):
    with pytest.raises(ModelFileError, match="this is a 'tagger' model, expected a 'bilm' model"):
        Elmo.load(trained[0])


def write_input(tmp_path, sentences=SENTENCES):
    path = tmp_path / "tokenized.txt"
    path.write_text("".join(" ".join(tokens) + "\n" for tokens in sentences), encoding="utf-8")
    return path


def test_hdf5_layout_and_order(trained_bilm, elmo, tmp_path, capsys):
    source, output = write_input(tmp_path), tmp_path / "elmo.h5"
    assert elmo_main(["--model", str(trained_bilm[0]), str(source), "-o", str(output), "--batch-size", "2",
                      "--quiet"]) == 0
    expected = elmo(SENTENCES).layers
    with h5py.File(output, "r") as store:
        assert set(store) == {"0", "1", "2", "3", "sentence_to_index"}
        for index, tokens in enumerate(SENTENCES):
            layers = store[str(index)][()]
            assert layers.shape == (3, len(tokens), elmo.dim)
            torch.testing.assert_close(torch.from_numpy(layers), expected[:, index, : len(tokens)], atol=1e-6,
                                       rtol=0)
        mapping = json.loads(store["sentence_to_index"][0])
    assert mapping == {"We will never forget .": "1", "Thank you .": "2", "The people of this nation .": "3"}
    assert "4 sentences, 20 tokens" in capsys.readouterr().err


@pytest.mark.parametrize("choice", ["top", "average"])
def test_top_and_average_layers(trained_bilm, tmp_path, choice):
    source = write_input(tmp_path)
    every, chosen = tmp_path / "all.h5", tmp_path / f"{choice}.h5"
    for path, layers in ((every, "all"), (chosen, choice)):
        assert elmo_main(["--model", str(trained_bilm[0]), str(source), "-o", str(path), "--layers", layers,
                          "--quiet"]) == 0
    with h5py.File(every, "r") as full, h5py.File(chosen, "r") as picked:
        layers = full["1"][()]
        want = layers[-1] if choice == "top" else layers.mean(axis=0)
        assert picked["1"].shape == (5, layers.shape[-1])
        assert abs(picked["1"][()] - want).max() < 1e-6


def test_an_empty_line_stops_the_export_and_leaves_no_output(trained_bilm, tmp_path, capsys):
    source = tmp_path / "tokenized.txt"
    source.write_text("Thank you .\n\nGood night .\n", encoding="utf-8")
    output = tmp_path / "elmo.h5"
    assert elmo_main(["--model", str(trained_bilm[0]), str(source), "-o", str(output), "--quiet"]) == 2
    assert "tokenized.txt:2: empty line: expected one sentence of tokens per line" in capsys.readouterr().err
    assert not output.exists() and list(tmp_path.iterdir()) == [source]


def test_an_over_long_line_names_it(trained_bilm, tmp_path, capsys):
    source = write_input(tmp_path, [["a"], ["word"] * 1001])
    assert elmo_main(["--model", str(trained_bilm[0]), str(source), "-o", str(tmp_path / "x.h5"), "--quiet"]) == 2
    assert "tokenized.txt:2: 1001 tokens; this model reads at most 1000" in capsys.readouterr().err


def test_a_tagger_given_to_lstmlab_elmo_is_refused(trained, tmp_path, capsys):
    source = write_input(tmp_path)
    assert elmo_main(["--model", str(trained[0]), str(source), "-o", str(tmp_path / "x.h5"), "--quiet"]) == 2
    assert "expected a 'bilm' model" in capsys.readouterr().err
