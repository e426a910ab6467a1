"""What `Tagger`, `SentenceEncoder` and `Elmo` share: a trained network in evaluation mode, its vocabularies, and
`load` from wherever a model lives, written once. The runtime's classes share theirs in
`lstmlab.runtime.onnx_folder.ExportedModel`; `load` hands an ONNX export to them, so one call loads either."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from lstmlab.data.tokenization.rules import Tokenizer, tokenizer_for
from lstmlab.data.vocab.text_vocabs import TextVocabs
from lstmlab.io.hub import resolve_model_path
from lstmlab.io.model_folder import WrongModelKind, load_model_file
from lstmlab.models.network import Network
from lstmlab.runtime.onnx_folder import ExportedModel, is_onnx_export
from lstmlab.runtime.text_pipeline import ReadsRawText

if TYPE_CHECKING:  # typing.Self is Python 3.11's; lstmlab runs on 3.10
    from typing import Self


class TrainedModel(ReadsRawText):
    """A subclass names the network it runs and the runtime class of its ONNX exports; `wrong_kind_hint`, where
    set, follows the refusal of another kind of model and says what to load instead."""

    network_type: ClassVar[type[Network]]
    exported_type: ClassVar[type[ExportedModel]]
    wrong_kind_hint: ClassVar[str] = ""

    def __init__(self, net: Network, vocabs: TextVocabs) -> None:
        self.net = net.eval()
        self.vocabs = vocabs

    @property
    def tokenize(self) -> Tokenizer:
        """The rule that splits raw text of the language the vocabularies were built from."""
        return tokenizer_for(self.vocabs.language)

    @classmethod
    def load(cls, path: str | Path, device: str = "cpu", revision: str | None = None) -> Self | ExportedModel:
        """From a run directory, an export folder, a `.ckpt` file (read with weights_only=True) or a Hugging Face
        Hub id (`org/name`, `org/name@rev` or `revision=`; an existing local path wins); a model of another kind
        is a WrongModelKind (a ModelFileError) that says what it is. An ONNX export loads the runtime's class of
        the same name (same calls)."""
        path = resolve_model_path(path, revision)
        if is_onnx_export(path):
            return cls.exported_type.load(path, device)
        try:
            payload, state = load_model_file(path, cls.network_type.kind)
        except WrongModelKind as error:
            if not cls.wrong_kind_hint:
                raise
            raise WrongModelKind(f"{error}. {cls.wrong_kind_hint}") from None
        net = cls.network_type.from_saved(payload["net_config"], state)
        return cls(net.to(device), TextVocabs.from_dict(payload["vocabs"]))
