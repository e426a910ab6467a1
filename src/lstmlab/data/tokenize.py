"""The rule `lstmlab-tag` uses to split raw text into tokens, close to UD English / Penn Treebank tokenization.

1. split on whitespace;
2. split off leading punctuation ( " ' ( [ { ` and trailing punctuation . , ; : ! ? " ' ) ] } ,
   keeping a final period on abbreviations (U.S., e.g., Mr.) and dots inside numbers (3.5) and URLs;
   a trailing ellipsis (...) is one token;
3. split off the clitics n't 's 're 've 'll 'd 'm (don't -> do n't, John's -> John 's).
"""

from __future__ import annotations

import re

_LEADING = "\"'([{`“‘«"
_TRAILING = ".,;:!?\"')]}”’»…"
_ABBREVIATION = re.compile(r"(?:[A-Za-z]\.){2,}|(?:Mr|Mrs|Ms|Dr|Prof|Jr|Sr|St|vs|etc|Inc|Ltd|Co|Corp|No)\.", re.I)
_CLITIC = re.compile(r"^(.+?)(n't|'s|'re|'ve|'ll|'d|'m|’s|n’t)$", re.I)


def _split_word(word: str) -> list[str]:
    leading: list[str] = []
    trailing: list[str] = []
    while len(word) > 1 and word[0] in _LEADING:
        leading.append(word[0])
        word = word[1:]
    while len(word) > 1 and word[-1] in _TRAILING and not _ABBREVIATION.fullmatch(word):
        cut = 3 if word.endswith("...") and len(word) > 3 else 1  # an ellipsis is one token
        trailing.insert(0, word[-cut:])
        word = word[:-cut]
    clitic = _CLITIC.match(word)
    core = [clitic.group(1), clitic.group(2)] if clitic else [word]
    return leading + core + trailing


def tokenize(text: str) -> list[str]:
    """Tokens of one sentence of raw text."""
    return [token for word in text.split() for token in _split_word(word)]
