"""CoNLL-U reader for tagging: one example per sentence, syntactic words only.

Written on the format's own rules instead of the `conllu` package because that package accepts lines with
too few columns silently and reports no line numbers; here every malformed line is an error that says where.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Sequence
from pathlib import Path

from lstmlab.data.errors import DataFormatError
from lstmlab.data.text_files import read_blocks, resolve_data_file

log = logging.getLogger(__name__)

CONLLU_COLUMNS = ("id", "form", "lemma", "upos", "xpos", "feats", "head", "deprel", "deps", "misc")
_WORD_ID = re.compile(r"[1-9][0-9]*")
_RANGE_ID = re.compile(r"[1-9][0-9]*-[1-9][0-9]*")
_EMPTY_NODE_ID = re.compile(r"[0-9]+\.[1-9][0-9]*")


def read_conllu(
    path: str | Path, tag_column: str | None = "upos", extra_columns: Sequence[str] = ()
) -> Iterator[dict]:
    """Yield {"tokens", "tags", "lines"} per sentence from a CoNLL-U file; `tag_column` None: the words alone (no
    tags, none required: a treebank's text for a language model). Each of `extra_columns` (such as "feats") adds a
    list of that column's values as written, `_` included (a word without features), under the column's name.

    Multiword-token ranges (`1-2`) and empty nodes (`8.1`) are not syntactic words, so they carry no tag
    and are left out, as UD's own POS evaluation does; their counts are logged.
    """
    if tag_column not in ("upos", "xpos", None):
        raise ValueError(f"tag_column must be 'upos', 'xpos' or None, got {tag_column!r}")
    unknown = [column for column in extra_columns if column not in CONLLU_COLUMNS[2:]]
    if unknown:
        raise ValueError(f"extra_columns must be among {', '.join(CONLLU_COLUMNS[2:])}, got {', '.join(unknown)}")
    path = resolve_data_file(path)
    tag_index = CONLLU_COLUMNS.index(tag_column) if tag_column else None
    extra_indices = {column: CONLLU_COLUMNS.index(column) for column in extra_columns}
    sentences = ranges = empty_nodes = 0
    for block in read_blocks(path):
        tokens: list[str] = []
        tags: list[str] = []
        lines: list[int] = []
        extra: dict[str, list[str]] = {column: [] for column in extra_columns}
        for number, line in block:
            if line.startswith("#"):
                continue
            fields = line.split("\t")
            if len(fields) != len(CONLLU_COLUMNS):
                raise DataFormatError(
                    path, number, f"expected 10 tab-separated CoNLL-U columns, found {len(fields)}"
                )
            word_id = fields[0]
            if _RANGE_ID.fullmatch(word_id):
                ranges += 1
                continue
            if _EMPTY_NODE_ID.fullmatch(word_id):
                empty_nodes += 1
                continue
            if not _WORD_ID.fullmatch(word_id):
                raise DataFormatError(
                    path, number, f"ID {word_id!r} is not an integer, a range like 1-2 or an empty node like 1.1"
                )
            if int(word_id) != len(tokens) + 1:
                raise DataFormatError(path, number, f"expected word ID {len(tokens) + 1}, found {word_id}")
            if tag_index is not None:
                if fields[tag_index] in ("", "_"):
                    raise DataFormatError(path, number, f"word {fields[1]!r} has no {tag_column.upper()} tag")
                tags.append(fields[tag_index])
            tokens.append(fields[1])
            lines.append(number)
            for column, index in extra_indices.items():
                extra[column].append(fields[index])
        if not tokens:
            raise DataFormatError(path, block[0][0], "sentence has comment lines but no words")
        sentences += 1
        yield {"tokens": tokens, "tags": tags, "lines": lines, **extra}
    if sentences == 0:
        raise DataFormatError(path, None, "no sentences found (the file is empty)")
    log.info(
        "%s: %d sentences; left out %d multiword-token ranges and %d empty nodes (not tagged words)",
        path, sentences, ranges, empty_nodes,
    )
