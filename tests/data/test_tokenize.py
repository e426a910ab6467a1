"""The raw-text tokenizer (UD English EWT's conventions) and the span alignment that scores it."""

from __future__ import annotations

import gzip
import json
import re
from itertools import islice, pairwise
from pathlib import Path

import pytest

from lstmlab.data.errors import DataFormatError
from lstmlab.data.tokenization.token_alignment import (
    GoldSentence,
    Match,
    match,
    read_gold,
    score_tags,
    score_tokens,
    token_spans,
    word_spans,
)
from lstmlab.data.tokenization.tokenize import _APOSTROPHE_LESS, _CONTRACTION, _is_plain, tokenize

DATA = Path(__file__).resolve().parents[2] / "data"
EWT_DEV = DATA / "ud_english_ewt" / "en_ewt-ud-dev.conllu.gz"
FROZEN = Path(__file__).resolve().parent / "tokenize_frozen.jsonl.gz"


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("I don't know.", ["I", "do", "n't", "know", "."]),
        ("John's car (the red one) costs $3.50!", ["John", "'s", "car", "(", "the", "red", "one", ")", "costs",
                                                   "$", "3.50", "!"]),
        ('Mr. Smith lives in the U.S., "really".', ["Mr.", "Smith", "lives", "in", "the", "U.S.", ",", '"',
                                                    "really", '"', "."]),
        ("We'll see...", ["We", "'ll", "see", "..."]),
        # the defects the review found
        ("Wait ...", ["Wait", "..."]),
        ("Wait ... what?", ["Wait", "...", "what", "?"]),
        ("The answer is no.", ["The", "answer", "is", "no", "."]),
        ("'s", ["'s"]),
        ("Music of the '90s rocks.", ["Music", "of", "the", "'90s", "rocks", "."]),
        ("we’ll", ["we", "’ll"]),
        ("I’m here", ["I", "’m", "here"]),
        ("they’re", ["they", "’re"]),
        ("don’t", ["do", "n’t"]),
        ("it’s", ["it", "’s"]),
        # EWT conventions the rule follows
        ("No. 5 is here.", ["No.", "5", "is", "here", "."]),
        ("I like apples, pears etc.", ["I", "like", "apples", ",", "pears", "etc", "."]),
        ("in the U.S..", ["in", "the", "U.S.", "."]),
        ("Wow!!! Really?!", ["Wow", "!!!", "Really", "?!"]),
        ("a search-engine e-mail and/or AK-47", ["a", "search", "-", "engine", "e-mail", "and", "/", "or", "AK",
                                                 "-", "47"]),
        ("I cannot, gonna see at 5pm :)", ["I", "can", "not", ",", "gon", "na", "see", "at", "5", "pm", ":)"]),
        ("dont go to http://x.com/a-b.html.", ["do", "nt", "go", "to", "http://x.com/a-b.html", "."]),
        ("in the 80's 50% of account(s)", ["in", "the", "80's", "50", "%", "of", "account", "(", "s", ")"]),
        ("''Hi'' she said", ["''", "Hi", "''", "she", "said"]),
        ("", []),
    ],
)
def test_tokenize(text, tokens):
    assert tokenize(text) == tokens


def test_token_spans_are_offsets_in_the_text():
    assert token_spans(" a  bc.", ["a", "bc", "."]) == [(1, 2), (4, 6), (6, 7)]


def test_token_spans_refuse_tokens_that_rewrite_the_text():
    with pytest.raises(ValueError, match="not the next text"):
        token_spans('say "hi"', ["say", "``", "hi", "''"])


def test_word_spans_split_a_multiword_token_into_its_words():
    assert word_spans("I don't", [("I", ["I"]), ("don't", ["do", "n't"])]) == [(0, 1), (2, 4), (4, 7)]


def test_words_that_do_not_spell_their_multiword_token_share_its_span():
    assert word_spans("del mar", [("del", ["de", "el"]), ("mar", ["mar"])]) == [(0, 3), (0, 3), (4, 7)]
    # a token covering the multiword token matches one of its two words
    assert match([(0, 3), (0, 3), (4, 7)], [(0, 3), (4, 7)]) == Match(matched=2, gold=3, predicted=2)


def test_a_token_that_merges_two_gold_words_matches_neither():
    gold = GoldSentence("I don't", ["I", "do", "n't"], ["PRON", "AUX", "PART"], [(0, 1), (2, 4), (4, 7)])
    score = score_tokens(gold, ["I", "don't"])
    assert score == Match(matched=1, gold=3, predicted=2)
    assert (score.precision, score.recall, score.f1) == (0.5, pytest.approx(1 / 3), 0.4)


def test_tag_score_needs_the_span_and_the_tag():
    gold = GoldSentence("I don't", ["I", "do", "n't"], ["PRON", "AUX", "PART"], [(0, 1), (2, 4), (4, 7)])
    assert score_tags(gold, ["I", "do", "n't"], ["PRON", "VERB", "PART"]) == Match(2, 3, 3)
    assert score_tags(gold, ["I", "don't"], ["PRON", "AUX"]) == Match(1, 3, 2)  # right tag, wrong span
    assert Match(2, 3, 3) + Match(1, 3, 2) == Match(3, 6, 5)
    assert Match().f1 == 0.0


