"""The rule `lstmlab-tag` and `Tagger.predict("raw text")` use to split raw text into tokens: UD English EWT's.

Taggers here are trained on EWT's words, so raw text is split the way EWT splits it; where EWT and the Penn
Treebank differ, EWT wins (search-engine -> search - engine, $3.50 -> $ 3.50, !!! stays one token).

1. Split on whitespace. A piece is kept whole if it is an emoticon (:) ;-) :-( ...) or a lone clitic ('s).
2. Off the front come " ' ( [ { ` “ ‘ « < * # $ £ €, a run of one repeated character being one token (``),
   except the apostrophe of a year ('90s, '67). Off the end come a run of . ! ? … as one token (... !!! ?!)
   and , ; : " ' ) ] } ” ’ » > * %, a run of one repeated character being one token ('' >>). A final period
   stays on an abbreviation (U.S., J., and case-sensitive Mr. Dr. St. vs. etc. Inc. No. Sept. ...), except
   at the very end of the text, where it is split off (etc. -> etc .).
3. What is left, unless it is a URL or an e-mail address, is split at .. … -- ( ) anywhere, at / and ,
   between letters, at a hyphen between a letter and a letter or digit (AK-47 -> AK - 47) unless it follows
   the prefix e non anti pre re mid post co multi pro ex semi sub counter over cross neo (e-mail), and
   before a unit am pm k m b bn mm cm km kg ft that ends a number (5pm -> 5 pm, 10k -> 10 k).
4. Clitics n't 's 're 've 'll 'd 'm, with ' or ’, are split off (don't -> do n't, it’s -> it ’s) unless
   they follow a digit (80's); so are the apostrophe-less cannot gonna wanna gotta kinda, im ive (i m, i ve)
   and do does did is are was were have has had could would should ca wo ai + nt (dont -> do nt).

Most pieces need none of this: a word of ASCII letters that is not an apostrophe-less contraction is one token,
and such a word with one closing or final mark (way, system? post.) is two unless the mark is an abbreviation's
period; these are decided by str checks before any regex, which keeps the rule fast with the same tokens
(docs/benchmarks.md, "Raw text").

Token F1 against EWT's gold words, scored by character span (`.venv/bin/python bench/tokenizer_ewt.py --split
test`, and `--split dev`): this rule 98.87 (test) / 99.00 (dev); NLTK's NLTKWordTokenizer 96.45 / 96.47 and
TreebankWordTokenizer 96.41 / 96.52, as spans of the text so quotes stay as written (96.45 / 96.50 and
96.41 / 96.54 with ’ read as ', so that their clitic rules see it).
"""

from __future__ import annotations

import re

_OPENING = "\"'([{`“‘«<*#$£€"
_CLOSING = ",;:\"')]}”’»>*%"
_FINAL_PUNCTUATION = ".!?…"
_EMOTICON = re.compile(r"[:;=]-?[()DPpO/|\\]")
_URL_OR_EMAIL = re.compile(r"(?:https?://|www\.)\S+|[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_ABBREVIATION = re.compile(
    r"(?:[A-Za-z]\.){2,}|[A-Z]\.|(?:Mr|Mrs|Ms|Dr|Prof|Jr|Sr|St|Ft|Mt|Gen|Gov|Sen|Rep|Lt|Col|Capt|Rev|vs|etc|Inc|Ltd|Co"
    r"|Corp|No|Jan|Feb|Mar|Apr|Aug|Sep|Sept|Oct|Nov|Dec|Mon|Tue|Tues|Wed|Thu|Thur|Fri|Sat|Sun|ext|approx|dept)\."
)
_YEAR = re.compile(r"['’]\d\ds?\b")
_CLITIC = re.compile(r"n['’]t|['’](?:s|re|ve|ll|d|m)", re.I)
_NT_STEMS = ("do", "does", "did", "is", "are", "was", "were", "have", "has", "had", "could", "would", "should", "ca",
             "wo", "ai")
_CONTRACTION = re.compile(
    r"(.+?)(?<![0-9])(n['’]t|['’](?:s|re|ve|ll|d|m))"
    rf"|({'|'.join(_NT_STEMS)})(nt)"
    r"|(can)(not)|(gon|wan)(na)|(got)(ta)|(?-i:([iI])(m|ve))|(kind)(a)",
    re.I,
)
# Lower-cased, every word of letters only that _CONTRACTION splits (the alternatives after the first).
_APOSTROPHE_LESS = frozenset([stem + "nt" for stem in _NT_STEMS] + ["cannot", "gonna", "wanna", "gotta", "im", "ive",
                                                                     "kinda"])
