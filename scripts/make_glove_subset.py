"""Cut a pretrained-vectors file down to the (lowercased) words of some corpora, keeping the lines verbatim.

The bundled `data/glove/glove.6B.50d.subset.txt.gz` was made with:

    python scripts/make_glove_subset.py --vectors $LSTMLAB_DATA_DIR/glove_6b_50d/glove.6B.50d.txt.gz \
        --out data/glove/glove.6B.50d.subset.txt.gz \
        --corpus $LSTMLAB_DATA_DIR/ud_english_{ewt,gum,lines}/*.conllu $LSTMLAB_DATA_DIR/conll2000/{train,test}.txt
"""

from __future__ import annotations

import argparse
import gzip
import os
from pathlib import Path

from lstmlab.data.column_reader import read_columns
from lstmlab.data.conllu_reader import read_conllu
from lstmlab.data.text_files import read_lines


def corpus_words(paths: list[Path]) -> set[str]:
    words: set[str] = set()
    for path in paths:
        reader = read_conllu if ".conllu" in path.name else read_columns
        for sentence in reader(path):
            words.update(token.lower() for token in sentence["tokens"])
    return words


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vectors", type=Path, required=True, help="full vectors file (text, plain or .gz)")
    parser.add_argument("--corpus", type=Path, nargs="+", required=True, help="CoNLL-U or column files")
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
