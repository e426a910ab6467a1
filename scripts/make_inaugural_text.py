"""Build data/inaugural/ from NLTK's `inaugural` corpus (US presidential inaugural addresses, public domain):
train = 1789-2005, valid = 2009 and 2013, test = 2017 and 2021; the files' text verbatim (one paragraph per line,
blank lines between paragraphs; written as UTF-8), concatenated in date order and gzipped reproducibly.

    python scripts/make_inaugural_text.py /path/to/nltk_data/corpora/inaugural
"""

from __future__ import annotations

import gzip
import sys
from pathlib import Path

SPLITS = {"valid": ("2009", "2013"), "test": ("2017", "2021")}


def decoded(file: Path) -> str:
    """The NLTK files are UTF-8 (recent ones) or Latin-1 (a few accented letters in older ones)."""
    data = file.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


TARGET = Path(__file__).resolve().parents[1] / "data" / "inaugural"


def main(source: Path, target: Path = TARGET) -> None:
    files = sorted(source.glob("[12]*.txt"))
    if not files:
        sys.exit(f"{source}: no inaugural address files (1789-Washington.txt, ...)")
    target.mkdir(parents=True, exist_ok=True)
    for split in ("train", "valid", "test"):
        held_out = {year for years in SPLITS.values() for year in years}
        chosen = [f for f in files if f.name[:4] in SPLITS[split]] if split in SPLITS else [
            f for f in files if f.name[:4] not in held_out]
        text = "\n".join(decoded(f).replace("\r\n", "\n").strip("\n") + "\n" for f in chosen)
        with open(target / f"{split}.txt.gz", "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as out:
            out.write(text.encode("utf-8"))
        print(f"{split}: {len(chosen)} addresses, {len(text.split())} words")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
