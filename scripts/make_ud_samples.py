"""Cut the bundled non-Latin-script UD samples (data/ud_multilingual/) from whole treebanks.

Each sample is the first 60 train, 20 dev and 20 test sentences of a treebank: whole sentence blocks, comment lines
included, byte for byte, so that the default test suite trains, saves, loads and tags outside English. They are
gzipped reproducibly (level 9, no name, no time stamp: as `gzip -9 -n`), and the treebank's LICENSE.txt goes with
them beside a SOURCE.md that says where they were cut from.

The samples in the repository were made with:

    LSTMLAB_DATA_DIR=/path/to/corpora python scripts/make_ud_samples.py

where /path/to/corpora/ud_multilingual/<name>/ holds `<name>-ud-{train,dev,test}.conllu.gz`, LICENSE.txt and
SOURCE.md (the treebank's repository and commit). `--treebanks` and `--output` change what is cut and where to.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import os
import re
import shutil
from pathlib import Path

SENTENCES = {"train": 60, "dev": 20, "test": 20}
TREEBANKS = ("ko_gsd", "mr_ufal")
OUTPUT = Path(__file__).resolve().parents[1] / "data" / "ud_multilingual"


def first_sentences(path: Path, count: int) -> bytes:
    """The first `count` sentence blocks of a gzipped CoNLL-U file, each with its comments and closing blank line."""
    kept: list[bytes] = []
    sentences = 0
    with gzip.open(path, "rb") as lines:
        for line in lines:
            kept.append(line)
            if not line.strip():
                sentences += 1
                if sentences == count:
                    return b"".join(kept)
    raise SystemExit(f"{path}: has {sentences} sentences, {count} wanted")


def source_fields(source_md: Path) -> dict[str, str]:
    """The '- Field: value' lines of the treebank's SOURCE.md."""
    return dict(re.findall(r"^- ([^:]+): (.*)$", source_md.read_text(encoding="utf-8"), re.MULTILINE))


def cut(treebank: Path, output: Path) -> None:
    """Write output/<name>/: the three cut splits, LICENSE.txt and SOURCE.md."""
    name = treebank.name
    source = source_fields(treebank / "SOURCE.md")
    output.mkdir(parents=True, exist_ok=True)
    notes = [f"# {name}: a sample of {source['Repository'].rsplit('/', 1)[-1]}", "",
             f"- Repository: {source['Repository']}", f"- Commit: {source['Commit']}",
             f"- UD release tag(s): {source['UD release tag(s) pointing at this commit']}",
             f"- License: {source['License (README metadata)']} (LICENSE.txt)",
             "- Cut by scripts/make_ud_samples.py: the first sentences of each split, whole blocks, verbatim;"
             " gzipped as `gzip -9 -n`.", "", "| file | sentences | sha256 of the decompressed file |", "|---|---|---|"]
    for split, count in SENTENCES.items():
        text = first_sentences(treebank / f"{name}-ud-{split}.conllu.gz", count)
        target = output / f"{name}-ud-{split}.conllu.gz"
        target.write_bytes(gzip.compress(text, compresslevel=9, mtime=0))
        notes.append(f"| {target.name} | {count} | `{hashlib.sha256(text).hexdigest()}` |")
    shutil.copyfile(treebank / "LICENSE.txt", output / "LICENSE.txt")
    (output / "SOURCE.md").write_text("\n".join(notes) + "\n", encoding="utf-8")
    print(f"{output}: {', '.join(f'{count} {split}' for split, count in SENTENCES.items())} sentences")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--treebanks", nargs="+", default=list(TREEBANKS))
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args()
    if not os.environ.get("LSTMLAB_DATA_DIR"):
        raise SystemExit("set LSTMLAB_DATA_DIR to the folder holding ud_multilingual/")
    source = Path(os.environ["LSTMLAB_DATA_DIR"]).expanduser() / "ud_multilingual"
    for name in args.treebanks:
        cut(source / name, args.output / name)


if __name__ == "__main__":
    main()
