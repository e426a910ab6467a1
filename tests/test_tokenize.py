"""The raw-text tokenizer."""

from __future__ import annotations

import pytest

from lstmlab.data.tokenize import tokenize


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("I don't know.", ["I", "do", "n't", "know", "."]),
        ("John's car (the red one) costs $3.50!", ["John", "'s", "car", "(", "the", "red", "one", ")", "costs",
                                                   "$3.50", "!"]),
        ('Mr. Smith lives in the U.S., "really".', ["Mr.", "Smith", "lives", "in", "the", "U.S.", ",", '"',
                                                    "really", '"', "."]),
        ("We'll see...", ["We", "'ll", "see", "..."]),
    ],
)
def test_tokenize(text, tokens):
    assert tokenize(text) == tokens
