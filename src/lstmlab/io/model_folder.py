"""Model files on disk: safe to load, whole or absent, and of a format this lstmlab reads.

A trained model is kept two ways: Lightning checkpoints (`.ckpt`, for resuming; read here with
`torch.load(weights_only=True)`, which unpickles no code) and an export folder of `model.safetensors` +
`config.json` (network config, vocabularies, model kind). Both carry the same payload. In the export the
payload is also stored in the safetensors header, and loading reads that one file: a single open file is
consistent even while the folder is being replaced by a newer export.

The payload's `format_version` says which layout of payload and weights the file has. Every loader goes through
`load_model_file`, which upgrades an older format step by step (`UPGRADES`, one function per step) where the
conversion is exact, and otherwise refuses the file in one line that says what to do:

1  lstmlab 0.1.0 up to this check: every model written before it. Two older layouts hide under this number and
   are converted: a tagger's tag vocabulary named "tags" (before commit c28329a; "labels" since), and the
   last-state encoders (`lstm`, `gru`, `bigru_last`, `bilstm_last`) kept as one multi-layer nn.LSTM / nn.GRU per
   direction, `encoder.forward_rnn` / `encoder.backward_rnn` (before commit 3a4ad7c, the recurrent-layer rename;
   one module per layer, `encoder.rnn.forward_layers.{k}`, since). A bidirectional one of several layers cannot
   be converted: its backward layers read only the backward direction, today's read both.
2  today's layout; the payload also names the `lstmlab_version` that wrote it.
"""

from __future__ import annotations

import importlib.metadata
import json
import re
from collections.abc import Callable
from contextlib import ExitStack, suppress
from pathlib import Path

import torch
from safetensors.torch import load as safetensors_load
from safetensors.torch import save as safetensors_save

from lstmlab.io.export_names import CONFIG_FILE, GRAPH_FILE, WEIGHTS_FILE
from lstmlab.io.hub import resolve_model_path
from lstmlab.io.model_errors import ModelFileError, NotAnExportFolder, WrongModelKind
from lstmlab.io.st_files import MODULES_FILE, ST_CONFIG_FILE
from lstmlab.utils.atomic_file import atomic_file, naming_output

FORMAT_VERSION = 2  # what this lstmlab writes
PAYLOAD_KEY = "lstmlab"  # the safetensors header entry that holds the payload
EXPORT_WRITES = (WEIGHTS_FILE, CONFIG_FILE, MODULES_FILE, ST_CONFIG_FILE, GRAPH_FILE)  # what saves write (and replace)

State = dict[str, torch.Tensor]
__all__ = ["CONFIG_FILE", "WEIGHTS_FILE", "ModelFileError", "NotAnExportFolder", "WrongModelKind", "load_model_file",
           "save_model_folder"]


def _installed_version() -> str | None:
    """The lstmlab distribution's version (not `lstmlab.__version__`: importing the package from here is a cycle);
    None when running from a source tree that was never installed."""
    try:
        return importlib.metadata.version("lstmlab")
    except importlib.metadata.PackageNotFoundError:
        return None


LSTMLAB_VERSION = _installed_version()


def model_payload(kind: str, net_config: dict, vocabs: dict) -> dict:
    return {"format_version": FORMAT_VERSION, "lstmlab_version": LSTMLAB_VERSION, "kind": kind,
            "net_config": net_config, "vocabs": vocabs}


def _safetensors_header(data: bytes) -> dict:
    """The JSON header at the start of a safetensors file (u64 size, then the header); enough of the file's start
    is enough."""
    header_size = int.from_bytes(data[:8], "little")
    return json.loads(data[8 : 8 + header_size])


def _holds_export(folder: Path) -> bool:
    """Whether `folder` holds an lstmlab export, whose files a save may replace: a model.safetensors whose header
    carries the payload, or a config.json that is a model description (exports older than the header's copy)."""
    try:
        with (folder / WEIGHTS_FILE).open("rb") as weights:
            head = weights.read(8)
            head += weights.read(int.from_bytes(head, "little"))
        if PAYLOAD_KEY in (_safetensors_header(head).get("__metadata__") or {}):
            return True
    except (OSError, ValueError, AttributeError):  # none, or not safetensors: the config may still say
        pass
    try:
        description = json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(description, dict) and {"kind", "net_config"} <= description.keys()


def check_save_target(folder: Path) -> None:
    """Refuse a file or a folder that holds anything but an lstmlab export (`save_model_folder` does, before it
    writes; a long job can, before its work)."""
    if folder.exists() and not folder.is_dir():
        raise NotAnExportFolder(f"{folder}: is a file, not a folder; nothing saved: give a folder to save the "
                                "model into (a new or empty one, or an lstmlab export to replace)")
    entries = sorted(folder.iterdir()) if folder.is_dir() else []
    if entries and not _holds_export(folder):
        shown = [entry.name + ("/" if entry.is_dir() else "") for entry in entries[:3]]
        more = f" and {len(entries) - 3} more" if len(entries) > 3 else ""
        raise NotAnExportFolder(f"{folder}: holds files that are not an lstmlab export ({', '.join(shown)}{more}); "
                                "nothing saved: save into a new or empty folder, or into an lstmlab export folder "
                                "to replace its model")


