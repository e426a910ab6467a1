"""The two files that make an lstmlab NLI export folder a sentence-transformers folder too, as text, without
importing sentence-transformers or anything of lstmlab's: an export step can write them beside config.json and
model.safetensors (`save_model_folder`'s one swap) whether or not the `st` extra is installed where the model is
trained. The class they name is in `lstmlab.integrations.sentence_transformers`."""

from __future__ import annotations

import importlib.metadata
import json

MODULES_FILE = "modules.json"
ST_CONFIG_FILE = "config_sentence_transformers.json"
MODULE_CLASS = "lstmlab.integrations.sentence_transformers.LstmlabEncoder"  # what modules.json names


def _version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def sentence_transformers_files(payload: dict) -> dict[str, str]:
    """{file name: text} for an NLI model's export folder: `modules.json` (one LstmlabEncoder, read from the folder's
    root) and `config_sentence_transformers.json` (cosine similarity, no prompts, the versions that wrote it)."""
    modules = [{"idx": 0, "name": "0", "path": "", "type": MODULE_CLASS}]
    versions = {"lstmlab": payload.get("lstmlab_version"), "sentence_transformers": _version("sentence-transformers"),
                "pytorch": _version("torch")}
    config = {"model_type": "SentenceTransformer", "prompts": {}, "default_prompt_name": None,
              "similarity_fn_name": "cosine", "__version__": {k: v for k, v in versions.items() if v is not None}}
    return {name: json.dumps(content, indent=2) + "\n" for name, content in ((ST_CONFIG_FILE, config),
                                                                             (MODULES_FILE, modules))}
