"""Load a sentence-classification split as a `datasets.Dataset` with columns tokens, label, line.

Two sources. `tsv`: a file of `text<TAB>label` lines, any labels (a user's own data), parsed once and cached as
Arrow. `senteval`: the single-sentence SentEval tasks (SST-2, MR, CR, SUBJ, MPQA, TREC) in SentEval's folder
layout, read by the transfer-task readers (which check every line). MR, CR, SUBJ and MPQA come as one pool of
sentences with no split: `test_share` of it, drawn by a fixed `split_seed`, is the test split and the rest is
train, so every run and every seed tests on the same sentences.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterator
from pathlib import Path

import datasets
import numpy as np

from lstmlab.data.batching.arrow_cache import cached_parse
from lstmlab.data.errors import DataFormatError
from lstmlab.data.readers.nli import TOKENIZERS
from lstmlab.data.readers.senteval import TASKS, Sentences, TaskData
from lstmlab.data.text_files import read_lines, resolve_data_file

log = logging.getLogger(__name__)

FORMATS = ("tsv", "senteval")
FEATURES = datasets.Features({
    "tokens": datasets.Sequence(datasets.Value("string")),
    "label": datasets.Value("string"),
    "line": datasets.Value("int32"),
})
SENTEVAL_PARTS = {"train": "train", "val": "dev", "test": "test"}  # the data module's split -> SentEval's


def classification_example(path: Path | str, line: int, text: str, label: str, tokenizer: str) -> dict:
    tokens = TOKENIZERS[tokenizer](text)
    if not tokens:
        raise DataFormatError(path, line, "empty text: every example needs a sentence")
    if not label:
        raise DataFormatError(path, line, "empty label")
    return {"tokens": tokens, "label": label, "line": line}


def read_labelled_lines(path: str | Path, tokenizer: str = "whitespace") -> Iterator[dict]:
    """`text<TAB>label` per line; a line without exactly one tab, an empty text or an empty label is an error."""
    for number, line in read_lines(path):
        fields = line.split("\t")
        if len(fields) != 2:
            raise DataFormatError(path, number, f"expected 'text<TAB>label', found {len(fields)} tab-separated "
                                                f"field(s)")
        yield classification_example(path, number, fields[0], fields[1].strip(), tokenizer)


@functools.lru_cache(maxsize=2)
def load_senteval_task(folder: str, task: str) -> TaskData | None:
    """Every split of a task, read once for the data module's train, val and test (the result is not modified)."""
    spec = TASKS.get(task)
    return spec.load(Path(folder)) if spec is not None else None


def senteval_sentences(folder: str | Path, task: str, split: str, test_share: float, split_seed: int) -> Sentences:
    """The `split` (train, val, test) of a SentEval single-sentence task."""
    data = load_senteval_task(str(folder), task)
    if data is None or data.kind != "classification" or not isinstance(next(iter(data.splits.values())), Sentences):
        single = [name for name in TASKS if name in ("mr", "cr", "subj", "mpqa", "sst2", "trec")]
        raise ValueError(f"data.task={task!r} is not a single-sentence SentEval task; allowed values: "
                         f"{', '.join(single)}")
    if data.skipped:
        log.info("%s: skipped %d blank line(s), first %s:%d", task, len(data.skipped), data.skipped[0].path,
                 data.skipped[0].line)
    if "all" not in data.splits:
        if test_share:
            raise ValueError(f"data.test_split: {task} has its own test split; set data.test_split=0")
        part = SENTEVAL_PARTS[split]
        if part not in data.splits:
            raise ValueError(f"{task} has no {part} split: set data.val_path=null and hold out a share of train "
                             f"with data.val_split")
        return data.splits[part]
    if split == "val" or not 0 < test_share < 1:
        raise ValueError(f"{task} is one pool of sentences without splits: set data.test_split (a share, e.g. "
                         f"0.1) and data.val_split, with data.val_path=null")
    pool = data.splits["all"]
    order = np.random.default_rng(split_seed).permutation(len(pool.texts))
    cut = round(test_share * len(order))
    chosen = sorted(order[:cut] if split == "test" else order[cut:])
    return Sentences([pool.texts[i] for i in chosen], [pool.labels[i] for i in chosen],
                     lines=[pool.lines[i] for i in chosen])


def load_classification_split(
    path: str, split: str, file_format: str = "tsv", task: str | None = None, tokenizer: str = "whitespace",
    test_share: float = 0.0, split_seed: int = 0, cache_dir: str | None = None,
) -> datasets.Dataset:
    if file_format not in FORMATS:
        raise ValueError(f"data.format must be one of {FORMATS}, got {file_format!r}")
    if tokenizer not in TOKENIZERS:
        raise ValueError(f"data.tokenizer must be one of {tuple(TOKENIZERS)}, got {tokenizer!r}")
    if file_format == "tsv":
        return cached_parse(read_labelled_lines, resolve_data_file(path), {"tokenizer": tokenizer}, FEATURES,
                            cache_dir)
    sentences = senteval_sentences(path, str(task), split, test_share, split_seed)
    rows = [classification_example(path, line, text, label, tokenizer)
            for text, label, line in zip(sentences.texts, sentences.labels, sentences.lines, strict=True)]
    return datasets.Dataset.from_list(rows, features=FEATURES)  # small: parsed in well under a second
