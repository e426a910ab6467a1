"""The model card of an export folder: README.md with the Hub's YAML metadata (`library_name: lstmlab`, tags,
language, license and datasets where the data is known, `model-index` with the run's metrics and their splits)
and a body that says what the model is, how to load it, what it was trained on and what it measured.

Plain text and PyYAML: written at training time whether or not the `hub` extra is installed. The front matter's
`lstmlab` entry keeps what the card was made from (kind, metrics, command, config), so `lstmlab-push` can write
it again naming the repo.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from lstmlab.utils.atomic_file import atomic_file

CARD_FILE = "README.md"
MODEL_PLACEHOLDER = "path/to/model"  # what the load lines name before the model has a Hub id

# kind -> (title, Hub tags, pipeline tag, Python load line, CLI line); {model} is the path or the Hub id
KINDS = {
    "tagger": ("BiLSTM sequence tagger", ["token-classification"], "token-classification",
               'from lstmlab import Tagger\ntagger = Tagger.load("{model}")\ntagger.predict("The quick brown fox '
               'jumps over the lazy dog.")', 'lstmlab-tag --model {model} < raw.txt'),
    "nli": ("sentence encoder trained on natural language inference",
            ["sentence-embeddings", "sentence-similarity", "feature-extraction", "natural-language-inference"],
            "sentence-similarity",
            'from lstmlab import SentenceEncoder\nencoder = SentenceEncoder.load("{model}")\n'
            'vectors = encoder.encode(["A man is playing a guitar.", "Nobody plays."])',
            "lstmlab-embed --model {model} sentences.txt -o embeddings.npy"),
    "bilm": ("bidirectional language model (ELMo)", ["language-model", "elmo", "contextual-embeddings"],
             "feature-extraction",
             'from lstmlab import Elmo\nelmo = Elmo.load("{model}")\n'
             'out = elmo([["The", "cat", "sat", "."]])  # out.layers: [layers, 1, 4, dim]',
             "lstmlab-elmo --model {model} tokenized.txt -o elmo.h5"),
    "classifier": ("sentence classifier", ["text-classification"], "text-classification",
                   'from lstmlab.tasks import load_task\nclassifier = load_task("{model}")',
                   "lstmlab-eval ckpt_path={model} data=..."),
}
TASK_TYPES = {"tagger": "token-classification", "nli": "text-classification", "bilm": "text-generation",
              "classifier": "text-classification"}
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
    known = []
    for pattern, entry in KNOWN_DATA.items():
        if any(pattern in name for names in files.values() for name in names) and entry not in known:
            known.append(entry)
    return known, files


def model_index(kind: str, name: str, metrics: dict[str, float], datasets: list) -> list[dict]:
    """The Hub's `model-index`: one result per split (val, test), each metric named as logged."""
    dataset_name, dataset_type = (datasets[0][0], datasets[0][1] or "custom") if datasets else ("custom", "custom")
    results = []
    for split, hub_split in (("val", "validation"), ("test", "test")):
        values = [{"type": METRIC_TYPES.get(metric.split("/", 1)[1].split("_")[0], metric.split("/", 1)[1]),
                   "name": metric, "value": value}
                  for metric, value in sorted(metrics.items()) if metric.startswith(f"{split}/")]
        if values:
            results.append({"task": {"type": TASK_TYPES.get(kind, "other")},
                            "dataset": {"name": dataset_name, "type": dataset_type, "split": hub_split},
                            "metrics": values})
    return [{"name": name, "results": results}] if results else []


def card_metrics(metrics: dict | None) -> dict[str, float]:
    """The metrics a card shows: the run's val/ and test/ ones (of the tested, exported checkpoint)."""
    return {key: float(value) for key, value in sorted((metrics or {}).items())
            if key.startswith(("val/", "test/")) and isinstance(value, int | float)}


def card_text(payload: dict, metrics: dict | None = None, config: dict | None = None, command: str | None = None,
              model: str | None = None) -> str:
    """README.md for a model: front matter + body. `model` is what the load lines name (a Hub id or a path)."""
    kind = payload.get("kind") or "unknown"
    title, kind_tags, pipeline, python_line, cli_line = KINDS.get(
        kind, (f"{kind} model", [], None, 'from lstmlab.tasks import load_task\nmodel = load_task("{model}")', ""))
    model = model or MODEL_PLACEHOLDER
    shown = card_metrics(metrics)
    datasets, files = data_of(config)
    tags = ["lstmlab", *kind_tags]
    tag_column = ((config or {}).get("data") or {}).get("tag_column")
    if kind == "tagger" and tag_column in {"upos", "xpos"}:
        tags.append("pos")
    meta: dict = {"library_name": "lstmlab", "tags": tags, "language": ["en"]}
    if pipeline:
        meta["pipeline_tag"] = pipeline
    licenses = sorted({entry[2] for entry in datasets if entry[2]})
    if len(licenses) == 1:
        meta["license"] = licenses[0]
    if any(entry[1] for entry in datasets):
        meta["datasets"] = sorted({entry[1] for entry in datasets if entry[1]})
    if shown:
        meta["metrics"] = sorted({METRIC_TYPES.get(k.split("/", 1)[1].split("_")[0], "other") for k in shown})
        meta["model-index"] = model_index(kind, model if model != MODEL_PLACEHOLDER else f"lstmlab-{kind}", shown,
                                          datasets)
    meta["lstmlab"] = {"kind": kind, "format_version": payload.get("format_version"),
                       "lstmlab_version": payload.get("lstmlab_version"), "metrics": shown, "command": command,
                       "config": config}
    net = payload.get("net_config") or {}
    about = ", ".join(f"{key} {net[key]}" for key in ("encoder", "cell", "hidden_size", "num_layers", "projection_dim")
                      if net.get(key) not in (None, ""))
    lines = [f"# lstmlab {title}", "",
             f"A {title} trained with lstmlab (`pip install lstmlab`)"
             + (f" ({about})." if about else "."), "",
             "## Use", "", "With `pip install 'lstmlab[hub]'` (a Hub id) or `pip install lstmlab` (a local folder):",
             "", "```python", python_line.format(model=model), "```", ""]
    if cli_line:
        lines += ["```bash", cli_line.format(model=model), "```", ""]
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


def write_model_card(folder: str | Path, payload: dict, metrics: dict | None = None, config: dict | None = None,
                     command: str | None = None, repo_id: str | None = None) -> Path:
    """Write (atomically) the card of an export folder; what is not given comes from the card already there
    (lstmlab's own) or else from the run directory around the folder."""
    folder = Path(folder)
    if metrics is None and config is None and command is None:
        own = (read_card(folder) or {}).get("lstmlab")
        if isinstance(own, dict):
            metrics, config, command = own.get("metrics"), own.get("config"), own.get("command")
        else:
            metrics, config, command = run_record(folder)
    path = folder / CARD_FILE
    with atomic_file(path) as temporary:
        temporary.write_text(card_text(payload, metrics, config, command, repo_id), encoding="utf-8")
    return path
