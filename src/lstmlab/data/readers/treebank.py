"""A Universal Dependencies treebank named by its folder or its name: its three split files and its language.

A treebank folder holds `<lang>_<name>-ud-{train,dev,test}.conllu` (each possibly gzipped), as a UD release ships
it (`UD_Turkish-IMST/tr_imst-ud-train.conllu`) or as a corpora folder keeps it (`ud_multilingual/tr_imst/`). A bare
name is looked up under the data directory, so that `data.treebank=tr_imst` needs no path. Everything that makes
the folder unusable (no such folder, a split missing or twice, a file without the tag column) is found here, before
anything is trained, and said in one line.
"""

from __future__ import annotations

import re
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lstmlab.data.locations import data_dir
from lstmlab.data.readers.conllu import read_conllu

SPLIT_FILES = {"train": "train", "val": "dev", "test": "test"}  # the data module's split: the UD file's
# the universal part-of-speech tags every UD treebank draws from (universaldependencies.org/u/pos)
UPOS_TAGS = ("ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "INTJ", "NOUN", "NUM", "PART", "PRON", "PROPN", "PUNCT",
             "SCONJ", "SYM", "VERB", "X")
SUBFOLDERS = ("", "ud_multilingual")  # where a bare name is looked for under the data directory
_LANGUAGE = re.compile(r"([a-z]{2,3})_[^-]+")  # tr_imst: an ISO 639 code, then the treebank's own name


class TreebankError(ValueError):
    """A treebank folder that cannot be trained on: the message names the folder and, where one is at fault, the
    file."""


@dataclass(frozen=True)
class Treebank:
    folder: Path
    name: str  # the files' prefix: tr_imst
    paths: dict[str, Path]  # train / val / test
    language: str | None  # from the prefix (tr_imst: tr); None where the files' names do not say


def find_folder(treebank: str | Path, root: Path | None = None) -> Path:
    """The folder `treebank` names: an existing folder as given, else `<root>/<name>` or `<root>/ud_multilingual/
    <name>` (root: the data directory), else a UD release folder there (`UD_*`) holding `<name>-ud-*` files."""
    given = Path(treebank).expanduser()
    if given.is_dir():
        return given
    root = data_dir() if root is None else root
    if given.name == str(treebank):  # a bare name, not a path
        places = [root / sub for sub in SUBFOLDERS]
        for folder in [place / given.name for place in places]:
            if folder.is_dir():
                return folder
        for place in places:
            releases = sorted(path.parent for path in place.glob(f"UD_*/{given.name}-ud-train.conllu*"))
            if releases:
                return releases[0]
        raise TreebankError(f"no treebank {treebank!r}: no folder {' or '.join(str(p / given.name) for p in places)}"
                            f" (nor a UD_* folder there with {given.name}-ud-*.conllu); name a folder holding "
                            "*-ud-train.conllu, *-ud-dev.conllu and *-ud-test.conllu, or set LSTMLAB_DATA_DIR")
    raise TreebankError(f"no treebank folder {given}")


def split_file(folder: Path, ud_split: str) -> Path:
    """The one `*-ud-<split>.conllu` (or .gz) of the folder; a plain file wins over its gzipped copy, as for any
    data path (`text_files.resolve_data_file`)."""
    found = sorted(folder.glob(f"*-ud-{ud_split}.conllu")) + sorted(folder.glob(f"*-ud-{ud_split}.conllu.gz"))
    distinct = {path.name.removesuffix(".gz"): path for path in reversed(found)}  # plain last: it wins
    if not distinct:
        raise TreebankError(f"treebank folder {folder} has no {ud_split} split (*-ud-{ud_split}.conllu or .gz); "
                            "a treebank folder holds *-ud-train.conllu, *-ud-dev.conllu and *-ud-test.conllu")
    if len(distinct) > 1:
        raise TreebankError(f"treebank folder {folder} has {len(distinct)} {ud_split} splits "
                            f"({', '.join(sorted(distinct))}): keep one treebank per folder")
    return next(iter(distinct.values()))


def find_treebank(treebank: str | Path, tag_column: str | None = "upos", root: Path | None = None) -> Treebank:
    """The treebank's folder, split files and language. Each file's first sentence is read, so that a file
    without the tag column (all `_`) is refused now, not after the training it would end (None: words alone)."""
    folder = find_folder(treebank, root)
    paths = {split: split_file(folder, ud_split) for split, ud_split in SPLIT_FILES.items()}
    names = {path.name.split("-ud-")[0] for path in paths.values()}
    if len(names) > 1:
        raise TreebankError(f"treebank folder {folder} mixes treebanks ({', '.join(sorted(names))}): "
                            "keep one treebank per folder")
    for path in paths.values():
        with closing(read_conllu(path, tag_column)) as sentences:
            next(sentences)  # a DataFormatError names the file and line: "word 'x' has no UPOS tag"
    (name,) = names
    language = _LANGUAGE.fullmatch(name)
    return Treebank(folder, name, paths, language.group(1) if language else None)


def treebank_options(treebank: str, treebanks_dir: str | None, tag_column: str | None, options: dict[str, Any]
                     ) -> dict[str, Any]:
    """A data module's `options` with the treebank's three split paths and, unless given, its language; refused
    where the options name split files too."""
    given = [f"data.{key}" for key in ("train_path", "val_path", "test_path") if options.get(key)]
    if given:
        raise TreebankError(f"data.treebank={treebank} names the CoNLL-U files of all three splits: leave out "
                            f"{', '.join(given)} (or name files without data.treebank)")
    found = find_treebank(treebank, tag_column, Path(treebanks_dir) if treebanks_dir else None)
    language = options.get("language") or found.language
    if language is None:
        raise TreebankError(f"treebank folder {found.folder}: its files ({found.name}-ud-*) do not start with a "
                            "language code (tr_imst-ud-train.conllu); set data.language=<ISO 639 code>")
    paths = {f"{split}_path": str(path) for split, path in found.paths.items()}
    return {**options, **paths, "language": language}
