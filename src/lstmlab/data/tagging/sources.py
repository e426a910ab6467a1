"""Load a tagged split as a Hugging Face `datasets.Dataset` with columns tokens / tags / lines (and, from CoNLL-U,
any auxiliary columns asked for, such as feats).

Local CoNLL-U and column files are parsed once and cached as Arrow (`arrow_cache`).
JSON-lines files and hub datasets go through `datasets.load_dataset`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import datasets

from lstmlab.data.batching.arrow_cache import cached_parse
from lstmlab.data.errors import DataFormatError
from lstmlab.data.readers.columns import read_columns
from lstmlab.data.readers.conllu import read_conllu
from lstmlab.data.text_files import resolve_data_file

FORMATS = ("conllu", "columns", "jsonl", "hub")
READERS: dict[str, Callable[..., Iterator[dict]]] = {"conllu": read_conllu, "columns": read_columns}


def _reader_options(
    path: Path, file_format: str, tag_column: str | int, token_column: int, aux_columns: Sequence[str]
) -> dict:
    if file_format == "conllu":
        return {"tag_column": str(tag_column)} | ({"extra_columns": list(aux_columns)} if aux_columns else {})
    if isinstance(tag_column, str) and not tag_column.isdigit():
        raise DataFormatError(
            path, None, f"format=columns reads tags from a column number (0-based), but data.tag_column is "
            f"{tag_column!r}; set data.tag_column=1 (or the column that holds the tags)",
        )
    return {"token_column": int(token_column), "tag_column": int(tag_column)}


def _from_local_file(
    path: Path, file_format: str, tag_column: str | int, token_column: int, aux_columns: Sequence[str],
    cache_dir: str | None,
):
    strings = datasets.Sequence(datasets.Value("string"))
    features = datasets.Features({
        "tokens": strings, "tags": strings, "lines": datasets.Sequence(datasets.Value("int32")),
        **{column: strings for column in aux_columns},
    })
    options = _reader_options(path, file_format, tag_column, token_column, aux_columns)
    return cached_parse(READERS[file_format], path, options, features, cache_dir)


def _with_names(dataset: datasets.Dataset, tokens_field: str, tags_field: str, where: str) -> datasets.Dataset:
    """Rename to tokens/tags, turn ClassLabel ids into tag names, add row numbers as `lines`; check every row."""
    for name in (tokens_field, tags_field):
        if name not in dataset.column_names:
            raise DataFormatError(where, None, f"expected a column {name!r}, found {dataset.column_names}")
    feature = dataset.features[tags_field]
    names = getattr(getattr(feature, "feature", None), "names", None)
    dataset = dataset.select_columns([tokens_field, tags_field])

    def convert(batch: dict, indices: list[int]) -> dict:
        tags = batch[tags_field]
        if names is not None:
            tags = [[names[t] for t in row] for row in tags]
        for row, tokens, row_tags in zip(indices, batch[tokens_field], tags, strict=True):
            if not tokens:
                raise DataFormatError(where, row + 1, "sentence has no tokens")
            if len(tokens) != len(row_tags):
                raise DataFormatError(where, row + 1, f"{len(tokens)} tokens but {len(row_tags)} tags")
        return {"tokens": batch[tokens_field], "tags": tags,
                "lines": [[row + 1] * len(tokens) for row, tokens in zip(indices, batch[tokens_field], strict=True)]}

    return dataset.map(convert, batched=True, with_indices=True, remove_columns=dataset.column_names)


def load_tagged_split(
    path: str,
    file_format: str = "conllu",
    tag_column: str | int = "upos",
    token_column: int = 0,
    tokens_field: str = "tokens",
    tags_field: str = "tags",
    hub_config: str | None = None,
    hub_split: str | None = None,
    cache_dir: str | None = None,
    aux_columns: Sequence[str] = (),
) -> datasets.Dataset:
    """One split. For `hub`, `path` is the dataset name (e.g. a UD treebank on the Hugging Face hub). `aux_columns`:
    CoNLL-U columns read beside the tags (a tagger's training-only auxiliary targets)."""
    if file_format not in FORMATS:
        raise ValueError(f"data format must be one of {FORMATS}, got {file_format!r}")
    if aux_columns and file_format != "conllu":
        raise ValueError(f"auxiliary tags ({', '.join(aux_columns)}) are CoNLL-U columns, but data.format is "
                         f"{file_format}")
    if file_format == "hub":
        dataset = datasets.load_dataset(path, hub_config, split=hub_split, cache_dir=cache_dir)
        return _with_names(dataset, tokens_field, tags_field, f"{path}[{hub_split}]")
    resolved = resolve_data_file(path)
    if file_format == "jsonl":
        try:
            dataset = datasets.load_dataset("json", data_files=str(resolved), split="train", cache_dir=cache_dir)
        except datasets.exceptions.DatasetGenerationError as error:
            raise DataFormatError(resolved, None, f"is not valid JSON lines: {error.__cause__ or error}") from None
        return _with_names(dataset, tokens_field, tags_field, str(resolved))
    return _from_local_file(resolved, file_format, tag_column, token_column, aux_columns, cache_dir)