def test_read_gold_takes_the_text_and_the_syntactic_words(tmp_path):
    conllu = tmp_path / "tiny.conllu"
    conllu.write_text(
        "# text = I don't.\n"
        "1\tI\tI\tPRON\t_\t_\t3\tnsubj\t_\t_\n"
        "2-3\tdon't\t_\t_\t_\t_\t_\t_\t_\t_\n"
        "2\tdo\tdo\tAUX\t_\t_\t0\troot\t_\t_\n"
        "3\tn't\tnot\tPART\t_\t_\t2\tadvmod\t_\tSpaceAfter=No\n"
        "3.1\tgo\tgo\tVERB\t_\t_\t_\t_\t2:conj\t_\n"
        "4\t.\t.\tPUNCT\t_\t_\t2\tpunct\t_\t_\n\n",
        encoding="utf-8",
    )
    [sentence] = read_gold(conllu)
    assert sentence == GoldSentence("I don't.", ["I", "do", "n't", "."], ["PRON", "AUX", "PART", "PUNCT"],
                                    [(0, 1), (2, 4), (4, 7), (7, 8)], multiword=(range(1, 3),))


def test_read_gold_needs_the_text(tmp_path):
    conllu = tmp_path / "no_text.conllu"
    conllu.write_text("# sent_id = 1\n1\tHi\thi\tINTJ\t_\t_\t0\troot\t_\t_\n\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match="no '# text = ' line"):
        list(read_gold(conllu))


def test_tokens_always_spell_the_text():
    """Whatever the input, the tokens are its non-space characters in order, so they always map to spans."""
    text = "«Hi»… 'tis e-mail--(x)/y, AK-47's ''ok'' ;-) U.S.. 5kg #1 $5 don’t"
    tokens = tokenize(text)
    assert "".join(tokens) == "".join(text.split())
    assert len(token_spans(text, tokens)) == len(tokens)


def test_token_f1_on_ewt_dev_does_not_regress():
    """Measured 99.68 on these 300 sentences (99.00 on all of dev); a regression in any rule shows here."""
    sentences = list(islice(read_gold(EWT_DEV), 300))
    score = sum((score_tokens(s, tokenize(s.text)) for s in sentences), Match())
    assert score.f1 > 0.993


def frozen_tokens(text: str, cuts: list[int]) -> list[str]:
    """The tokens that `cuts` describes: the text's whitespace-separated pieces, each cut at the offsets inside it."""
    tokens: list[str] = []
    for piece in re.finditer(r"\S+", text):
        bounds = [piece.start(), *(cut for cut in cuts if piece.start() < cut < piece.end()), piece.end()]
        tokens += [text[start:end] for start, end in pairwise(bounds)]
    return tokens


def test_tokens_equal_the_frozen_output_of_the_rule_before_issue_19():
    """Issue 19 made the rule 8-10x faster; its tokens must stay those of the rule before, on every sentence of the
    bundled EWT (train, dev, test), GUM test and LinES test files: 19,207 sentences, no intended difference.

    tests/data/tokenize_frozen.jsonl.gz holds, per file ({"file": path under data/, "cuts": [...]}), each
    sentence's character offsets where a token starts right where the previous one ends; whitespace gives the other
    boundaries, since tokens are the text's non-space characters in order. It was generated once, before the
    change, with the rule kept as bench/tokenize_before.py: for each sentence, `spans = token_spans(text,
    tokenize(text))` and the cuts `[start for (start, _), (_, end) in zip(spans[1:], spans) if start == end]`.
    """
    assert FROZEN.stat().st_size < 80_000  # a small file: the cuts only, not the tokens
    with gzip.open(FROZEN, "rt", encoding="utf-8") as lines:
        frozen = [json.loads(line) for line in lines]
    differences, sentences = [], 0
    for entry in frozen:
        gold = list(read_gold(DATA / entry["file"]))
        assert len(gold) == len(entry["cuts"]), entry["file"]
        for sentence, cuts in zip(gold, entry["cuts"], strict=True):
            expected = frozen_tokens(sentence.text, cuts)
            if tokenize(sentence.text) != expected:
                differences.append((entry["file"], sentence.text, expected, tokenize(sentence.text)))
        sentences += len(gold)
    assert sentences == 19_207
    assert not differences, differences[:5]


def test_apostrophe_less_contractions_are_never_plain():
    """The str-check fast path skips every regex for a plain word, so a word of letters that _CONTRACTION would
    split must not be plain, in any case (it is then split by the full rule, which is case-sensitive for I'm)."""
    for word in _APOSTROPHE_LESS:
        assert _CONTRACTION.fullmatch(word), word
        for variant in (word, word.upper(), word.title()):
            assert not _is_plain(variant), variant
    assert tokenize("Dont IM Im cannot") == ["Do", "nt", "IM", "I", "m", "can", "not"]
    words = {word for sentence in read_gold(EWT_DEV) for word in sentence.text.split()}
    for word in words | {word.upper() for word in words} | {word.title() for word in words}:
        if _is_plain(word):
            assert _CONTRACTION.fullmatch(word) is None and tokenize(word) == [word], word


def test_read_gold_takes_a_text_comment_without_the_space_after_the_equals_sign(tmp_path):
    """UD Vietnamese VTB writes `# text =Thanh ...`; its sentences are scored like any other."""
    conllu = tmp_path / "vtb.conllu"
    conllu.write_text("# text =Thanh bắt chuyện .\n1\tThanh\t_\tPROPN\t_\t_\t2\tnsubj\t_\t_\n"
                      "2\tbắt chuyện\t_\tVERB\t_\t_\t0\troot\t_\t_\n3\t.\t_\tPUNCT\t_\t_\t2\tpunct\t_\t_\n\n",
                      encoding="utf-8")
    [sentence] = read_gold(conllu)
    assert sentence.text == "Thanh bắt chuyện ."
    assert sentence.spans == [(0, 5), (6, 16), (17, 18)]
