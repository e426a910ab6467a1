"""Scoring a tokenizer (and a tagger fed by it) against gold UD words by character spans.

Tokens of two tokenizations cannot be compared by position once one of them splits or merges differently, so
both are mapped to character spans of the raw sentence text and compared span by span, as the CoNLL 2018 UD
shared-task evaluation does: a predicted token is correct when its span equals a gold word's span, and it is
tagged correctly when, in addition, its tag equals that word's tag. Pure Python, no tokenizer or model here.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from lstmlab.data.errors import DataFormatError
from lstmlab.data.text_files import read_blocks
from lstmlab.data.tokenization.unicode_rule import DIRECTION_MARKS

Span = tuple[int, int]
_TEXT_COMMENT = re.compile(r"# text ?= ?(.*)")
_SEPARATORS = re.compile(rf"[\s{DIRECTION_MARKS}]+")


def token_spans(text: str, tokens: Sequence[str]) -> list[Span]:
    """Character spans (start, end) of `tokens` in `text`, read left to right.

    Only whitespace (and the invisible direction marks of right-to-left text) may lie between consecutive tokens, so
    a tokenizer that rewrites or drops characters (NLTK's `` and '' for a double quote) is an error here instead of
    silently scoring as a miss.
    """
    spans: list[Span] = []
    position = 0
    for token in tokens:
        start = text.find(token, position) if token else -1
        if start < 0 or _SEPARATORS.sub("", text[position:start]):
            raise ValueError(f"token {token!r} is not the next text after offset {position} in {text!r}")
        position = start + len(token)
        spans.append((start, position))
    return spans


@dataclass(frozen=True)
class GoldSentence:
    """One UD sentence: its raw text, its syntactic words with their tags, each word's span in the text, and the
    words of each multiword token (ranges of word indices), which a tokenizer must expand to match them."""

    text: str
    words: list[str]
    tags: list[str]
    spans: list[Span]
    multiword: tuple[range, ...] = ()


def word_spans(text: str, surface_tokens: Sequence[tuple[str, Sequence[str]]]) -> list[Span]:
    """Spans of the syntactic words of (surface form, its words) pairs, e.g. ("don't", ["do", "n't"]).

    A multiword token whose words concatenate to its surface form gives each word its own part of the span;
    one whose words do not (English EWT has none in v2.x, other treebanks do: Spanish "del" = "de" "el") gives
    every word the whole span, so a predicted token covering the surface form matches one of those words.
    """
    spans: list[Span] = []
    for (surface, words), (start, end) in zip(surface_tokens, token_spans(text, [s for s, _ in surface_tokens]),
                                              strict=True):
        if "".join(words) == surface:
            for word in words:
                spans.append((start, start + len(word)))
                start += len(word)
        else:
            spans.extend((start, end) for _ in words)
    return spans


def read_gold(path: str | Path) -> Iterator[GoldSentence]:
    """Gold sentences of a CoNLL-U file: the `# text = ` comment and the syntactic words (UPOS tags).

    Multiword-token lines (`1-2`) give the surface form that is in the text; empty nodes (`8.1`) have no
    surface form and are skipped. The text comment is read with or without the space after `=` (Vietnamese VTB
    writes `# text =Thanh ...`). Otherwise files are trusted to be valid CoNLL-U (the training reader checks
    them); a sentence without its text cannot be scored, so that is an error.
    """
    for block in read_blocks(path):
        texts = [text.group(1) for _, line in block if (text := _TEXT_COMMENT.match(line))]
        if not texts:
            raise DataFormatError(path, block[0][0], "sentence has no '# text = ' line: its raw text is unknown")
        text = texts[0]
        surface_tokens: list[tuple[str, list[str]]] = []
        words: list[str] = []
        tags: list[str] = []
        last_in_range = 0
        for _, line in block:
            if line.startswith("#"):
                continue
            word_id, form, _, upos = line.split("\t")[:4]
            if "-" in word_id:
                surface_tokens.append((form, []))
                last_in_range = int(word_id.split("-")[1])
            elif "." not in word_id:
                if int(word_id) > last_in_range:
                    surface_tokens.append((form, []))
                surface_tokens[-1][1].append(form)
                words.append(form)
                tags.append(upos)
        multiword: list[range] = []
        start = 0
        for _, token_words in surface_tokens:
            if len(token_words) > 1:
                multiword.append(range(start, start + len(token_words)))
            start += len(token_words)
        yield GoldSentence(text, words, tags, word_spans(text, surface_tokens), tuple(multiword))


@dataclass(frozen=True)
class Match:
    """Counts of matched, gold and predicted items; add them up over sentences before taking ratios."""

    matched: int = 0
    gold: int = 0
    predicted: int = 0

    def __add__(self, other: Match) -> Match:
        return Match(self.matched + other.matched, self.gold + other.gold, self.predicted + other.predicted)

    @property
    def precision(self) -> float:
        return self.matched / self.predicted if self.predicted else 0.0

    @property
    def recall(self) -> float:
        return self.matched / self.gold if self.gold else 0.0

    @property
    def f1(self) -> float:
        """2 matched / (gold + predicted): the harmonic mean of precision and recall."""
        total = self.gold + self.predicted
        return 2 * self.matched / total if total else 0.0


def match(gold: Iterable[Hashable], predicted: Iterable[Hashable]) -> Match:
    """Matches between two multisets of items: spans for tokenization, (span, tag) pairs for tagging.

    A multiset, not a set, because words of a non-concatenating multiword token share one span and a
    predicted token may match only one of them.
    """
    gold_counts, predicted_counts = Counter(gold), Counter(predicted)
    return Match(sum((gold_counts & predicted_counts).values()), gold_counts.total(), predicted_counts.total())


def score_tokens(gold: GoldSentence, tokens: Sequence[str]) -> Match:
    """Tokenization score of one sentence: predicted token spans against gold word spans."""
    return match(gold.spans, token_spans(gold.text, tokens))


def expanded_multiword(gold: GoldSentence, tokens: Sequence[str]) -> int:
    """How many of the sentence's multiword tokens the tokens expand: every word of it has a token of its span."""
    predicted = Counter(token_spans(gold.text, tokens))
    return sum(Counter(gold.spans[i] for i in words) <= predicted for words in gold.multiword)


def score_tags(gold: GoldSentence, tokens: Sequence[str], tags: Sequence[str]) -> Match:
    """Tagging score from raw text: a word counts when a predicted token has its span and its tag."""
    return match(zip(gold.spans, gold.tags, strict=True), zip(token_spans(gold.text, tokens), tags, strict=True))
