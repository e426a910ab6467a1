"""Pretrained word vectors matched to a vocabulary: the `data.vectors` config, the lookup of every training key in
the file (exact, then a case variant), and the rows a network's embedding is loaded from."""

from __future__ import annotations

import logging
from collections.abc import Collection, Container
from dataclasses import dataclass

import numpy as np
import torch

from lstmlab.data.errors import DataFormatError
from lstmlab.data.readers.word_vectors import load_word_vectors
from lstmlab.data.text_files import resolve_data_file
from lstmlab.data.vocab.vocab import PAD, UNK, Vocab

log = logging.getLogger(__name__)


@dataclass
class PretrainedVectors:
    """The `data.vectors` config group. `extend_vocab` appends the file's other words to the word vocabulary (as
    frozen rows), so words never seen in training still get their vector; `max_words` reads only the first lines
    of a huge file (GloVe and fastText files are frequency-sorted)."""

    path: str | None = None  # word vectors text file (GloVe, word2vec, fastText; may be .gz); must be set
    extend_vocab: bool = True  # add the file's words not seen in training, as frozen rows
    max_words: int | None = None  # read only the file's first lines (its most frequent words); None: all


@dataclass
class MatchedVectors:
    """Pretrained vectors matched to vocabulary keys (see `match_vectors`)."""

    extra_words: list[str]  # keys to append to the word vocabulary after the training words, in file order
    counts: dict[str, int]  # exact, case_variant, missing (training keys); unreachable (file entries); extension
    keys: list[str]  # every key that has a vector (training keys found and `extra_words`), in file order
    vectors: np.ndarray  # float32 [len(keys), dim]: row i is the vector of keys[i]

    @property
    def dim(self) -> int:
        return self.vectors.shape[1]

    def rows(self, vocab: Vocab) -> tuple[torch.Tensor, torch.Tensor]:
        """(row ids in `vocab`, vectors [n, dim]) for every vocabulary entry that has a vector. When every key is
        in `vocab` (the usual case) the vectors share memory with this object instead of being copied."""
        ids = np.fromiter((vocab.stoi.get(k, -1) for k in self.keys), dtype=np.int64, count=len(self.keys))
        found = ids >= 0
        if found.all():
            return torch.from_numpy(ids), torch.from_numpy(self.vectors)
        return torch.from_numpy(ids[found]), torch.from_numpy(self.vectors[found])


class _LowercasesTo:
    """The words whose lowercase form is one of `keys`: every spelling that may serve a lowercased key."""

    def __init__(self, keys: Container[str]) -> None:
        self.keys = keys

    def __contains__(self, word: object) -> bool:
        return isinstance(word, str) and word.lower() in self.keys


def match_vectors(spec: PretrainedVectors, train_keys: Collection[str], lowercase: bool) -> MatchedVectors:
    """Find a vector for every training key (lowercased already when `lowercase`) and, with `spec.extend_vocab`,
    list the file's other words as keys to add to the vocabulary.

    A key k takes the file's entry for k exactly; else, if k is not all-lowercase, the entry for k.lower() (so
    with lowercase=false and uncased GloVe "The" gets the vector of "the"); else, when `lowercase`, the first
    entry in file order whose lowercase form is k (cased GloVe 840B or fastText: "Paris" serves "paris").
    Counts: `exact`, `case_variant` and `missing` training keys; `unreachable` file entries, whose key another
    entry already serves (a repeated word, or "PARIS" after "Paris"); `extension`, the keys added from the file.
    The padding and unknown entries never take a file vector. Without `extend_vocab` only the spellings the
    training keys can use are parsed into floats.
    """
    if not spec.path:
        raise ValueError("no vectors file: set data.vectors.path")
    path = resolve_data_file(spec.path)
    keys = [k for k in dict.fromkeys(train_keys) if k not in (PAD, UNK)]
    key_set = set(keys)
    wanted: Container[str] | None = None
    if not spec.extend_vocab:
        wanted = _LowercasesTo(key_set) if lowercase else key_set | {k.lower() for k in keys}
    loaded = load_word_vectors(path, wanted, spec.max_words)
    words = loaded.words
    if lowercase:
        serving: dict[str, int] = {}  # key -> index of the entry that serves it
        for index, word in enumerate(words):
            key = word.lower()
            key = word if key == word else key  # one string object per word, not a copy kept in the vocabulary
            current = serving.get(key)
            if current is None or (word == key and words[current] != key):
                serving[key] = index
        file_keys, lookup = serving, serving.get
        unreachable = len(words) - len(serving) + loaded.duplicates
    else:
        exact_index = {word: index for index, word in enumerate(words)}

        def lookup(key: str) -> int | None:
            found = exact_index.get(key)
            return exact_index.get(key.lower()) if found is None and key != key.lower() else found

        file_keys, unreachable = exact_index, loaded.duplicates
    counts = {"exact": 0, "case_variant": 0, "missing": 0, "unreachable": unreachable, "extension": 0}
    served: list[str] = []
    entries: list[int] = []
    for key in keys:
        index = lookup(key)
        if index is None:
            counts["missing"] += 1
            continue
        counts["exact" if words[index] == key else "case_variant"] += 1
        served.append(key)
        entries.append(index)
    if not served:
        examples = ", ".join([repr(k) for k in keys[:5]] + (["..."] if len(keys) > 5 else []))
        raise DataFormatError(path, None, f"shares no word with the vocabulary: none of the {len(keys)} words "
                                          f"looked up ({examples}) has a vector in it")
    if spec.extend_vocab:
        extension = [k for k in file_keys if k not in key_set and k not in (PAD, UNK)]
        served += extension
        entries += [lookup(k) for k in extension]
    chosen = np.asarray(entries, dtype=np.int64)
    order = np.argsort(chosen, kind="stable")
    chosen = chosen[order]
    served = [served[i] for i in order]
    extra_words = [k for k in served if k not in key_set]
    counts["extension"] = len(extra_words)
    log.info("%s: %d of %d training words have a vector (%d exactly, %d through a case variant), %d have none; "
             "%d file entries unreachable (another spelling serves their word); %d words added from the file",
             path, len(keys) - counts["missing"], len(keys), counts["exact"], counts["case_variant"],
             counts["missing"], counts["unreachable"], counts["extension"])
    identity = len(chosen) == len(words) and np.array_equal(chosen, np.arange(len(words)))
    return MatchedVectors(
        extra_words=extra_words, counts=counts, keys=served,
        vectors=loaded.vectors if identity else loaded.vectors[chosen],
    )