def save_model_folder(folder: str | Path, payload: dict, state_dict: State,
                      extra_files: dict[str, str] | None = None) -> Path:
    """Write the export folder: a new or empty folder, or one holding an lstmlab export (anything else is refused,
    `NotAnExportFolder`, and left untouched). `extra_files` ({name: text}) go in with it (an NLI model's
    sentence-transformers files).

    Each file is written to a temporary sibling and renamed onto its name once all are written, model.safetensors
    last: loading reads that one file, so a reader finds the old model or the new one, never none or a mix, and a
    failed save (a full disk) leaves the old export as it was. The folder itself is never moved or replaced, so what
    the export did not write stays: the model card (README.md; the training export writes it after this), a user's
    notes. Of the files an export writes, those this save does not (an NLI model's sentence-transformers files
    where a tagger now is) are removed."""
    folder = Path(folder)
    check_save_target(folder)
    # serialized in memory and written by Python, so that a failed write (a full disk) is an OSError that names the
    # folder, where safetensors' own writer raises its SafetensorError
    weights = safetensors_save({k: v.detach().cpu().contiguous() for k, v in state_dict.items()},
                               metadata={PAYLOAD_KEY: json.dumps(payload, ensure_ascii=False)})
    texts = {CONFIG_FILE: json.dumps(payload, indent=1, ensure_ascii=False), **(extra_files or {})}
    contents = {WEIGHTS_FILE: weights, **{name: text.encode() for name, text in texts.items()}}
    return replace_export_files(folder, contents, WEIGHTS_FILE)


def replace_export_files(folder: Path, contents: dict[str, bytes], read_first: str) -> Path:
    """Write `contents` ({name: bytes}) into the export folder `folder` (checked by `check_save_target`), each file
    through a temporary sibling renamed into place once all are written, `read_first` (the file loading reads)
    last; the other files an export writes (`EXPORT_WRITES`) that `contents` lacks are removed. A new folder that
    fails is removed again."""
    check_save_target(folder)
    created = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    try:
        # atomic_file renames each file into place when the stack closes, last entered first
        with naming_output(folder, folder), ExitStack() as files:
            files.enter_context(atomic_file(folder / read_first)).write_bytes(contents[read_first])
            for name, data in contents.items():
                if name != read_first:
                    files.enter_context(atomic_file(folder / name)).write_bytes(data)
            for name in EXPORT_WRITES:
                if name not in contents:
                    (folder / name).unlink(missing_ok=True)
    except BaseException:
        if created:
            with suppress(OSError):  # removed only while empty: the temporary files are gone
                folder.rmdir()
        raise
    return folder


# old RecurrentLast parameters: one multi-layer nn.LSTM / nn.GRU per direction, layer k's as `weight_ih_l{k}`...
_STACKED_RNN = re.compile(r"encoder\.(forward|backward)_rnn\.(\w+)_l(\d+)")


def _stacked_to_layers(payload: dict, state: State, where: Path) -> State:
    """Format-1 RecurrentLast weights of before the recurrent-layer rename -> MaskedRNN's one module per layer and
    direction. Exact where the networks are the same function: one direction of any depth (layer k read layer
    k - 1's states, as today), or both directions of one layer (the backward one read the sentence reversed within
    its length, as today). The old backward stack of several layers read only backward states; refused."""
    converted, layers = {}, {"forward": set(), "backward": set()}
    for key, tensor in state.items():
        match = _STACKED_RNN.fullmatch(key)
        if match is None:
            converted[key] = tensor
            continue
        direction, name, layer = match.group(1), match.group(2), int(match.group(3))
        layers[direction].add(layer)
        converted[f"encoder.rnn.{direction}_layers.{layer}.{name}_l0"] = tensor
    depth = len(layers["forward"])
    if layers["backward"] and depth > 1:
        encoder = (payload.get("net_config") or {}).get("encoder", "bidirectional")
        raise ModelFileError(
            f"{where}: model format 1 (lstmlab 0.1.0 before the recurrent-layer rename, a {depth}-layer {encoder} "
            f"encoder whose backward layers read only their own direction) cannot be read by this lstmlab, which "
            f"reads {_READ_FORMATS}; retrain it (lstmlab-train ... model.net.encoder={encoder} "
            f"model.net.num_layers={depth}) or load it with lstmlab 0.1.0 from before commit 3a4ad7c"
        )
    return converted


