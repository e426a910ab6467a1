"""Model folders carry their format version: older formats load where they can be converted exactly (checked
against the old network's own computation), and are refused in one line where they cannot; newer ones name the
upgrade. See the format table in lstmlab.io.model_folder."""

from __future__ import annotations

import importlib.metadata
import json
from pathlib import Path

import pytest
import torch
from helpers import old_layout
from safetensors.torch import load_file, save_file
from torch import nn

from lstmlab import SentenceEncoder, Tagger
from lstmlab.data.vocab.text_vocabs import TextVocabs
from lstmlab.data.vocab.vocab import Vocab
from lstmlab.io.model_folder import (
    CONFIG_FILE,
    FORMAT_VERSION,
    WEIGHTS_FILE,
    ModelFileError,
    load_model_file,
    model_payload,
    save_model_folder,
)
from lstmlab.models.bilstm_tagger import BiLSTMTagger, TaggerConfig
from lstmlab.models.nli_classifier import NLIClassifier, NLIConfig
from lstmlab.modules.masked_rnn import reverse_within_length

SENTENCES = ["A man is playing a guitar .", "Nobody plays .", "Two dogs run through the snow in the park .",
             "A woman is slicing an onion .", "The dogs sleep ."]
# NLIConfig fields the recurrent-layer rename (commit 3a4ad7c) and chrono init added: absent from older payloads
NEWER_NLI_FIELDS = ("cell", "bidirectional", "peephole", "coupled_gates", "chrono_init")


def text_vocabs(labels: list[str]) -> TextVocabs:
    tokens = [token for sentence in SENTENCES for token in sentence.split()]
    return TextVocabs(Vocab.build(token.lower() for token in tokens), Vocab.build(c for t in tokens for c in t),
                      Vocab(labels, pad=None, unk=None))


def nli_model(encoder: str, num_layers: int, seed: int = 0) -> tuple[NLIClassifier, TextVocabs]:
    torch.manual_seed(seed)
    vocabs = text_vocabs(["entailment", "neutral", "contradiction"])
    net = NLIClassifier(NLIConfig(num_words=len(vocabs.words), num_classes=3, word_dim=7, encoder=encoder,
                                  hidden_size=5, num_layers=num_layers, classifier_hidden=4))
    return net.eval(), vocabs


def vectors(encoder: SentenceEncoder) -> torch.Tensor:
    return torch.from_numpy(encoder.encode([s.split() for s in SENTENCES]))


class OldRecurrentLast(nn.Module):
    """The last-state encoder as lstmlab wrote it before the recurrent-layer rename (`git show
    3a4ad7c^:src/lstmlab/models/sentence_encoders.py`): one multi-layer nn.LSTM / nn.GRU per direction."""

    def __init__(self, name: str, input_dim: int, hidden_size: int, num_layers: int) -> None:
        super().__init__()
        cell = nn.GRU if "gru" in name else nn.LSTM
        self.forward_rnn = cell(input_dim, hidden_size, num_layers, batch_first=True)
        self.backward_rnn = cell(input_dim, hidden_size, num_layers, batch_first=True) if "bi" in name else None

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        lengths = mask.sum(dim=1)
        last = (lengths - 1).clamp_min(0)
        rows = torch.arange(x.shape[0], device=x.device)
        finals = [self.forward_rnn(x)[0][rows, last]]
        if self.backward_rnn is not None:
            finals.append(self.backward_rnn(reverse_within_length(x, lengths))[0][rows, last])
        return torch.cat(finals, dim=-1).masked_fill((lengths == 0).unsqueeze(1), 0.0)


def format_1_payload(kind: str, net_config: dict, vocabs: dict, dropped: tuple[str, ...] = ()) -> dict:
    return {"format_version": 1, "kind": kind, "net_config": {k: v for k, v in net_config.items() if k not in dropped},
            "vocabs": vocabs}


def write_format_1_folder(folder: Path, payload: dict | list, state: dict[str, torch.Tensor]) -> Path:
    """As lstmlab wrote exports before the payload went into the safetensors header too: weights + config.json."""
    folder.mkdir(parents=True)
    save_file({k: v.contiguous() for k, v in state.items()}, folder / WEIGHTS_FILE)
    (folder / CONFIG_FILE).write_text(json.dumps(payload), encoding="utf-8")
    return folder


