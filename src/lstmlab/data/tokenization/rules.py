"""Which rule splits a model's raw text, chosen by the language its vocabularies were built from
(`TextVocabs.language`): UD English EWT's rule (`tokenize`) for English, whose abbreviations and clitics it knows,
and the language-agnostic Unicode rule (`unicode_rule`) for every other language, where the English rule would split
words the language writes whole. An ONNX export records the rule's name (its manifest's `tokenizer`), so that the
runtime splits text as the model it was exported from does."""

from __future__ import annotations

from collections.abc import Callable

from lstmlab.data.tokenization import tokenize, unicode_rule

Tokenizer = Callable[[str], list[str]]
ENGLISH_RULE = "ud_english_ewt"
UNICODE_RULE = "unicode_punctuation"
RULES: dict[str, Tokenizer] = {ENGLISH_RULE: tokenize.tokenize, UNICODE_RULE: unicode_rule.tokenize}


def is_english(language: str) -> bool:
    """Whether an ISO 639 code (or a tag that starts with one: en-GB) names English."""
    return language.lower().replace("_", "-").split("-")[0] in ("en", "eng")


def rule_name(language: str) -> str:
    """The name of the rule for `language`: ENGLISH_RULE for English, UNICODE_RULE for any other."""
    return ENGLISH_RULE if is_english(language) else UNICODE_RULE


def tokenizer_for(language: str) -> Tokenizer:
    """The function that splits raw text of `language` into tokens."""
    return RULES[rule_name(language)]

