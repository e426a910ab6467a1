"""Readers for sentence-pair (NLI) files: JSON lines, tab-separated files with a header, InferSent's s1/s2/labels.

Every reader yields one example per pair: premise and hypothesis tokens, the label as written (lowercased; "" for a
pair without a gold label, such as SNLI's `-`, which the data module drops and counts) and the file's line number.
Bad input is an error that names the file and line: malformed JSON, a missing field, an empty sentence.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

from lstmlab.data.errors import DataFormatError
from lstmlab.data.text_files import read_lines, resolve_data_file
from lstmlab.data.tokenization import unicode_rule
from lstmlab.data.tokenization.tokenize import tokenize

NO_GOLD_LABEL = ("-", "")  # SNLI/MultiNLI write "-" where annotators had no majority

# rule: English (UD EWT's words); unicode: any language (whitespace, punctuation its own token); whitespace: as split
TOKENIZERS: dict[str, Callable[[str], list[str]]] = {"rule": tokenize, "unicode": unicode_rule.tokenize,
                                                     "whitespace": str.split}


def pair_example(path: Path | str, line: int, premise: object, hypothesis: object, label: object,
                 split_words: Callable[[str], list[str]]) -> dict:
    """One checked example: both sentences tokenized and non-empty, the label lowercased ("" for no gold label)."""
    tokens = {}
    for name, text in (("premise", premise), ("hypothesis", hypothesis)):
        if not isinstance(text, str):
            raise DataFormatError(path, line, f"the {name} is {type(text).__name__} {text!r}, expected a string")
        tokens[name] = split_words(text)
        if not tokens[name]:
            raise DataFormatError(path, line, f"empty {name}: every pair needs two non-empty sentences")
    label = "" if label is None else str(label).strip().lower()
    return {**tokens, "label": "" if label in NO_GOLD_LABEL else label, "line": line}


def read_nli_jsonl(path: str | Path, premise_field: str = "sentence1", hypothesis_field: str = "sentence2",
                   label_field: str = "gold_label", tokenizer: str = "rule") -> Iterator[dict]:
    """One JSON object per line (`snli_1.0_*.jsonl`, `multinli_1.0_*.jsonl`); blank lines are skipped."""
    split_words = TOKENIZERS[tokenizer]
    for number, line in read_lines(path):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            raise DataFormatError(path, number, f"is not valid JSON ({error.msg} at column {error.colno})") from None
        if not isinstance(row, dict):
            raise DataFormatError(path, number, f"expected a JSON object, found {type(row).__name__}")
        missing = [f for f in (premise_field, hypothesis_field, label_field) if f not in row]
        if missing:
            raise DataFormatError(path, number, f"missing field(s) {missing}; the object has {sorted(row)}")
        yield pair_example(path, number, row[premise_field], row[hypothesis_field], row[label_field], split_words)


def read_nli_tsv(path: str | Path, premise_field: str = "sentence1", hypothesis_field: str = "sentence2",
                 label_field: str = "gold_label", tokenizer: str = "rule") -> Iterator[dict]:
    """A tab-separated file whose first line names the columns: `snli_1.0_*.txt` (gold_label, sentence1,
    sentence2), SICK (`SICK_train.txt`: sentence_A, sentence_B, entailment_judgment; `SICK.txt`: entailment_label)."""
    split_words = TOKENIZERS[tokenizer]
    lines = read_lines(path)
    header = next(lines, None)
    if header is None:
        raise DataFormatError(path, 1, "empty file: expected a header line naming the columns")
    names = header[1].split("\t")
    missing = [f for f in (premise_field, hypothesis_field, label_field) if f not in names]
    if missing:
        raise DataFormatError(path, 1, f"the header has no column(s) {missing}; it names {names}. Set "
                                       "data.premise_field / hypothesis_field / label_field")
    columns = [names.index(f) for f in (premise_field, hypothesis_field, label_field)]
    for number, line in lines:
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) <= max(columns):
            raise DataFormatError(path, number, f"{len(fields)} tab-separated fields, the header names {len(names)}")
        yield pair_example(path, number, *(fields[c] for c in columns), split_words)


def read_infersent(path: str | Path, tokenizer: str = "whitespace") -> Iterator[dict]:
    """InferSent/SentEval's layout: `path` is `<folder>/<split>` for the files `s1.<split>`, `s2.<split>` and
    `labels.<split>` (premise, hypothesis, label; line i of each is the same pair)."""
    path = Path(path)
    files = [resolve_data_file(path.parent / f"{name}.{path.name}") for name in ("s1", "s2", "labels")]
    where = f"{path.parent}/{{s1,s2,labels}}.{path.name}"
    split_words = TOKENIZERS[tokenizer]
    streams = [read_lines(f) for f in files]
    while True:
        rows = [next(stream, None) for stream in streams]
        if all(row is None for row in rows):
            return
        if any(row is None for row in rows):
            short = files[rows.index(None)]
            number = next(row[0] for row in rows if row is not None)
            raise DataFormatError(short, number, "ends early: s1, s2 and labels must have the same number of lines")
        number = rows[0][0]
        yield pair_example(where, number, rows[0][1], rows[1][1], rows[2][1], split_words)


READERS = {"jsonl": read_nli_jsonl, "tsv": read_nli_tsv, "infersent": read_infersent}
