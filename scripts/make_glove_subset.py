"""Cut a pretrained-vectors file down to the (lowercased) words of some corpora, keeping the lines verbatim.

The bundled `data/glove/glove.6B.50d.subset.txt.gz` was made with:

    python scripts/make_glove_subset.py --vectors $LSTMLAB_DATA_DIR/glove_6b_50d/glove.6B.50d.txt.gz \
        --out data/glove/glove.6B.50d.subset.txt.gz \
        --corpus $LSTMLAB_DATA_DIR/ud_english_{ewt,gum,lines}/*.conllu $LSTMLAB_DATA_DIR/conll2000/{train,test}.txt \
            $LSTMLAB_DATA_DIR/snli/snli_1.0_*.jsonl $LSTMLAB_DATA_DIR/sick/SICK.txt
"""

from __future__ import annotations

import argparse
import gzip
import os
from collections.abc import Iterator
from pathlib import Path

from lstmlab.data.readers.columns import read_columns
from lstmlab.data.readers.conllu import read_conllu
from lstmlab.data.readers.nli import read_nli_jsonl, read_nli_tsv
from lstmlab.data.text_files import read_lines


def _token_rows(path: Path) -> Iterator[list[str]]:
    """Token lists of a CoNLL-U, column, NLI JSON-lines (both sentences) or SICK file."""
    if ".jsonl" in path.name:
        tokenizer = "whitespace" if ".tok." in path.name else "rule"
        pairs = read_nli_jsonl(path, tokenizer=tokenizer)
    elif path.name.startswith("SICK"):
        pairs = read_nli_tsv(path, premise_field="sentence_A", hypothesis_field="sentence_B",
                             label_field="entailment_label")
    else:
        reader = read_conllu if ".conllu" in path.name else read_columns
        yield from (sentence["tokens"] for sentence in reader(path))
        return
    for pair in pairs:
        yield pair["premise"]
        yield pair["hypothesis"]


def corpus_words(paths: list[Path]) -> set[str]:
    words: set[str] = set()
    for path in paths:
        for tokens in _token_rows(path):
            words.update(token.lower() for token in tokens)
    return words


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vectors", type=Path, required=True, help="full vectors file (text, plain or .gz)")
    parser.add_argument("--corpus", type=Path, nargs="+", required=True,
                        help="CoNLL-U, column, NLI .jsonl or SICK files")
    parser.add_argument("--out", type=Path, required=True, help="output file, gzipped")
    args = parser.parse_args()

    wanted = corpus_words(args.corpus)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    partial = args.out.with_name(args.out.name + ".partial")
    kept = 0
    with gzip.GzipFile(partial, "wb", compresslevel=9, mtime=0) as out:
        for _, line in read_lines(args.vectors):
            if line.split(" ", 1)[0] in wanted:
                out.write(line.encode("utf-8") + b"\n")
                kept += 1
    os.replace(partial, args.out)
    print(f"{len(wanted)} corpus words, {kept} found in {args.vectors}; wrote {args.out}")


if __name__ == "__main__":
    main()
