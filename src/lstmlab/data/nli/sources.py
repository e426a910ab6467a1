"""Load an NLI split as a `datasets.Dataset` with columns premise / hypothesis (tokens), label, line.

Local files are parsed once and cached as Arrow (`arrow_cache`); hub datasets (`stanfordnlp/snli`,
`nyu-mll/multi_nli`) come through `datasets.load_dataset`, with their integer labels turned into names and -1 (no
gold label) into "". Pairs without a gold label are kept here and dropped, counted, by the data module.
"""

from __future__ import annotations

import datasets

from lstmlab.data.batching.arrow_cache import cached_parse, code_fingerprint
from lstmlab.data.errors import DataFormatError
from lstmlab.data.readers.nli import READERS, TOKENIZERS, pair_example
from lstmlab.data.text_files import resolve_data_file

FORMATS = (*READERS, "hub")
FEATURES = datasets.Features({
    "premise": datasets.Sequence(datasets.Value("string")),
    "hypothesis": datasets.Sequence(datasets.Value("string")),
    "label": datasets.Value("string"),
    "line": datasets.Value("int32"),
})


def _from_hub(name: str, config: str | None, split: str, fields: dict[str, str], tokenizer: str,
              cache_dir: str | None) -> datasets.Dataset:
    dataset = datasets.load_dataset(name, config, split=split, cache_dir=cache_dir)
    where = f"{name}[{split}]"
    missing = [f for f in fields.values() if f not in dataset.column_names]
    if missing:
        raise DataFormatError(where, None, f"expected column(s) {missing}, found {dataset.column_names}")
    names = getattr(dataset.features[fields["label"]], "names", None)
    split_words = TOKENIZERS[tokenizer]

    def label_name(label: object) -> object:  # class ids to names; -1 marks a pair without a gold label
        if names is None:
            return label
        return names[label] if label >= 0 else ""

    def convert(batch: dict, indices: list[int], code_key: str) -> dict:
        """`code_key` is unused here but keys the map's cache: `datasets` hashes the tokenizer by name only."""
        columns = (batch[fields["premise"]], batch[fields["hypothesis"]], batch[fields["label"]])
        rows = [pair_example(where, row + 1, premise, hypothesis, label_name(label), split_words)
                for row, premise, hypothesis, label in zip(indices, *columns, strict=True)]
        return {key: [example[key] for example in rows] for key in FEATURES}

    return dataset.map(convert, batched=True, with_indices=True, remove_columns=dataset.column_names,
                       features=FEATURES, fn_kwargs={"code_key": code_fingerprint(convert)})


def load_nli_split(
    path: str,
    file_format: str = "jsonl",
    premise_field: str = "sentence1",
    hypothesis_field: str = "sentence2",
    label_field: str = "gold_label",
    tokenizer: str = "rule",
    hub_config: str | None = None,
    hub_split: str | None = None,
    cache_dir: str | None = None,
) -> datasets.Dataset:
    """One split. `path` is a file (jsonl, tsv), `<folder>/<split>` (infersent) or a hub dataset name (hub)."""
    if file_format not in FORMATS:
        raise ValueError(f"data.format must be one of {FORMATS}, got {file_format!r}")
    if tokenizer not in TOKENIZERS:
        raise ValueError(f"data.tokenizer must be one of {tuple(TOKENIZERS)}, got {tokenizer!r}")
    fields = {"premise": premise_field, "hypothesis": hypothesis_field, "label": label_field}
    if file_format == "hub":
        return _from_hub(path, hub_config, hub_split or "train", fields, tokenizer, cache_dir)
    if file_format == "infersent":
        folder, _, split = path.rpartition("/")
        files = [resolve_data_file(f"{folder}/{name}.{split}") for name in ("s1", "s2", "labels")]
        return cached_parse(READERS["infersent"], path, {"tokenizer": tokenizer}, FEATURES, cache_dir, files)
    options = {**{f"{name}_field": field for name, field in fields.items()}, "tokenizer": tokenizer}
    return cached_parse(READERS[file_format], resolve_data_file(path), options, FEATURES, cache_dir)
