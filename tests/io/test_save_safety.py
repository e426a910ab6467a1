"""Saving a model never deletes or mixes into a user's files (issue 26, defect 1): a folder of other files is
refused in one line and left as it was; over an lstmlab export only the export's own files are replaced, and its
model card and anything else a user put beside them stay."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from safetensors.torch import save_file

from lstmlab import SentenceEncoder, Tagger
from lstmlab.io.model_card import CARD_FILE
from lstmlab.io.model_folder import (
    CONFIG_FILE,
    WEIGHTS_FILE,
    NotAnExportFolder,
    load_model_file,
    save_model_folder,
)
from lstmlab.io.st_files import MODULES_FILE, ST_CONFIG_FILE

SENTENCES = ["A man is playing a guitar .", "Nobody plays ."]


def state_of(folder: Path) -> dict[str, tuple[bytes | None, int]]:
    """Every entry under `folder` (hidden ones too): its bytes (None for a folder) and modification time."""
    return {str(path.relative_to(folder)): (None if path.is_dir() else path.read_bytes(), path.stat().st_mtime_ns)
            for path in sorted(folder.rglob("*"))}


@pytest.fixture
def encoder(tiny_vectors) -> SentenceEncoder:
    """A bag-of-vectors encoder: a real model to save, made in a moment."""
    return SentenceEncoder.from_vectors(tiny_vectors)


@pytest.fixture
def project(tmp_path) -> Path:
    """A user's folder: a thesis and notes, no model."""
    folder = tmp_path / "proj"
    (folder / "notes").mkdir(parents=True)
    (folder / "thesis.tex").write_text("\\documentclass{article}\n", encoding="utf-8")
    (folder / "notes" / "a.txt").write_text("read Conneau et al. 2017\n", encoding="utf-8")
    return folder


def test_saving_into_a_users_folder_is_refused_and_touches_nothing(encoder, project):
    before = state_of(project)
    with pytest.raises(NotAnExportFolder) as refused:
        encoder.save(project)
    message = str(refused.value)
    assert "\n" not in message and message.startswith(f"{project}: ")
    assert "notes/, thesis.tex" in message and "nothing saved" in message and "new or empty folder" in message
    assert state_of(project) == before  # byte-identical, same times, no temporary file left


def test_a_refused_folder_is_listed_in_short(encoder, tmp_path):
    for index in range(5):
        (tmp_path / f"page{index}.txt").write_text(str(index), encoding="utf-8")
    with pytest.raises(NotAnExportFolder, match=r"\(page0\.txt, page1\.txt, page2\.txt and 2 more\)"):
        encoder.save(tmp_path)


def test_saving_onto_a_file_is_refused_and_leaves_it(encoder, tmp_path):
    path = tmp_path / "model"
    path.write_text("not a folder\n", encoding="utf-8")
    with pytest.raises(NotAnExportFolder, match=r"model: is a file, not a folder; nothing saved"):
        encoder.save(path)
    assert path.read_text(encoding="utf-8") == "not a folder\n" and [p.name for p in tmp_path.iterdir()] == ["model"]


@pytest.mark.parametrize("where", ["missing/nested", "empty"])
def test_a_new_or_empty_folder_gets_the_export(encoder, tmp_path, where):
    (tmp_path / "empty").mkdir()
    folder = encoder.save(tmp_path / where)
    assert sorted(p.name for p in folder.iterdir()) == sorted([WEIGHTS_FILE, CONFIG_FILE, MODULES_FILE,
                                                               ST_CONFIG_FILE])
    assert np.array_equal(SentenceEncoder.load(folder).encode(SENTENCES), encoder.encode(SENTENCES))


def run_copy(run: Path, tmp_path: Path) -> Path:
    """A trained run's model/ (with its card) of the test's own, beside the run's metrics."""
    shutil.copytree(run / "model", tmp_path / "run" / "model")
    shutil.copy(run / "metrics.json", tmp_path / "run" / "metrics.json")
    return tmp_path / "run" / "model"


def test_resaving_an_encoder_keeps_its_card_and_a_users_files(trained_nli, tmp_path):
    model = run_copy(trained_nli[0], tmp_path)
    (model / "notes.txt").write_text("the good run\n", encoding="utf-8")
    card = (model / CARD_FILE).read_bytes()
    encoder = SentenceEncoder.load(model)
    expected = encoder.encode(SENTENCES)
    assert encoder.save(model) == model
    assert (model / CARD_FILE).read_bytes() == card
    assert (model / "notes.txt").read_text(encoding="utf-8") == "the good run\n"
    assert sorted(p.name for p in model.iterdir()) == sorted([WEIGHTS_FILE, CONFIG_FILE, MODULES_FILE,
                                                              ST_CONFIG_FILE, CARD_FILE, "notes.txt"])
    assert np.array_equal(SentenceEncoder.load(model).encode(SENTENCES), expected)


def test_reexporting_a_tagger_keeps_its_card(trained, tmp_path):
    """What the training export does (save_model_folder into the run's model/) over a folder that has a card."""
    model = run_copy(trained[0], tmp_path)
    card = (model / CARD_FILE).read_bytes()
    expected = Tagger.load(model).predict(SENTENCES)
    save_model_folder(model, *load_model_file(model, "tagger"))
    assert (model / CARD_FILE).read_bytes() == card
    assert sorted(p.name for p in model.iterdir()) == sorted([WEIGHTS_FILE, CONFIG_FILE, CARD_FILE])
    assert Tagger.load(model).predict(SENTENCES) == expected


def test_a_tagger_saved_over_an_encoder_drops_only_the_encoders_files(trained, encoder, tmp_path):
    folder = encoder.save(tmp_path / "model")
    (folder / "notes.txt").write_text("kept\n", encoding="utf-8")
    save_model_folder(folder, *load_model_file(trained[0], "tagger"))
    assert sorted(p.name for p in folder.iterdir()) == sorted([WEIGHTS_FILE, CONFIG_FILE, "notes.txt"])
    assert Tagger.load(folder).predict(SENTENCES) == Tagger.load(trained[0]).predict(SENTENCES)


def test_an_export_older_than_the_header_payload_is_replaced_not_refused(encoder, tmp_path):
    """Exports from before the payload went into the safetensors header are known by their config.json."""
    folder = encoder.save(tmp_path / "model")
    payload, state = load_model_file(folder)
    save_file(state, folder / WEIGHTS_FILE)  # no lstmlab entry in the header: config.json says what it is
    encoder.save(folder)
    assert load_model_file(folder)[0] == payload
