"""A model knows the language of the text it was trained on: saved with its vocabularies, named by its card, and
English for every model saved before it was recorded."""

from __future__ import annotations

import json

from lstmlab.data.tagging.datamodule import TaggingDataModule
from lstmlab.data.vocab.text_vocabs import TextVocabs
from lstmlab.io.model_card import card_text, read_card
from lstmlab.io.model_folder import model_payload


def test_a_trained_model_folder_and_its_card_say_its_language(trained):
    run, _ = trained
    saved = json.loads((run / "model" / "config.json").read_text(encoding="utf-8"))
    assert saved["vocabs"]["language"] == "en"
    assert read_card(run / "model")["language"] == ["en"]


def test_the_data_language_goes_into_the_vocabularies_and_the_card(tiny_ewt):
    data = TaggingDataModule(train_path=str(tiny_ewt["train"]), language="tr")
    data.setup("fit")
    assert data.vocabs.language == "tr"
    assert TextVocabs.from_dict(data.vocabs.to_dict()).language == "tr"
    card = card_text(model_payload("tagger", {}, data.vocabs.to_dict()), None)
    assert "language:\n- tr\n" in card
    assert TaggingDataModule(train_path=str(tiny_ewt["train"])).language is None  # built as English (below)


def test_vocabularies_saved_before_the_language_was_recorded_load_as_english(tiny_ewt):
    data = TaggingDataModule(train_path=str(tiny_ewt["train"]))
    data.setup("fit")
    old = data.vocabs.to_dict()
    assert old.pop("language") == "en"
    assert TextVocabs.from_dict(old).language == "en"
    assert "language:\n- en\n" in card_text(model_payload("tagger", {}, old), None)
