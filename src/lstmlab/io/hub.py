"""Models on the Hugging Face Hub: a model spec that is not a local path but is shaped like a repo id (`org/name`,
optionally `org/name@revision`) is fetched with `huggingface_hub.snapshot_download` (its cache, `HF_HUB_OFFLINE`,
revision pinning) and then read as any export folder; `push_to_hub` uploads an export folder with its model card.

An existing local path always wins over a Hub id of the same spelling. Only the export files are fetched and
uploaded (`EXPORT_FILES`): never checkpoints. Every failure is one line that says what to do (a ModelFileError).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from lstmlab.io.export_names import CONFIG_FILE, GRAPH_FILE, WEIGHTS_FILE
from lstmlab.io.model_card import CARD_FILE, CardDetails, card_record, read_card, recorded_details, write_model_card
from lstmlab.io.model_errors import ModelFileError

# what an export folder may hold and a Hub repo of lstmlab's gets: lstmlab's two files, the card, and the two
# files that make an NLI export a sentence-transformers folder too
EXPORT_FILES = (WEIGHTS_FILE, GRAPH_FILE, CONFIG_FILE, CARD_FILE, "modules.json", "config_sentence_transformers.json")
LOAD_FILES = [WEIGHTS_FILE, GRAPH_FILE, CONFIG_FILE]  # what loading needs (a PyTorch export or an ONNX one)
INSTALL_HINT = "pip install 'lstmlab[hub]'"

# the Hub's repo id rule (huggingface_hub.utils.validate_repo_id): `org/name` of letters, digits, `-`, `_`, `.`,
# neither part starting or ending with `-`/`.`, no `--` or `..`; a revision after `@`: a branch, tag or commit
_PART = r"[A-Za-z0-9_](?:[\w.-]{0,94}[A-Za-z0-9_])?"
_REPO_ID = re.compile(rf"(?P<repo>{_PART}/{_PART})(?:@(?P<revision>[\w.\-/]+))?")


@dataclass(frozen=True)
class HubId:
    repo_id: str
    revision: str | None = None

    def __str__(self) -> str:
        return self.repo_id + (f"@{self.revision}" if self.revision else "")


def parse_hub_id(spec: str, revision: str | None = None) -> HubId | None:
    """`org/name` or `org/name@rev` -> a HubId (`revision` given in Python wins over none in the spec; both is an
    error when they differ); None for anything else, which is then only a local path."""
    match = _REPO_ID.fullmatch(spec)
    if match is None or "--" in match["repo"] or ".." in match["repo"]:
        return None
    if revision and match["revision"] and revision != match["revision"]:
        raise ModelFileError(f"{spec}: two revisions given, {match['revision']!r} in the id and {revision!r}")
    return HubId(match["repo"], revision or match["revision"])


def offline() -> bool:
    """`HF_HUB_OFFLINE` as it is now (huggingface_hub reads it once, when it is imported)."""
    from huggingface_hub import constants

    return constants.HF_HUB_OFFLINE or os.environ.get("HF_HUB_OFFLINE", "").upper() in {"1", "ON", "YES", "TRUE"}


def resolve_model_path(spec: str | Path, revision: str | None = None) -> Path:
    """The local path of a model spec: a path that exists as given; else a Hub id's snapshot folder from the
    cache or downloaded (only the files loading needs); else a one-line ModelFileError. A `Path` object is always
    a path; only a string can be a Hub id."""
    path = Path(spec).expanduser()
    if path.exists() and revision is None:
        return path
    hub_id = parse_hub_id(spec, revision) if isinstance(spec, str) else None
    if hub_id is None:
        if revision is not None:
            raise ModelFileError(f"{spec}: a revision ({revision!r}) is only for a Hugging Face Hub id (org/name)")
        raise ModelFileError(f"{path}: no such file or directory")
    return Path(download(hub_id, LOAD_FILES))


def model_name(spec: str | Path) -> str:
    """How outputs record the model they came from: a local path made absolute, a Hub id as given."""
    path = Path(spec).expanduser()
    return str(path.resolve()) if path.exists() or parse_hub_id(str(spec)) is None else str(spec)


def download(hub_id: HubId, files: list[str]) -> str:
    """`snapshot_download` of `files` of the model repo, its errors told in one line."""
    try:
        import huggingface_hub
        from huggingface_hub import errors
    except ImportError:
        raise ModelFileError(f"{hub_id}: not a local path; to load it from the Hugging Face Hub, install "
                             f"huggingface_hub: {INSTALL_HINT}") from None
    where = f"{hub_id}: no such local path, and as a Hugging Face Hub model"
    try:
        return huggingface_hub.snapshot_download(hub_id.repo_id, revision=hub_id.revision, allow_patterns=files,
                                                 local_files_only=offline())
    except errors.RevisionNotFoundError:
        raise ModelFileError(f"{where} it has no revision {hub_id.revision!r} (a branch, tag or commit)") from None
    except (errors.RepositoryNotFoundError, errors.GatedRepoError):
        raise ModelFileError(f"{where} it is not found: no such repo, or a private or gated one you have no access "
                             "to (log in: hf auth login)") from None
    except errors.LocalEntryNotFoundError:
        if offline():
            raise ModelFileError(f"{where} it is not in the cache ({huggingface_hub.constants.HF_HUB_CACHE}) and "
                                 "HF_HUB_OFFLINE is set: download it once with HF_HUB_OFFLINE unset (or =0), or "
                                 "give a local path") from None
        raise ModelFileError(f"{where} it is not in the cache and the Hub could not be reached: check the "
                             "network (or HF_ENDPOINT) and try again") from None
    except errors.HfHubHTTPError as error:
        raise ModelFileError(f"{where}: {str(error).splitlines()[0]}") from None


def export_files(folder: Path) -> list[Path]:
    """The files of an export folder that belong on the Hub: `EXPORT_FILES` that are there, and the card, which a
    push writes where it is missing."""
    return [folder / name for name in EXPORT_FILES if name == CARD_FILE or (folder / name).is_file()]


def export_folder(path: str | Path) -> Path:
    """A run directory or an export folder -> the export folder (the one with model.safetensors)."""
    path = Path(path).expanduser()
    for folder in (path, path / "model"):
        if (folder / WEIGHTS_FILE).is_file():
            return folder
    raise ModelFileError(f"{path}: not an export folder (no {WEIGHTS_FILE}) nor a run directory with model/; "
                         "a .ckpt is not pushed: export it first")


def push_to_hub(path: str | Path, repo_id: str, private: bool = False, revision: str | None = None,
                commit_message: str | None = None, dry_run: bool = False,
                card_details: Callable[[str, dict | None], CardDetails] | None = None) -> tuple[list[Path], str | None]:
    """Upload the export folder of a run (or the folder itself) to the model repo `repo_id` (created if missing),
    after checking it loads and writing its model card if it has none: (files uploaded, commit URL; None in a
    dry run, which writes and uploads nothing and lists the card it would write). `card_details(kind, config)`: what
    the card says of a model kind (`lstmlab.tasks.card_details`; io knows no task); without it, what the folder's
    card recorded, else a generic card."""
    from lstmlab.io.model_folder import load_model_file

    folder = export_folder(path)
    payload, _ = load_model_file(folder)  # a damaged or unreadable export is refused before any upload
    if parse_hub_id(repo_id) is None or "@" in repo_id:
        raise ModelFileError(f"{repo_id}: not a Hugging Face Hub repo id (org/name)")
    card = read_card(folder)
    # none yet, or lstmlab's own: it names the repo now; a dry run writes nothing, but lists the card all the same
    if not dry_run and (card is None or isinstance(card.get("lstmlab"), dict)):
        metrics, config, command = card_record(folder)
        details = card_details(payload.get("kind"), config) if card_details else recorded_details(folder)
        write_model_card(folder, payload, details, metrics, config, command, repo_id)
    files = export_files(folder)
    if dry_run:
        return files, None
    try:
        from huggingface_hub import HfApi
    except ImportError:
        raise ModelFileError(f"pushing to the Hugging Face Hub needs huggingface_hub: {INSTALL_HINT}") from None
    if offline():
        raise ModelFileError(f"{repo_id}: cannot push while HF_HUB_OFFLINE is set: unset it (or =0) and log in "
                             "(hf auth login)")
    import httpx  # huggingface_hub's HTTP client
    from huggingface_hub import errors

    api = HfApi()
    message = commit_message or f"Upload lstmlab {payload.get('kind')} model"
    try:
        api.create_repo(repo_id, private=private, exist_ok=True)
        if revision:
            api.create_branch(repo_id, branch=revision, exist_ok=True)
        info = api.upload_folder(repo_id=repo_id, folder_path=folder, revision=revision, commit_message=message,
                                 allow_patterns=[file.name for file in files])
    except errors.HfHubHTTPError as error:
        raise ModelFileError(f"{repo_id}: the Hub refused the upload: {str(error).splitlines()[0]}") from None
    except (httpx.HTTPError, OSError) as error:  # no network, a timeout
        raise ModelFileError(f"{repo_id}: the Hub could not be reached ({type(error).__name__}: {error}); "
                             "check the network (or HF_ENDPOINT) and try again") from None
    return files, str(getattr(info, "commit_url", info))
