"""`Tagger`, `SentenceEncoder` and `Elmo` load through one `TrainedModel.load`: each its own kind of model from a
run directory, its network in evaluation mode with the vocabularies it was trained with; another kind is refused
with a WrongModelKind that names both (SentenceEncoder's then says what to train or call instead)."""

from __future__ import annotations

import pytest

from lstmlab import Elmo, SentenceEncoder, Tagger
from lstmlab.inference.trained_model import TrainedModel
from lstmlab.io.model_folder import WrongModelKind, load_model_file

CLASSES: dict[str, type[TrainedModel]] = {"tagger": Tagger, "nli": SentenceEncoder, "bilm": Elmo}
SENTENCE_ENCODER_HINT = (". SentenceEncoder needs a sentence encoder trained on NLI (lstmlab-train experiment=nli_cpu) "
                         "or SentenceEncoder.from_vectors(...)")


@pytest.fixture(scope="module")
def runs(trained, trained_nli, trained_bilm) -> dict:
    return {"tagger": trained[0], "nli": trained_nli[0], "bilm": trained_bilm[0]}


@pytest.mark.parametrize("kind", CLASSES)
def test_each_class_loads_its_own_kind_through_the_one_load(kind, runs):
    model = CLASSES[kind].load(runs[kind])
    assert type(model) is CLASSES[kind] and "load" not in vars(CLASSES[kind])
    assert model.net.kind == kind and not model.net.training
    assert model.vocabs.to_dict() == load_model_file(runs[kind])[0]["vocabs"]


@pytest.mark.parametrize(("kind", "other", "hint"), [("tagger", "nli", ""), ("bilm", "tagger", ""),
                                                     ("nli", "tagger", SENTENCE_ENCODER_HINT)])
def test_another_kind_is_refused_naming_both(kind, other, hint, runs):
    with pytest.raises(WrongModelKind) as refusal:
        CLASSES[kind].load(runs[other])
    assert str(refusal.value).endswith(f": this is a {other!r} model, expected a {kind!r} model{hint}")