_PREFIXES = ("e", "non", "anti", "pre", "re", "mid", "post", "co", "multi", "pro", "ex", "semi", "sub", "counter",
             "over", "cross", "neo")
# One capturing group, so re.split keeps the separators as tokens; the number-unit split is zero-width. The prefix
# look-behinds come after (?=-), so that they are tried before a hyphen only, not at every character.
_INNER = re.compile(
    r"(\.{2,}|…|-{2,}|[()]|(?<=[A-Za-z])[/,](?=[A-Za-z])|(?=-)"
    + "".join(rf"(?<!\b{prefix})" for prefix in _PREFIXES)
    + r"(?:(?<=[A-Za-z0-9])-(?=[A-Za-z])|(?<=[A-Za-z])-(?=[0-9]))"
    r"|(?<=[0-9])(?=(?:am|pm|k|m|b|bn|mm|cm|km|kg|ft)$))",
    re.I,
)


def _is_plain(word: str) -> bool:
    """Whether no rule splits `word` at all: ASCII letters only (no mark, no digit) and no apostrophe-less
    contraction. False for the empty word."""
    return word.isascii() and word.isalpha() and word.lower() not in _APOSTROPHE_LESS


def _run_length(word: str, from_end: bool) -> int:
    """How many times the first (or last) character repeats there: `''` and `!!!` are single tokens in EWT."""
    text = word[::-1] if from_end else word
    return len(text) - len(text.lstrip(text[0]))


def _split_inside(word: str) -> list[str]:
    """Steps 3 and 4 of the rule, on a word whose outer punctuation is already split off."""
    if _is_plain(word) or _URL_OR_EMAIL.fullmatch(word):
        return [word]
    tokens: list[str | None] = []
    for part in _INNER.split(word):
        contraction = _CONTRACTION.fullmatch(part)
        tokens.extend(contraction.groups() if contraction else [part])
    return [token for token in tokens if token]  # drops unmatched groups and the empty ends re.split leaves


def _split_word(word: str, ends_text: bool) -> list[str]:
    """Steps 1 and 2 of the rule on one whitespace-separated piece; `ends_text` for the last piece of the text."""
    head, mark = word[:-1], word[-1]
    if (mark in _CLOSING or mark in _FINAL_PUNCTUATION) and _is_plain(head):
        # the common shape, a plain word and one mark: only an abbreviation's period may stay on it
        return [word] if mark == "." and not ends_text and _ABBREVIATION.fullmatch(word) else [head, mark]
    if _EMOTICON.fullmatch(word) or _CLITIC.fullmatch(word):
        return [word]
    leading: list[str] = []
    while word[0] in _OPENING and not _YEAR.match(word) and not _CLITIC.fullmatch(word):
        cut = _run_length(word, from_end=False)
        if cut == len(word):
            break
        leading.append(word[:cut])
        word = word[cut:]
    trailing: list[str] = []
    while ends_text or not (word[-1] == "." and _ABBREVIATION.fullmatch(word)):
        final = len(word) - len(word.rstrip(_FINAL_PUNCTUATION))  # the run of . ! ? … at the end
        if word.endswith("..") and _ABBREVIATION.fullmatch(word[:-1]):
            cut = 1  # "U.S.." is the abbreviation and a full stop
        elif final:
            cut = final
        elif word[-1] in _CLOSING:
            cut = _run_length(word, from_end=True)
        else:
            break
        if cut == len(word):
            break
        trailing.insert(0, word[-cut:])
        word = word[:-cut]
        ends_text = False  # only the text's last character is a full stop that ends an abbreviation too
    return leading + _split_inside(word) + trailing


def tokenize(text: str) -> list[str]:
    """Tokens of raw text, each a substring of it, in order (so they can be mapped back to character spans)."""
    words = text.split()
    if not words:
        return []
    last = words.pop()
    tokens: list[str] = []
    for word in words:
        if _is_plain(word):
            tokens.append(word)
        else:
            tokens.extend(_split_word(word, ends_text=False))
    tokens.extend(_split_word(last, ends_text=True))
    return tokens
