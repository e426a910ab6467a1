"""UDPipe 1's tagger retrained on the very files lstmlab trains on: a baseline on the same treebank release.

UDPipe's published UPOS scores come from its UD 2.3 models, while the treebanks a user downloads today are newer
releases (re-annotated in places), so those scores are reference points only. This script trains UDPipe 1's tagger
(MorphoDiTa: an averaged perceptron over word, prefix and suffix features with a suffix guesser) on each treebank's
train split with its default options, the dev split as heldout, tags the test split with gold tokenization and
prints its UPOS accuracy over UD's syntactic words, as lstmlab scores them.

    pip install ufal.udpipe
    LSTMLAB_DATA_DIR=/path/to/corpora python scripts/udpipe_baseline.py tr_imst ko_gsd ...

Each treebank is a name under the data directory or a folder (`data.treebank`'s rules).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import ufal.udpipe as udpipe

from lstmlab.data.readers.treebank import find_treebank
from lstmlab.data.text_files import read_lines


def sentences(text: str) -> udpipe.Sentences:
    reader = udpipe.InputFormat.newConlluInputFormat()
    reader.setText(text)
    found, sentence, error = udpipe.Sentences(), udpipe.Sentence(), udpipe.ProcessingError()
    while reader.nextSentence(sentence, error):
        found.push_back(sentence)
        sentence = udpipe.Sentence()
    if error.occurred():
        raise ValueError(error.message)
    return found


def upos(conllu: str) -> list[str]:
    """The UPOS of each syntactic word (not multiword-token ranges, not empty nodes)."""
    return [line.split("\t")[3] for line in conllu.splitlines()
            if line and not line.startswith("#") and line.split("\t", 1)[0].isdigit()]


def train_and_score(treebank: str, options: str, folder: Path) -> tuple[float, int, float]:
    """(test UPOS accuracy in %, syntactic words, training seconds) of UDPipe's tagger trained on `treebank`."""
    found = find_treebank(treebank)
    text = {split: "".join(f"{line}\n" for _, line in read_lines(path)) for split, path in found.paths.items()}
    error = udpipe.ProcessingError()
    start = time.perf_counter()
    model = udpipe.Trainer.train("morphodita_parsito", sentences(text["train"]), sentences(text["val"]), "none",
                                 options, "none", error)
    seconds = time.perf_counter() - start
    if error.occurred():
        raise RuntimeError(f"{treebank}: {error.message}")
    path = folder / f"{found.name}.udpipe"
    path.write_bytes(model)
    loaded = udpipe.Model.load(str(path))  # kept in a variable: the pipeline holds a bare pointer to it
    pipeline = udpipe.Pipeline(loaded, "conllu", udpipe.Pipeline.DEFAULT, udpipe.Pipeline.NONE, "conllu")
    tagged = pipeline.process(text["test"], error)
    if error.occurred():
        raise RuntimeError(f"{treebank}: {error.message}")
    gold, predicted = upos(text["test"]), upos(tagged)
    if len(gold) != len(predicted):
        raise RuntimeError(f"{treebank}: {len(gold)} gold words but {len(predicted)} tagged")
    return 100 * sum(g == p for g, p in zip(gold, predicted, strict=True)) / len(gold), len(gold), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("treebanks", nargs="+")
    parser.add_argument("--options", default="", help="UDPipe tagger options (default: UDPipe's own)")
    parser.add_argument("--folder", type=Path, default=Path("udpipe_models"), help="where the models are kept")
    args = parser.parse_args()
    args.folder.mkdir(parents=True, exist_ok=True)
    print("| treebank | test words | UDPipe 1 test UPOS | training time |\n|---|---:|---:|---:|", flush=True)
    for treebank in args.treebanks:
        accuracy, words, seconds = train_and_score(treebank, args.options, args.folder)
        print(f"| {treebank} | {words:,} | {accuracy:.2f} | {seconds:.0f} s |", flush=True)


if __name__ == "__main__":
    main()
