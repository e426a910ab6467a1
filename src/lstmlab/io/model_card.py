"""The model card of an export folder: README.md with the Hub's YAML metadata (`library_name: lstmlab`, tags,
language, license and datasets where the data is known, `model-index` with the run's metrics and their splits)
and a body that says what the model is, how to load it, what it was trained on and what it measured.

Plain text and PyYAML: written at training time whether or not the `hub` extra is installed. The front matter's
`lstmlab` entry keeps what the card was made from (kind, metrics, command, config, the task's card details), so
`lstmlab-push` can write it again naming the repo.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import yaml

from lstmlab.utils.atomic_file import atomic_file

CARD_FILE = "README.md"
MODEL_PLACEHOLDER = "path/to/model"  # what the load lines name before the model has a Hub id


@dataclass(frozen=True)
class CardDetails:
    """What a model card says about one kind of model; each task declares its own (`Task.card`), so that this module
    knows no task. `{model}` in the load lines is the path or the Hub id."""

    title: str
    tags: tuple[str, ...] = ()  # the Hub's tags, after `lstmlab`
    pipeline_tag: str | None = None
    hub_task: str = "other"  # the task type of the Hub's model-index results
    python_line: str = 'from lstmlab.tasks import load_task\nmodel = load_task("{model}")'
    cli_line: str = ""  # a command that uses the model; none where there is no such command


def generic_card(kind: str) -> CardDetails:
    """The card details of a model kind this lstmlab has no task for: loaded the generic way."""
    return CardDetails(f"{kind} model")


def recorded_details(folder: Path) -> CardDetails | None:
    """The details an lstmlab card was written with (its front matter's `lstmlab.card`), so that a push can write it
    again without knowing the task; None for a card without them (or none)."""
    recorded = ((read_card(folder) or {}).get("lstmlab") or {}).get("card")
    if not isinstance(recorded, dict) or set(recorded) != {field.name for field in fields(CardDetails)}:
        return None
    return CardDetails(**{**recorded, "tags": tuple(recorded["tags"])})


METRIC_TYPES = {"acc": "accuracy", "loss": "loss", "f1": "f1", "ppl": "perplexity"}

# data files or Hub datasets lstmlab's configs name -> (name, Hub dataset id, license of the data)
KNOWN_DATA = {
    "ud_english_ewt": ("UD English EWT", "universal_dependencies", "cc-by-sa-4.0"),
    "ud_english_gum": ("UD English GUM", "universal_dependencies", "cc-by-nc-sa-4.0"),
    "ud_english_lines": ("UD English LinES", "universal_dependencies", "cc-by-nc-sa-4.0"),
    "snli": ("SNLI 1.0", "stanfordnlp/snli", "cc-by-sa-4.0"),
    "multi_nli": ("MultiNLI 1.0", "nyu-mll/multi_nli", None),
    "sick": ("SICK", "sick", "cc-by-nc-sa-3.0"),
    "ptb_lm": ("Penn Treebank (Mikolov's LM text)", "ptb_text_only", None),
    "conll2000": ("CoNLL-2000", "conll2000", None),
    "inaugural": ("US presidential inaugural addresses", None, None),
    "senteval/SST": ("SST-2", "stanfordnlp/sst2", None),
    "senteval/MR": ("MR (movie reviews)", "rotten_tomatoes", None),
    "senteval/TREC": ("TREC question types", "trec", None),
}
SPLIT_KEYS = {"train": "train_path", "validation": "val_path", "test": "test_path"}


def data_of(config: dict | None) -> tuple[list[tuple[str, str | None, str | None]], dict[str, list[str]]]:
    """(the known datasets among the data config's files, {split: its files or Hub datasets as given})."""
    data = (config or {}).get("data") or {}
    files: dict[str, list[str]] = {}
    for split, key in SPLIT_KEYS.items():
        value = data.get(key)
        if value:
            files[split] = [str(item) for item in value] if isinstance(value, list | tuple) else [str(value)]
    if data.get("treebank"):  # a UD treebank named by folder or name, its three splits found in it
        files["treebank"] = [str(data["treebank"])]
    known = []
    for pattern, entry in KNOWN_DATA.items():
        if any(pattern in name for names in files.values() for name in names) and entry not in known:
            known.append(entry)
    return known, files


def model_index(hub_task: str, name: str, metrics: dict[str, float], datasets: list) -> list[dict]:
    """The Hub's `model-index`: one result per split (val, test), each metric named as logged."""
    dataset_name, dataset_type = (datasets[0][0], datasets[0][1] or "custom") if datasets else ("custom", "custom")
    results = []
    for split, hub_split in (("val", "validation"), ("test", "test")):
        values = [{"type": METRIC_TYPES.get(metric.split("/", 1)[1].split("_")[0], metric.split("/", 1)[1]),
                   "name": metric, "value": value}
                  for metric, value in sorted(metrics.items()) if metric.startswith(f"{split}/")]
        if values:
            results.append({"task": {"type": hub_task},
                            "dataset": {"name": dataset_name, "type": dataset_type, "split": hub_split},
                            "metrics": values})
    return [{"name": name, "results": results}] if results else []


def card_metrics(metrics: dict | None) -> dict[str, float]:
    """The metrics a card shows: the run's val/ and test/ ones (of the tested, exported checkpoint)."""
    return {key: float(value) for key, value in sorted((metrics or {}).items())
            if key.startswith(("val/", "test/")) and isinstance(value, int | float)}


def card_text(payload: dict, details: CardDetails | None, metrics: dict | None = None, config: dict | None = None,
              command: str | None = None, model: str | None = None) -> str:
    """README.md for a model: front matter + body. `details`: what its task says of it (None: a generic card);
    `model` is what the load lines name (a Hub id or a path)."""
    kind = payload.get("kind") or "unknown"
    details = details or generic_card(kind)
    model = model or MODEL_PLACEHOLDER
    shown = card_metrics(metrics)
    datasets, files = data_of(config)
    language = (payload.get("vocabs") or {}).get("language", "en")  # vocabularies saved before it: English
    meta: dict = {"library_name": "lstmlab", "tags": ["lstmlab", *details.tags], "language": [language]}
    if details.pipeline_tag:
        meta["pipeline_tag"] = details.pipeline_tag
    licenses = sorted({entry[2] for entry in datasets if entry[2]})
    if len(licenses) == 1:
        meta["license"] = licenses[0]
    if any(entry[1] for entry in datasets):
        meta["datasets"] = sorted({entry[1] for entry in datasets if entry[1]})
    if shown:
        meta["metrics"] = sorted({METRIC_TYPES.get(k.split("/", 1)[1].split("_")[0], "other") for k in shown})
        name = model if model != MODEL_PLACEHOLDER else f"lstmlab-{kind}"
        meta["model-index"] = model_index(details.hub_task, name, shown, datasets)
    meta["lstmlab"] = {"kind": kind, "format_version": payload.get("format_version"),
                       "lstmlab_version": payload.get("lstmlab_version"), "metrics": shown, "command": command,
                       "config": config, "card": {**asdict(details), "tags": list(details.tags)}}
    net = payload.get("net_config") or {}
    about = ", ".join(f"{key} {net[key]}" for key in ("encoder", "cell", "hidden_size", "num_layers", "projection_dim")
                      if net.get(key) not in (None, ""))
    lines = [f"# lstmlab {details.title}", "",
             f"A {details.title} trained with lstmlab (`pip install lstmlab`)"
             + (f" ({about})." if about else "."), "",
             "## Use", "", "With `pip install 'lstmlab[hub]'` (a Hub id) or `pip install lstmlab` (a local folder):",
             "", "```python", details.python_line.format(model=model), "```", ""]
    if details.cli_line:
        lines += ["```bash", details.cli_line.format(model=model), "```", ""]
    lines += ["## Training", ""]
    if datasets:
        lines.append("Data: " + "; ".join(name + (f" ({license})" if license else "") for name, _, license in datasets)
                     + ".")
    for split, names in files.items():
        lines.append(f"- {split}: " + ", ".join(f"`{name}`" for name in names))
    if command:
        lines += ["", "Command:", "", "```bash", command, "```"]
    if shown:
        lines += ["", "## Results (the tested checkpoint: the best epoch)", "", "| metric | value |", "|---|---|"]
        lines += [f"| {key} | {value:.4f} |" for key, value in shown.items()]
    if config:
        lines += ["", "<details><summary>Config</summary>", "", "```yaml",
                  yaml.safe_dump(config, sort_keys=False).rstrip(), "```", "", "</details>"]
    front = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True)
    return f"---\n{front}---\n\n" + "\n".join(lines) + "\n"


def read_card(folder: Path) -> dict | None:
    """The front matter of the folder's card; None when there is none or it is not YAML front matter."""
    path = Path(folder) / CARD_FILE
    if not path.is_file():
        return None
    text = path.read_text(encoding="utf-8")
    if not text.startswith("---\n") or "\n---\n" not in text[3:]:
        return None
    try:
        meta = yaml.safe_load(text[4 : text.index("\n---\n", 3)])
    except yaml.YAMLError:
        return None
    return meta if isinstance(meta, dict) else None


def run_record(folder: Path) -> tuple[dict | None, dict | None, str | None]:
    """(metrics, config, command) of the run an export folder is the model/ of, from metrics.json and Hydra's
    .hydra/config.yaml and overrides.yaml; each None where missing."""
    run = Path(folder).parent
    metrics = config = command = None
    if (run / "metrics.json").is_file():
        metrics = json.loads((run / "metrics.json").read_text(encoding="utf-8"))
    if (run / ".hydra" / "config.yaml").is_file():
        config = yaml.safe_load((run / ".hydra" / "config.yaml").read_text(encoding="utf-8"))
        config = {key: value for key, value in (config or {}).items() if key != "hydra"}
    if (run / ".hydra" / "overrides.yaml").is_file():
        overrides = yaml.safe_load((run / ".hydra" / "overrides.yaml").read_text(encoding="utf-8")) or []
        command = " ".join(["lstmlab-train", *map(str, overrides)])
    return metrics, config, command


def card_record(folder: Path) -> tuple[dict | None, dict | None, str | None]:
    """(metrics, config, command) an export folder's card is made from: its own card's (lstmlab's, written at training
    time) or else the run directory's around the folder (`run_record`)."""
    own = (read_card(folder) or {}).get("lstmlab")
    if isinstance(own, dict):
        return own.get("metrics"), own.get("config"), own.get("command")
    return run_record(folder)


def write_model_card(folder: str | Path, payload: dict, details: CardDetails | None, metrics: dict | None = None,
                     config: dict | None = None, command: str | None = None, repo_id: str | None = None) -> Path:
    """Write (atomically) the card of an export folder (see `card_text`)."""
    path = Path(folder) / CARD_FILE
    with atomic_file(path) as temporary:
        temporary.write_text(card_text(payload, details, metrics, config, command, repo_id), encoding="utf-8")
    return path
