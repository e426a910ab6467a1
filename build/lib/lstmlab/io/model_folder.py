"""Model files on disk: safe to load, whole or absent.

A trained model is kept two ways: Lightning checkpoints (`.ckpt`, for resuming; read here with
`torch.load(weights_only=True)`, which unpickles no code) and an export folder of `model.safetensors` +
`config.json` (network config, vocabularies, model kind). Both carry the same payload. In the export the
payload is also stored in the safetensors header, and loading reads that one file: a single open file is
consistent even while the folder is being replaced by a newer export.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import torch
from safetensors.torch import load as safetensors_load
from safetensors.torch import save_file

from lstmlab.utils.atomic_file import usual_mode
from lstmlab.utils.atomic_folder import replace_folder

FORMAT_VERSION = 1
PAYLOAD_KEY = "lstmlab"  # the safetensors header entry that holds the payload
WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"


class ModelFileError(ValueError):
    """A model file that cannot be used here: missing, damaged, or of another model kind."""


def model_payload(kind: str, net_config: dict, vocabs: dict) -> dict:
    return {"format_version": FORMAT_VERSION, "kind": kind, "net_config": net_config, "vocabs": vocabs}


def save_model_folder(folder: str | Path, payload: dict, state_dict: dict[str, torch.Tensor]) -> Path:
    """Write the export folder so that readers see the old folder or the new one, never none or a mix: it is
    built in a temporary sibling, then swapped into place in one step."""
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        save_file({k: v.detach().cpu().contiguous() for k, v in state_dict.items()}, staging / WEIGHTS_FILE,
                  metadata={PAYLOAD_KEY: json.dumps(payload, ensure_ascii=False)})
        (staging / CONFIG_FILE).write_text(json.dumps(payload, indent=1, ensure_ascii=False), encoding="utf-8")
        usual_mode(staging)  # mkdtemp makes it private
        replace_folder(staging, folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)  # after a swap, this holds the old export
    return folder


def _find_model_file(path: Path) -> Path:
    """A run directory, an export folder, or a checkpoint file -> the file to read."""
    if path.is_file():
        return path
    for candidate in (path / WEIGHTS_FILE, path / "model" / WEIGHTS_FILE, path / "checkpoints" / "best.ckpt",
                      path / "checkpoints" / "last.ckpt"):
        if candidate.is_file():
            return candidate
    raise ModelFileError(
        f"{path}: no model found; expected a .ckpt file, an export folder with {CONFIG_FILE} and {WEIGHTS_FILE}, "
        "or a run directory holding model/ or checkpoints/"
    )


def _read_export(weights: Path) -> tuple[dict, dict[str, torch.Tensor]]:
    """Payload and tensors from ONE read of the file: safetensors' `safe_open` reopens the file by name for its
    tensors, which could mix two exports while the folder is being replaced."""
    data = weights.read_bytes()
    try:
        header_size = int.from_bytes(data[:8], "little")  # the safetensors layout: u64 size, JSON header, data
        header = json.loads(data[8 : 8 + header_size])
        state = safetensors_load(data)
    except Exception as error:  # safetensors raises its own error types for damaged files
        raise ModelFileError(f"{weights}: not a readable safetensors file ({type(error).__name__}: {error})") from None
    metadata = header.get("__metadata__") or {}
    try:
        text = metadata[PAYLOAD_KEY] if PAYLOAD_KEY in metadata else (weights.parent / CONFIG_FILE).read_text("utf-8")
        return json.loads(text), state
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ModelFileError(f"{weights.parent}: no readable model description ({error})") from None


def load_model_file(path: str | Path, kind: str | None = None) -> tuple[dict, dict[str, torch.Tensor]]:
    """(payload, network state dict) from any model path; refuses other model kinds with a clear message
    (`kind=None` accepts any kind)."""
    path = Path(path).expanduser()
    if not path.exists():
        raise ModelFileError(f"{path}: no such file or directory")
    found = _find_model_file(path)
    if found.name == WEIGHTS_FILE:
        payload, state = _read_export(found)
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
    if kind is not None and payload.get("kind") != kind:
        raise ModelFileError(f"{found}: this is a {payload.get('kind')!r} model, expected a {kind!r} model")
    if payload.get("format_version", 0) > FORMAT_VERSION:
        raise ModelFileError(f"{found}: written by a newer lstmlab (format {payload['format_version']})")
    return payload, state
