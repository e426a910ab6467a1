"""Raw-text tokenizers on UD English test files: sentences per second on one thread, and token F1. One table.

    .venv/bin/python bench/tokenizer_speed.py                # bundled data/, or $LSTMLAB_DATA_DIR where set
    .venv/bin/python bench/tokenizer_speed.py --rounds 15 --save

Each tokenizer splits the `# text` lines of the EWT, GUM and LinES test files; token F1 is scored by character
span against the gold words, as in bench/tokenizer_ewt.py. Speed: one timed pass over a file is one measurement;
the tokenizers take turns, file by file, in each round, so that other work on the machine slows all alike; each
figure is the median over rounds and each ratio to the pre-issue-19 rule (bench/tokenize_before.py) the median of
the rounds' ratios. Compare speeds only as ratios within one run.

lstmlab's rule keeps nothing between calls. spaCy's tokenizer caches each piece it has split, so it is timed
twice: a new `spacy.blank("en")` before each pass (as on a first pass over new text), and one that has already
split the file (every piece a cache hit).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

import tokenize_before
from machine import load_average
from nltk.tokenize import NLTKWordTokenizer
from report import heading, show
from tokenizer_ewt import Tokenizer, nltk_spans, percent

from lstmlab.data.locations import DATA_DIR_VARIABLE, data_dir
from lstmlab.data.tokenization.token_alignment import GoldSentence, Match, read_gold, score_tokens
from lstmlab.data.tokenization.tokenize import tokenize

FILES = {"EWT": "ud_english_ewt/en_ewt-ud-test.conllu", "GUM": "ud_english_gum/en_gum-ud-test.conllu",
         "LinES": "ud_english_lines/en_lines-ud-test.conllu"}
BASELINE = "pre-issue-19 rule (bench/tokenize_before.py)"
# a name and what makes its tokenizer for one timed pass (a fresh one, or the same each time)
Variant = tuple[str, Callable[[], Tokenizer]]


def spacy_variants() -> tuple[list[Variant], str]:
    """spaCy's rule tokenizer, fresh and warm; or none, and why (the text of its row)."""
    try:
        import spacy
    except ImportError:
        return [], "spaCy `blank('en')`: not installed here (`pip install -e '.[dev]'` installs it)"

    def split_with(nlp: spacy.Language) -> Tokenizer:
        return lambda text: [token.text for token in nlp.tokenizer(text) if not token.is_space]

    warm = split_with(spacy.blank("en"))
    return [(f"spaCy {spacy.__version__} `blank('en')`, new each pass", lambda: split_with(spacy.blank("en"))),
            (f"spaCy {spacy.__version__} `blank('en')`, cache warm", lambda: warm)], ""


def pass_seconds(split: Tokenizer, texts: list[str]) -> float:
    start = time.perf_counter()
    for text in texts:
        split(text)
    return time.perf_counter() - start


def f1(split: Tokenizer, gold: list[GoldSentence]) -> float:
    return sum((score_tokens(sentence, split(sentence.text)) for sentence in gold), Match()).f1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9, help="timed passes per tokenizer and file (median)")
    parser.add_argument("--save", action="store_true", help="also write bench/results/tokenizer_speed.md/.json")
    args = parser.parse_args()
    load_before, started = load_average(), time.perf_counter()

    gold = {name: list(read_gold(data_dir() / path)) for name, path in FILES.items()}
    texts = {name: [sentence.text for sentence in sentences] for name, sentences in gold.items()}
    nltk = nltk_spans(NLTKWordTokenizer(), curly_as_straight=False)
    spacy_rows, spacy_missing = spacy_variants()
    variants: list[Variant] = [("lstmlab rule (`tokenize()`)", lambda: tokenize),
                               (BASELINE, lambda: tokenize_before.tokenize),
                               ("NLTK NLTKWordTokenizer (spans)", lambda: nltk), *spacy_rows]
    for _, make in variants:  # an untimed pass each: imports, regex compilation, and the warm spaCy's cache
        for file_texts in texts.values():
            pass_seconds(make(), file_texts)

    seconds: dict[tuple[str, str], list[float]] = {(variant, name): [] for variant, _ in variants for name in FILES}
    for _ in range(args.rounds):
        for name, file_texts in texts.items():
            for variant, make in variants:
                seconds[variant, name].append(pass_seconds(make(), file_texts))

    rows: list[dict[str, str]] = []
    for variant, make in variants:
        row = {"tokenizer": variant}
        for name in FILES:
            ratio = statistics.median(old / new for old, new in zip(seconds[BASELINE, name], seconds[variant, name],
                                                                    strict=True))
            row[f"{name} sentences/s"] = f"{len(texts[name]) / statistics.median(seconds[variant, name]):,.0f}"
            row[f"{name} × old rule"] = f"{ratio:.2f}"
        row |= {f"{name} token F1": percent(f1(make(), gold[name])) for name in FILES}
        rows.append(row)
    columns = list(rows[0])
    if spacy_missing:
        rows.append({column: "n/a" for column in columns} | {"tokenizer": spacy_missing})

    same = [f"{name} {sum(tokenize(t) == tokenize_before.tokenize(t) for t in file_texts)}/{len(file_texts)}"
            for name, file_texts in texts.items()]
    source = f"${DATA_DIR_VARIABLE}" if os.environ.get(DATA_DIR_VARIABLE) else "the bundled data/"
    lines = [*heading(time.perf_counter() - started, load_before, f"; {args.rounds} rounds, one thread"), "",
             "| " + " | ".join(columns) + " |", "|---|" + "---:|" * (len(columns) - 1),
             *("| " + " | ".join(row[column] for column in columns) + " |" for row in rows), "",
             f"Test files from {source}: " + ", ".join(f"{name} {len(texts[name])} sentences" for name in FILES)
             + ". Sentences where the lstmlab rule's tokens equal the pre-issue-19 rule's: " + ", ".join(same) + "."]
    show("tokenizer_speed", lines, rows, args.save)


if __name__ == "__main__":
    main()