def old_nli_folder(tmp_path: Path, encoder: str, num_layers: int) -> tuple[Path, NLIClassifier, TextVocabs]:
    net, vocabs = nli_model(encoder, num_layers)
    payload = format_1_payload("nli", net.config_dict(), vocabs.to_dict(), NEWER_NLI_FIELDS)
    return write_format_1_folder(tmp_path / "old", payload, old_layout(net.state_dict())), net, vocabs


@pytest.mark.parametrize(("encoder", "num_layers"), [("lstm", 2), ("gru", 3), ("bigru_last", 1), ("bilstm_last", 1)])
def test_old_stacked_encoder_computes_what_the_old_network_computed(tmp_path, encoder, num_layers):
    """Weights made by the old module itself (nn.LSTM/nn.GRU of several layers: its own key names), saved as
    lstmlab did, give the same sentence vectors through today's SentenceEncoder as through the old forward."""
    net, vocabs = nli_model(encoder, num_layers)
    torch.manual_seed(1)
    old = OldRecurrentLast(encoder, 7, 5, num_layers).eval()
    state = {k: v for k, v in net.state_dict().items() if not k.startswith("encoder.")}
    state |= {f"encoder.{k}": v for k, v in old.state_dict().items()}
    payload = format_1_payload("nli", net.config_dict(), vocabs.to_dict(), NEWER_NLI_FIELDS)
    loaded = SentenceEncoder.load(write_format_1_folder(tmp_path / "old", payload, state))
    batch = vocabs.encode_tokens([s.split() for s in SENTENCES]).padded(range(len(SENTENCES)), with_chars=False)
    with torch.no_grad():
        words, mask, _ = net.known_words(batch["words"], batch["mask"])
        expected = old(net.words(words), mask)
    assert not mask.all()  # sentences of several lengths: padding is in the batch
    torch.testing.assert_close(vectors(loaded), expected, atol=1e-6, rtol=0)


@pytest.mark.parametrize(("encoder", "num_layers"), [("lstm", 2), ("bigru_last", 1)])
def test_old_stacked_encoder_folder_loads_as_the_model_it_was(tmp_path, encoder, num_layers):
    folder, net, vocabs = old_nli_folder(tmp_path, encoder, num_layers)
    assert "encoder.forward_rnn.weight_ih_l0" in load_file(folder / WEIGHTS_FILE)  # the old names are on disk
    loaded = SentenceEncoder.load(folder)
    torch.testing.assert_close(vectors(loaded), vectors(SentenceEncoder(net, vocabs)), atol=1e-6, rtol=0)
    payload, state = load_model_file(folder, "nli")
    assert payload["format_version"] == FORMAT_VERSION
    assert state.keys() == net.state_dict().keys()


def test_old_stacked_encoder_loads_from_a_checkpoint_too(tmp_path):
    net, vocabs = nli_model("lstm", 2)
    payload = format_1_payload("nli", net.config_dict(), vocabs.to_dict(), NEWER_NLI_FIELDS)
    checkpoint = {"lstmlab": payload, "state_dict": {f"net.{k}": v for k, v in old_layout(net.state_dict()).items()},
                  "epoch": 3}
    torch.save(checkpoint, tmp_path / "best.ckpt")
    loaded = SentenceEncoder.load(tmp_path / "best.ckpt")
    torch.testing.assert_close(vectors(loaded), vectors(SentenceEncoder(net, vocabs)), atol=1e-6, rtol=0)


def test_old_bidirectional_stack_of_several_layers_is_refused_in_one_line(tmp_path):
    """Its backward layer 2 read only backward states (and has [3H, H] input weights): no MaskedRNN computes it."""
    folder, _, _ = old_nli_folder(tmp_path, "bigru_last", 2)
    for load in (lambda: load_model_file(folder, "nli"), lambda: SentenceEncoder.load(folder)):
        with pytest.raises(ModelFileError) as raised:
            load()
        message = str(raised.value)
        assert "\n" not in message
        assert str(folder) in message and "model format 1" in message and "reads formats 1-2 (writes 2)" in message
        assert "2-layer bigru_last encoder" in message and "retrain it" in message
        assert "model.net.encoder=bigru_last model.net.num_layers=2" in message


