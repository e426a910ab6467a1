"""Raw text in other languages: the Unicode rule (`lstmlab.data.tokenization.unicode_rule`, what every model but an
English one splits raw text with) scored against the gold words of each UD treebank, by character span. Prints the
command, the date, the CPU and a Markdown table.

    LSTMLAB_DATA_DIR=<data> .venv/bin/python bench/tokenizer_ud.py [--split test|dev]

Treebanks are the folders of $LSTMLAB_DATA_DIR/ud_multilingual (without it, the bundled samples under data/), and UD
English EWT scored with both rules for reference. Each sentence's `# text` line is tokenized and a token is correct
when a gold syntactic word has the same span (`lstmlab.data.tokenization.token_alignment`). A multiword token
(Turkish, French `du` = `de le`) is expanded when every one of its words has a token of its span; the rule splits
no word into two that the text writes as one, so it expands only those that punctuation happens to cut. Two more
F1 columns for reference: each punctuation mark and symbol split off with no word-internal exception (the rule
without its hyphen, apostrophe and number joiners), and a split on whitespace alone. The scores depend on the data
only; the speed (sentences per second, one thread, median of 5 passes) on the machine.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from machine import load_average
from report import heading

from lstmlab.data.tokenization.rules import ENGLISH_RULE, RULES, UNICODE_RULE
from lstmlab.data.tokenization.token_alignment import GoldSentence, Match, expanded_multiword, read_gold, score_tokens
from lstmlab.data.tokenization.unicode_rule import character_classes

BUNDLED = Path(__file__).resolve().parents[1] / "data"
Tokenizer = Callable[[str], list[str]]
COLUMNS = ("treebank", "rule", "sentences", "gold words", "words in multiword tokens", "token P", "token R",
           "token F1", "multiword tokens expanded", "F1, every mark split", "F1, whitespace only", "sentences/s")


def every_mark_split() -> Tokenizer:
    """Each punctuation mark and symbol its own token (a run of one repeated as one), words never joined."""
    [marks] = character_classes("PS")
    pattern = re.compile(rf"[^\s{marks}]+|([{marks}])\1*")
    return lambda text: [found.group() for found in pattern.finditer(text)]


def treebank_files(data_dir: Path, split: str) -> dict[str, Path]:
    """Name -> the split's CoNLL-U file (plain or gzipped) of every treebank folder under ud_multilingual/."""
    files = {}
    for folder in sorted((data_dir / "ud_multilingual").iterdir()):
        found = sorted(folder.glob(f"*-ud-{split}.conllu*"))
        if found:
            files[folder.name] = found[0]
    return files


def score(gold: list[GoldSentence], tokenize: Tokenizer) -> Match:
    return sum((score_tokens(sentence, tokenize(sentence.text)) for sentence in gold), Match())


def sentences_per_second(gold: list[GoldSentence], tokenize: Tokenizer, passes: int = 5) -> float:
    texts = [sentence.text for sentence in gold]
    seconds = []
    for _ in range(passes):
        start = time.perf_counter()
        for text in texts:
            tokenize(text)
        seconds.append(time.perf_counter() - start)
    return len(texts) / statistics.median(seconds)


def percent(part: float, whole: float) -> str:
    return f"{100 * part / whole:.2f}" if whole else "-"


def row(name: str, rule: str, gold: list[GoldSentence], tokenize: Tokenizer, references: list[Tokenizer]) -> str:
    tokens = score(gold, tokenize)
    multiword = sum(len(sentence.multiword) for sentence in gold)
    in_multiword = sum(len(words) for sentence in gold for words in sentence.multiword)
    expanded = sum(expanded_multiword(sentence, tokenize(sentence.text)) for sentence in gold)
    cells = [name, rule, f"{len(gold):,}", f"{tokens.gold:,}", f"{percent(in_multiword, tokens.gold)}%",
             percent(tokens.matched, tokens.predicted), percent(tokens.matched, tokens.gold),
             percent(2 * tokens.matched, tokens.gold + tokens.predicted),
             f"{expanded:,} of {multiword:,}" if multiword else "none in the treebank",
             *(f"{100 * score(gold, reference).f1:.2f}" for reference in references),
             f"{sentences_per_second(gold, tokenize):,.0f}"]
    return "| " + " | ".join(cells) + " |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=("test", "dev", "train"), default="test", help="the file to score on")
    args = parser.parse_args()
    data_dir = Path(os.environ.get("LSTMLAB_DATA_DIR") or BUNDLED)
    started, load_before = time.perf_counter(), load_average()
    references = [every_mark_split(), str.split]
    unicode_rule, english_rule = RULES[UNICODE_RULE], RULES[ENGLISH_RULE]
    lines = [row(name, "Unicode", list(read_gold(path)), unicode_rule, references)
             for name, path in treebank_files(data_dir, args.split).items()]
    ewt = list(read_gold(data_dir / "ud_english_ewt" / f"en_ewt-ud-{args.split}.conllu"))
    lines += [row("en_ewt (reference)", rule, ewt, tokenize, references)
              for rule, tokenize in (("Unicode", unicode_rule), ("EWT (English models)", english_rule))]
    print("\n".join(heading(time.perf_counter() - started, load_before, f"; data: {data_dir}, {args.split} split")))
    print("\n| " + " | ".join(COLUMNS) + " |\n|" + "---|" * 2 + "---:|" * (len(COLUMNS) - 2))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
