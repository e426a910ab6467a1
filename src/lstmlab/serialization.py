"""Model files on disk: safe to load, whole or absent.

A trained model is kept two ways: Lightning checkpoints (`.ckpt`, for resuming; read here with
`torch.load(weights_only=True)`, which unpickles no code) and an export folder of `model.safetensors` +
`config.json` (network config, vocabularies, model kind). Both carry the same payload.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

FORMAT_VERSION = 1
TAGGER_KIND = "tagger"
WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"


class ModelFileError(ValueError):
    """A model file that cannot be used here: missing, damaged, or of another model kind."""


def model_payload(kind: str, net_config: dict, vocabs: dict) -> dict:
    return {"format_version": FORMAT_VERSION, "kind": kind, "net_config": net_config, "vocabs": vocabs}


def save_model_folder(folder: str | Path, payload: dict, state_dict: dict[str, torch.Tensor]) -> Path:
    """Write the export folder atomically: built in a temporary sibling, then renamed into place."""
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        save_file({k: v.detach().cpu().contiguous() for k, v in state_dict.items()}, staging / WEIGHTS_FILE)
        (staging / CONFIG_FILE).write_text(json.dumps(payload, indent=1, ensure_ascii=False), encoding="utf-8")
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(staging, folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder


def _find_model_file(path: Path) -> Path:
    """A run directory, an export folder, or a checkpoint file -> the file to read."""
    if path.is_file():
        return path
    for candidate in (path / CONFIG_FILE, path / "model" / CONFIG_FILE, path / "checkpoints" / "best.ckpt",
                      path / "checkpoints" / "last.ckpt"):
        if candidate.is_file():
            return candidate
    raise ModelFileError(
        f"{path}: no model found; expected a .ckpt file, an export folder with {CONFIG_FILE} and {WEIGHTS_FILE}, "
        "or a run directory holding model/ or checkpoints/"
    )


def load_model_file(path: str | Path, kind: str) -> tuple[dict, dict[str, torch.Tensor]]:
    """(payload, network state dict) from any model path; refuses other model kinds with a clear message."""
    path = Path(path).expanduser()
    if not path.exists():
        raise ModelFileError(f"{path}: no such file or directory")
    found = _find_model_file(path)
    if found.name == CONFIG_FILE:
        try:
            payload = json.loads(found.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ModelFileError(f"{found}: not a readable model config ({error})") from None
        state = load_file(found.parent / WEIGHTS_FILE)
    else:
        try:
            checkpoint = torch.load(found, map_location="cpu", weights_only=True)
        except Exception as error:  # torch raises several types for damaged or foreign files
            reason = f"{type(error).__name__}: {error}"
            raise ModelFileError(f"{found}: not a readable lstmlab checkpoint ({reason})") from None
        if not isinstance(checkpoint, dict) or "lstmlab" not in checkpoint:
            raise ModelFileError(f"{found}: not an lstmlab checkpoint (it has no 'lstmlab' model description)")
        payload = checkpoint["lstmlab"]
        prefix = "net."
        state = {k[len(prefix):]: v for k, v in checkpoint["state_dict"].items() if k.startswith(prefix)}
    if payload.get("kind") != kind:
        raise ModelFileError(f"{found}: this is a {payload.get('kind')!r} model, expected a {kind!r} model")
    if payload.get("format_version", 0) > FORMAT_VERSION:
        raise ModelFileError(f"{found}: written by a newer lstmlab (format {payload['format_version']})")
    return payload, state
