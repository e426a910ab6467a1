"""An lstmlab sentence encoder inside sentence-transformers, through its public module API: one input module,
`LstmlabEncoder`, that tokenizes by the rule of the encoder's language and runs the encoder's own network (no
second copy).

    from lstmlab.integrations.sentence_transformers import to_sentence_transformer
    model = to_sentence_transformer("logs/nli_cpu/runs/<timestamp>")  # in-process: no trust_remote_code
    model.encode(["A man is playing a guitar.", "Nobody plays."])  # = SentenceEncoder.encode, to float rounding

    export_sentence_transformer(run, "st_folder")    # a folder SentenceTransformer(..., trust_remote_code=True) loads
    add_sentence_transformers_files(run / "model")   # the run's export folder itself, the same way

sentence-transformers >= 6.0 imports a module class named in `modules.json` from outside its own namespace only
with `trust_remote_code=True`, for local folders too (`sentence_transformers.util.import_module_class`): loading
either folder by path runs lstmlab's installed code, which is what that flag consents to. Building the model in
the process (`to_sentence_transformer`, or `SentenceTransformer(modules=[LstmlabEncoder.from_path(...)])`) imports
nothing from a folder and needs no flag.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from sentence_transformers import SentenceTransformer

try:
    from sentence_transformers.base.modules.input_module import InputModule
except ImportError:  # sentence-transformers 5 (not tested here: the st extra installs 6)
    from sentence_transformers.models import InputModule

from lstmlab.inference.sentence_encoder import SentenceEncoder
from lstmlab.io.model_folder import CONFIG_FILE, WEIGHTS_FILE, ModelFileError, load_model_file
from lstmlab.io.st_files import sentence_transformers_files
from lstmlab.models.nli_classifier import NLIClassifier
from lstmlab.utils.atomic_file import atomic_file


class LstmlabEncoder(InputModule):
    """sentence-transformers' input module around a `SentenceEncoder`: `preprocess` tokenizes and pads (lstmlab's
    tokenizer and vocabularies), `forward` gives `sentence_embedding` from the encoder's network. An empty sentence
    gets a zero vector (`SentenceEncoder.encode(..., allow_empty=True)`), since s-t has no way to ask for one."""

    save_in_root = False  # s-t saves it in a subfolder, an lstmlab export folder of its own (written whole)
    config_keys: list[str] = []  # the export folder's config.json is the whole configuration

    def __init__(self, encoder: SentenceEncoder) -> None:
        super().__init__()
        self.encoder = encoder
        self.net = encoder.net  # a submodule, so that SentenceTransformer.to(device) moves the network

    @classmethod
    def from_path(cls, path: str | Path, device: str = "cpu") -> LstmlabEncoder:
        """From an NLI run directory, export folder or checkpoint (`SentenceEncoder.load`)."""
        return cls(SentenceEncoder.load(path, device=device))

    def preprocess(self, inputs: Sequence[str | Sequence[str]], prompt: str | None = None, **kwargs: Any
                   ) -> dict[str, torch.Tensor]:
        if prompt:
            prompt_tokens = self.encoder.tokens_of(prompt)
            inputs = [prompt + text if isinstance(text, str) else [*prompt_tokens, *text] for text in inputs]
        present, encoded = self.encoder.encode_words(inputs)
        features = {"present": torch.tensor(present, dtype=torch.long),
                    "size": torch.tensor(len(inputs), dtype=torch.long)}
        if present:
            features.update(encoded.padded(range(len(present)), with_chars=False))
        return features

    def tokenize(self, texts: Sequence[str | Sequence[str]], **kwargs: Any) -> dict[str, torch.Tensor]:
        """sentence-transformers 5's name for `preprocess` (6 calls `preprocess`)."""
        return self.preprocess(texts, **kwargs)

    def forward(self, features: dict[str, torch.Tensor], **kwargs: Any) -> dict[str, torch.Tensor]:
        present = features["present"]
        vectors = torch.zeros(int(features["size"]), self.encoder.dim, device=self.net.has_vector.device)
        if len(present):
            vectors[present.to(vectors.device)] = self.net.embed(features["words"], features["mask"]).float()
        features["sentence_embedding"] = vectors
        return features

    def __repr__(self) -> str:
        return f"LstmlabEncoder(encoder={self.net.config.encoder!r}, dim={self.encoder.dim})"

    def get_embedding_dimension(self) -> int:
        return self.encoder.dim

    def get_sentence_embedding_dimension(self) -> int:  # the name before sentence-transformers 6
        return self.encoder.dim

    def save(self, output_path: str, *args: Any, safe_serialization: bool = True, **kwargs: Any) -> None:
        self.encoder.save(output_path)

    @classmethod
    def load(cls, model_name_or_path: str, subfolder: str = "", token: bool | str | None = None,
             cache_folder: str | None = None, revision: str | None = None, local_files_only: bool = False,
             **kwargs: Any) -> LstmlabEncoder:
        folder = cls.load_dir_path(model_name_or_path, subfolder=subfolder, token=token, cache_folder=cache_folder,
                                   revision=revision, local_files_only=local_files_only)
        return cls.from_path(folder)


def _encoder(encoder_or_path: SentenceEncoder | str | Path) -> SentenceEncoder:
    return encoder_or_path if isinstance(encoder_or_path, SentenceEncoder) else SentenceEncoder.load(encoder_or_path)


def to_sentence_transformer(encoder_or_path: SentenceEncoder | str | Path, device: str | None = None
                            ) -> SentenceTransformer:
    """A SentenceTransformer around the encoder (or the NLI model at a path), built in this process: cosine
    similarity, no `trust_remote_code` needed. A model of another kind is a WrongModelKind."""
    return SentenceTransformer(modules=[LstmlabEncoder(_encoder(encoder_or_path))], device=device,
                               similarity_fn_name="cosine")


def export_sentence_transformer(encoder_or_path: SentenceEncoder | str | Path, folder: str | Path) -> Path:
    """A sentence-transformers folder (`modules.json`, its config, the lstmlab export in `0_LstmlabEncoder/`) written
    by s-t's own `save`; `SentenceTransformer(folder, trust_remote_code=True)` loads it. Without s-t's generated
    model card: its usage snippet leaves out `trust_remote_code=True` and lstmlab, so it would not load as shown."""
    to_sentence_transformer(encoder_or_path, device="cpu").save(str(folder), create_model_card=False)
    return Path(folder)


def add_sentence_transformers_files(export_folder: str | Path) -> Path:
    """Make an NLI export folder written before lstmlab 0.3 (`<run>/model`) a sentence-transformers folder too, by
    adding `modules.json` (one `LstmlabEncoder` at the folder's root) and `config_sentence_transformers.json`, as
    training and `SentenceEncoder.save` now write them; lstmlab's own files are left as they are.
    `SentenceTransformer(export_folder, trust_remote_code=True)` then loads it."""
    folder = Path(export_folder)
    if not (folder / WEIGHTS_FILE).is_file() or not (folder / CONFIG_FILE).is_file():
        raise ModelFileError(f"{folder}: not an lstmlab export folder (no {CONFIG_FILE} and {WEIGHTS_FILE}); "
                             "for a run directory pass <run>/model")
    payload, _ = load_model_file(folder, NLIClassifier.kind)  # a tagger's folder is refused here
    for name, text in sentence_transformers_files(payload).items():  # modules.json last: it marks the folder
        with atomic_file(folder / name) as temporary:
            temporary.write_text(text, encoding="utf-8")
    return folder