def _from_format_1(payload: dict, state: State, where: Path) -> tuple[dict, State]:
    """Format 1 -> 2: the two older layouts that format 1 did not tell apart from today's get today's names; a
    format-1 model written in today's layout is unchanged."""
    upgraded = {**payload, "format_version": 2}
    vocabs = payload.get("vocabs")
    if isinstance(vocabs, dict) and "tags" in vocabs and "labels" not in vocabs:
        upgraded["vocabs"] = {("labels" if key == "tags" else key): value for key, value in vocabs.items()}
    if any(_STACKED_RNN.fullmatch(key) for key in state):
        state = _stacked_to_layers(payload, state, where)
    return upgraded, state


Upgrade = Callable[[dict, State, Path], tuple[dict, State]]
UPGRADES: dict[int, Upgrade] = {1: _from_format_1}  # format v -> v + 1
_READ_FORMATS = f"formats {min(UPGRADES)}-{FORMAT_VERSION} (writes {FORMAT_VERSION})"


def _format_version(payload: dict, where: Path) -> int:
    """The payload's format, refused where it is no format or a newer one than this lstmlab reads."""
    version = payload.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        given = repr(version) if "format_version" in payload else "missing"
        raise ModelFileError(f"{where}: no valid model format_version ({given}; expected a whole number from 1): "
                             "not a model description lstmlab wrote, or a damaged one")
    if version > FORMAT_VERSION:
        writer = f"lstmlab {payload['lstmlab_version']}" if payload.get("lstmlab_version") else "a newer lstmlab"
        raise ModelFileError(f"{where}: model format {version} (written by {writer}) cannot be read "
                             f"by this lstmlab, which reads {_READ_FORMATS}; upgrade lstmlab: pip install -U lstmlab")
    return version


def _find_model_file(path: Path) -> Path:
    """A run directory, an export folder, or a checkpoint file -> the file to read."""
    if path.is_file():
        return path
    for candidate in (path / WEIGHTS_FILE, path / "model" / WEIGHTS_FILE, path / "checkpoints" / "best.ckpt",
                      path / "checkpoints" / "last.ckpt"):
        if candidate.is_file():
            return candidate
    if (path / GRAPH_FILE).is_file():
        raise ModelFileError(f"{path}: an ONNX export, which Tagger / SentenceEncoder / Elmo.load and lstmlab-tag, "
                             "-embed and -elmo run; this needs the PyTorch model it was exported from")
    raise ModelFileError(
        f"{path}: no model found; expected a .ckpt file, an export folder with {CONFIG_FILE} and {WEIGHTS_FILE}, "
        "or a run directory holding model/ or checkpoints/"
    )


def _read_export(weights: Path) -> tuple[dict, State]:
    """Payload and tensors from ONE read of the file: safetensors' `safe_open` reopens the file by name for its
    tensors, which could mix two exports while the folder is being replaced."""
    data = weights.read_bytes()
    try:
        header = _safetensors_header(data)
        state = safetensors_load(data)
    except Exception as error:  # safetensors raises its own error types for damaged files
        raise ModelFileError(f"{weights}: not a readable safetensors file ({type(error).__name__}: {error})") from None
    metadata = header.get("__metadata__") or {}
    try:
        text = metadata[PAYLOAD_KEY] if PAYLOAD_KEY in metadata else (weights.parent / CONFIG_FILE).read_text("utf-8")
        return json.loads(text), state
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ModelFileError(f"{weights.parent}: no readable model description ({error})") from None


def load_model_file(path: str | Path, kind: str | None = None, revision: str | None = None) -> tuple[dict, State]:
    """(payload, network state dict) from any model path or Hugging Face Hub id (`org/name`, `org/name@rev`, or
    `revision=`; see `lstmlab.io.hub`), in today's format (older ones upgraded); refuses other model kinds and
    formats this lstmlab does not read with a clear message (`kind=None` accepts any kind)."""
    path = resolve_model_path(path, revision)
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
    if not isinstance(payload, dict):
        raise ModelFileError(f"{found}: the model description is a {type(payload).__name__}, not a JSON object")
    _format_version(payload, found)
    if kind is not None and payload.get("kind") != kind:
        raise WrongModelKind(f"{found}: this is a {payload.get('kind')!r} model, expected a {kind!r} model")
    return upgrade_model(payload, state, found)


def upgrade_model(payload: dict, state: State, where: Path) -> tuple[dict, State]:
    """(payload, network state dict) in today's format: an older one is converted step by step (`UPGRADES`), a
    newer or invalid one refused naming `where`. Also what `Task.on_load_checkpoint` applies to a resumed `.ckpt`."""
    version = _format_version(payload, where)
    while version < FORMAT_VERSION:
        payload, state = UPGRADES[version](payload, state, where)
        version = payload["format_version"]
    return payload, state
