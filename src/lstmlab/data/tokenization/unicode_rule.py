"""The rule `lstmlab-tag` and `Tagger.predict("raw text")` use for a model of any language but English: a split on
whitespace and on Unicode punctuation and symbols, with nothing known about a language's words.

1. Split on whitespace.
2. Every punctuation mark (Unicode categories P*) and symbol (S*: currency, math, emoji) is a token of its own,
   a run of one repeated character being one token (`...`, `!!!`, `--`), as UD treebanks write them.
3. Two exceptions keep a word whole, since nearly every treebank writes it as one word: a hyphen or an apostrophe
   between two characters of a word (Wolof `xam-xam`, Indonesian `orang-orang`, Turkish `Türkiye'nin`, and
   Hebrew's geresh and gershayim: `ג׳ירפה`, `צה״ל`), and a punctuation mark between two digits (`3.000`, `1,5`,
   `17:00`, `2009-2010`).
4. Right-to-left text is read in its logical (typed) order, as Unicode stores it; the invisible direction marks
   that such text often carries (U+200E, U+200F, U+061C and the embedding, override and isolate controls) part
   tokens like a space and are never tokens themselves. Other invisible characters stay inside their word (Persian's
   zero-width non-joiner: `می‌خواهم` is one token).

Letters, digits and combining marks (Devanagari and Tamil vowel signs) are word characters. There is no
abbreviation, clitic or contraction handling: French `l'homme` stays one token where UD has `l'` `homme`, Welsh
`a'r` one where UD has `a` `'r`, a Turkish or French multiword token is not expanded into its words, Vietnamese
syllables are not joined into words, and a script written without spaces is not segmented at all. Each of those
needs knowledge of the language. Token F1 against the gold words of nine UD treebanks is in docs/benchmarks.md
("Raw text in other languages"; `python bench/tokenizer_ud.py`).

A compiled regular expression does the work, no Python loop over characters or words. Its character classes are
read from Python's Unicode database the first time the rule is used (a few milliseconds; about 0.15 s more for the
first text with a character beyond U+FFFF, such as an emoji), so that English models never pay for them.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from functools import cache
from operator import itemgetter

# Joiners that keep a word whole between two word characters: the hyphen-minus, the Unicode hyphens, the apostrophe,
# the right single quotation mark that most text uses as one...
WORD_JOINERS = "-\u2010\u2011'\u2019\u05f3\u05f4"  # ... and Hebrew's geresh and gershayim
# Bidirectional formatting characters: they steer how text is displayed and belong to no word
DIRECTION_MARKS = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")  # a character beyond the Basic Multilingual Plane


def character_classes(*major_categories: str, below: int = sys.maxunicode + 1) -> list[str]:
    """For each string of major Unicode categories ("PS": punctuation and symbols), the inside of a regex character
    class holding every character of those categories below code point `below`, as ranges. One pass over the code
    points gives all of them: their major categories as one string indexed by code point, searched for runs at C
    speed."""
    majors = "".join(map(itemgetter(0), map(unicodedata.category, map(chr, range(below)))))
    return ["".join(f"{re.escape(chr(run.start()))}-{re.escape(chr(run.end() - 1))}"
                    for run in re.finditer(f"[{categories}]+", majors)) for categories in major_categories]


@cache
def _token_pattern(astral: bool) -> re.Pattern[str]:
    """The rule as one regex, for text with characters beyond the Basic Multilingual Plane (emoji, historic
    scripts) or for text without. The second is about 4x as fast (UD Korean, Turkish and Tamil test text): Python's
    regex engine looks a character up in one table for the ranges below U+10000 but tests it against the ranges
    above one by one, and every letter of a word is tested against the marks."""
    marks, punctuation = character_classes("PS", "P", below=sys.maxunicode + 1 if astral else 0x10000)
    piece = rf"[^\s{DIRECTION_MARKS}{marks}]+"
    number_mark = rf"(?<=\d)[{punctuation}](?=\d)"
    word = rf"{piece}(?:(?:[{re.escape(WORD_JOINERS)}]|{number_mark}){piece})*"
    return re.compile(rf"{word}|([{marks}])\1*")


def tokenize(text: str) -> list[str]:
    """Tokens of raw text, each a substring of it, in order (so they can be mapped back to character spans)."""
    pattern = _token_pattern(astral=_ASTRAL.search(text) is not None)
    return [match.group() for match in pattern.finditer(text)]