def test_format_1_in_todays_layout_loads_unchanged(tmp_path):
    net, vocabs = nli_model("bilstm_max", 2)
    payload = format_1_payload("nli", net.config_dict(), vocabs.to_dict())
    folder = write_format_1_folder(tmp_path / "max", payload, net.state_dict())
    loaded = SentenceEncoder.load(folder)
    torch.testing.assert_close(vectors(loaded), vectors(SentenceEncoder(net, vocabs)), atol=0, rtol=0)


def tagger_model() -> tuple[BiLSTMTagger, TextVocabs]:
    torch.manual_seed(0)
    vocabs = text_vocabs(["DET", "NOUN", "VERB", "PUNCT"])
    net = BiLSTMTagger(TaggerConfig(num_words=len(vocabs.words), num_chars=len(vocabs.chars), num_tags=4,
                                    word_dim=6, char_dim=4, char_filters=[[3, 5]], hidden_size=5))
    return net.eval(), vocabs


@pytest.mark.parametrize("tags_key", ["labels", "tags"])
def test_format_1_tagger_loads(tmp_path, tags_key):
    """Taggers of before commit c28329a kept their tag vocabulary under "tags"."""
    net, vocabs = tagger_model()
    saved_vocabs = {(tags_key if key == "labels" else key): value for key, value in vocabs.to_dict().items()}
    folder = write_format_1_folder(tmp_path / "tagger", format_1_payload("tagger", net.config_dict(), saved_vocabs),
                                   net.state_dict())
    loaded = Tagger.load(folder)
    assert loaded.tags == ["DET", "NOUN", "VERB", "PUNCT"]
    sentences = [s.split() for s in SENTENCES]
    assert [s.tags for s in loaded.predict(sentences)] == [s.tags for s in Tagger(net, vocabs).predict(sentences)]
    with pytest.raises(ModelFileError, match=r"this is a 'tagger' model, expected a 'nli' model"):
        load_model_file(folder, "nli")


def test_newer_format_is_refused_naming_it_and_the_upgrade(tmp_path):
    net, vocabs = nli_model("bilstm_max", 1)
    payload = model_payload("nli", net.config_dict(), vocabs.to_dict()) | {"format_version": 3,
                                                                           "lstmlab_version": "0.3.0"}
    folder = save_model_folder(tmp_path / "future", payload, net.state_dict())
    with pytest.raises(ModelFileError) as raised:
        load_model_file(folder)
    message = str(raised.value)
    assert "\n" not in message and str(folder) in message
    assert "model format 3" in message and "lstmlab 0.3.0" in message and "reads formats 1-2 (writes 2)" in message
    assert "pip install -U lstmlab" in message


@pytest.mark.parametrize("version", ["missing", None, "1", 0, -1, 1.0, True])
def test_missing_or_invalid_format_version_is_refused(tmp_path, version):
    payload = {"kind": "tagger", "net_config": {}, "vocabs": {}}
    if version != "missing":
        payload["format_version"] = version
    folder = save_model_folder(tmp_path / "model", payload, {"weight": torch.zeros(2)})
    with pytest.raises(ModelFileError, match=r"model\.safetensors: no valid model format_version"):
        load_model_file(folder, "tagger")


def test_a_description_that_is_not_an_object_is_refused(tmp_path):
    folder = write_format_1_folder(tmp_path / "model", [1, "tagger"], {"weight": torch.zeros(2)})
    with pytest.raises(ModelFileError, match="the model description is a list, not a JSON object"):
        load_model_file(folder)


def test_new_folders_carry_this_format_and_lstmlab_version(tmp_path):
    net, vocabs = nli_model("bilstm_max", 1)
    folder = SentenceEncoder(net, vocabs).save(tmp_path / "model")
    written = json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8"))
    assert written["format_version"] == FORMAT_VERSION == 2
    assert written["lstmlab_version"] == importlib.metadata.version("lstmlab")
    payload, _ = load_model_file(folder, "nli")  # the copy in the safetensors header, the one that is read
    assert payload == written
