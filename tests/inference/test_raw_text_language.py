"""Raw strings are split by the rule of the model's language (`TextVocabs.language`), in `Tagger.predict`,
`SentenceEncoder.encode` and `lstmlab-tag`: UD English EWT's rule for an English model, the language-agnostic
Unicode rule for any other. Token lists, and `--tokenized` lines, are taken as given."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from helpers import saved_with_language

from lstmlab import SentenceEncoder, Tagger
from lstmlab.cli.tag import main as tag
from lstmlab.data.tokenization import tokenize, unicode_rule

# Hangul with a particle after a closing quote, an English contraction and an abbreviation: the rules differ on each
TEXT = 'the state-of-the-art don\'t (U.S.) 그는 "좋다"고 말했다...'
UNICODE_TOKENS = ["the", "state-of-the-art", "don't", "(", "U", ".", "S", ".", ")", "그는", '"', "좋다", '"', "고",
                  "말했다", "..."]
EWT_TOKENS = ["the", "state", "-", "of", "-", "the", "-", "art", "do", "n't", "(", "U.S.", ")", "그는", '"',
              '좋다"고', "말했다", "..."]


def test_the_two_rules_split_the_text_as_written_here():
    assert unicode_rule.tokenize(TEXT) == UNICODE_TOKENS
    assert tokenize.tokenize(TEXT) == EWT_TOKENS


@pytest.fixture(scope="module")
def korean_tagger(trained, tmp_path_factory) -> Path:
    return saved_with_language(trained[0], "ko", tmp_path_factory.mktemp("korean") / "model")


def test_a_tagger_splits_raw_text_by_the_rule_of_its_language(trained, korean_tagger):
    english, korean = Tagger.load(trained[0]), Tagger.load(korean_tagger)
    assert (english.vocabs.language, korean.vocabs.language) == ("en", "ko")
    assert english.predict(TEXT).tokens == EWT_TOKENS
    assert korean.predict(TEXT).tokens == UNICODE_TOKENS
    [from_list, from_string] = korean.predict([TEXT.split(), TEXT])  # a token list is taken as it is
    assert from_list.tokens == TEXT.split() and from_string.tokens == UNICODE_TOKENS


def tagged_tokens(model: Path, raw: Path, output: Path, *options: str) -> list[str]:
    assert tag(["--model", str(model), str(raw), "-o", str(output), "--format", "tsv", *options]) == 0
    return [line.split("\t")[0] for line in output.read_text(encoding="utf-8").splitlines() if line]


def test_lstmlab_tag_splits_raw_lines_by_the_models_language_and_tokenized_lines_on_whitespace(
        trained, korean_tagger, tmp_path):
    raw = tmp_path / "raw.txt"
    raw.write_text(TEXT + "\n", encoding="utf-8")
    assert tagged_tokens(korean_tagger, raw, tmp_path / "ko.tsv") == UNICODE_TOKENS
    assert tagged_tokens(trained[0], raw, tmp_path / "en.tsv") == EWT_TOKENS
    assert tagged_tokens(korean_tagger, raw, tmp_path / "ko_tokenized.tsv", "--tokenized") == TEXT.split()


def test_a_sentence_encoder_splits_raw_text_by_the_rule_of_its_language(tiny_vectors):
    encoder = SentenceEncoder.from_vectors(tiny_vectors)
    english = encoder.encode(TEXT)
    np.testing.assert_array_equal(english, encoder.encode([EWT_TOKENS])[0])
    encoder.vocabs.language = "ko"
    korean = encoder.encode(TEXT)
    np.testing.assert_array_equal(korean, encoder.encode([UNICODE_TOKENS])[0])
    assert not np.allclose(english, korean)  # the rules give other known words: "-", "do", "n't", "u.s."
