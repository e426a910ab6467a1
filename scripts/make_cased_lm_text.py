"""Build a cased, punctuated English LM corpus for ELMo features in EWT taggers, tokenized the way EWT is.

The PTB LM text is lowercased, has no punctuation and reads numbers as N, so a biLM trained on it meets most
EWT tokens' capitals and punctuation as unknown characters. This corpus keeps them:
train = Brown (tokenized), NLTK's ABC, Web Text, State of the Union and Inaugural text (raw, split by the EWT
rule of `lstmlab.data.tokenization.tokenize`) and the training sentences of UD English EWT, GUM and LinES (gold words);
valid = EWT dev; test = GUM test. No EWT test sentence is in it. One line per sentence or paragraph,
whitespace-tokenized, gzipped reproducibly:

    python scripts/make_cased_lm_text.py /path/to/corpora data/cased_lm
    lstmlab-train experiment=bilm_cased trainer=gpu   # reads data/cased_lm
"""

from __future__ import annotations

import gzip
import sys
from collections.abc import Iterator
from pathlib import Path

from make_inaugural_text import decoded  # NLTK's text files: UTF-8, or Latin-1 for a few

from lstmlab.data.readers.conllu import read_conllu
from lstmlab.data.tokenization.tokenize import tokenize

RAW_TEXT = ("abc/*.txt", "webtext/*.txt", "state_union/*.txt", "inaugural/*.txt")
UD_TRAIN = ("ud_english_ewt/en_ewt-ud-train.conllu", "ud_english_gum/en_gum-ud-train.conllu",
            "ud_english_lines/en_lines-ud-train.conllu")
SPLITS = {"valid": ("ud_english_ewt/en_ewt-ud-dev.conllu",), "test": ("ud_english_gum/en_gum-ud-test.conllu",)}


def raw_text_lines(corpora: Path) -> Iterator[str]:
    for pattern in RAW_TEXT:
        files = sorted(corpora.glob(f"nltk_english_text/{pattern}"))
        if not files:
            sys.exit(f"{corpora}: no nltk_english_text/{pattern}")
        for file in files:
            for line in decoded(file).splitlines():
                if line.strip():
                    yield " ".join(tokenize(line))


def ud_lines(corpora: Path, files: tuple[str, ...]) -> Iterator[str]:
    for name in files:
        yield from (" ".join(sentence["tokens"]) for sentence in read_conllu(corpora / name))


def brown_lines(corpora: Path) -> Iterator[str]:
    with open(corpora / "nltk_english_text/brown.txt", encoding="utf-8") as lines:
        yield from (line.strip() for line in lines if line.strip())


def write(path: Path, lines: Iterator[str]) -> None:
    count = words = 0
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as out:
        for line in lines:
            out.write(f"{line}\n".encode())
            count += 1
            words += len(line.split())
    print(f"{path}: {count} lines, {words} words")


def main(corpora: Path, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    write(target / "train.txt.gz", (line for source in (brown_lines(corpora), raw_text_lines(corpora),
                                                        ud_lines(corpora, UD_TRAIN)) for line in source))
    for split, files in SPLITS.items():
        write(target / f"{split}.txt.gz", ud_lines(corpora, files))


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
