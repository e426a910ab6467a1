"""Raw-text tokenizers scored against UD English EWT's gold words, by character span. Prints a Markdown table.

    .venv/bin/python bench/tokenizer_ewt.py                        # token P/R/F1 on EWT test
    .venv/bin/python bench/tokenizer_ewt.py --split dev --model logs/pos_quick/runs/<timestamp>  # + tag P/R/F1

Each sentence's `# text` line is tokenized and every token mapped to its character span; a token is correct when
a gold word has the same span (`lstmlab.data.tokenization.token_alignment`). With --model, each tokenization is
tagged and a word counts as tagged correctly when a token has its span and its UPOS tag, as the CoNLL 2018 UD evaluation
scores tagging from raw text; the "gold words" row is the tagger's accuracy on gold tokenization, for reference.
The numbers depend on the data (and model) only, not on the machine.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from nltk.tokenize import NLTKWordTokenizer, TreebankWordTokenizer

from lstmlab.data.tokenization.token_alignment import GoldSentence, Match, read_gold, score_tags, score_tokens
from lstmlab.data.tokenization.tokenize import tokenize

if TYPE_CHECKING:
    from lstmlab import Tagger

EWT = Path(__file__).resolve().parents[1] / "data" / "ud_english_ewt"
Tokenizer = Callable[[str], list[str]]


def nltk_spans(tokenizer: NLTKWordTokenizer | TreebankWordTokenizer, curly_as_straight: bool) -> Tokenizer:
    """NLTK's tokens as slices of the text (span_tokenize), so its `` and '' do not replace the quotes written.

    NLTK's clitic rules know only the straight apostrophe; reading ’ as ' (same length, so the spans still
    index the original text) is the small fix that lets it split we’ll and don’t.
    """

    def split(text: str) -> list[str]:
        read = text.replace("’", "'") if curly_as_straight else text
        return [text[start:end] for start, end in tokenizer.span_tokenize(read)]

    return split


TOKENIZERS: dict[str, Tokenizer] = {
    "lstmlab rule (`tokenize()`)": tokenize,
    "NLTK NLTKWordTokenizer": nltk_spans(NLTKWordTokenizer(), curly_as_straight=False),
    "NLTK NLTKWordTokenizer, ’ read as '": nltk_spans(NLTKWordTokenizer(), curly_as_straight=True),
    "NLTK TreebankWordTokenizer": nltk_spans(TreebankWordTokenizer(), curly_as_straight=False),
    "NLTK TreebankWordTokenizer, ’ read as '": nltk_spans(TreebankWordTokenizer(), curly_as_straight=True),
}


def percent(value: float) -> str:
    return f"{100 * value:.2f}"


def tag_score(tagger: Tagger, gold: list[GoldSentence], token_lists: list[list[str]]) -> Match:
    """Tag each tokenization as given (lists of tokens, so the tagger does not tokenize again) and score it."""
    tagged = tagger.predict(token_lists)
    return sum((score_tags(g, t.tokens, t.tags) for g, t in zip(gold, tagged, strict=True)), Match())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=("test", "dev"), default="test", help="EWT file to score on")
    parser.add_argument("--model", help="a trained tagger (run directory, export folder or .ckpt): adds tag P/R/F1")
    args = parser.parse_args()

    gold = list(read_gold(EWT / f"en_ewt-ud-{args.split}.conllu.gz"))
    tagger = None
    if args.model:
        from lstmlab import Tagger  # torch is only needed with --model

        tagger = Tagger.load(args.model)
    tokenizations: dict[str, list[list[str]]] = {name: [split(g.text) for g in gold] for name, split in
                                                 TOKENIZERS.items()}
    if tagger:
        tokenizations["gold words (reference)"] = [g.words for g in gold]

    header = "| tokenizer | token P | token R | token F1 |" + (" tag P | tag R | tag F1 |" if tagger else "")
    print(f"EWT {args.split}: {len(gold)} sentences, {sum(len(g.words) for g in gold)} gold words\n")
    print(header)
    print("|" + "---|" * header.count(" |"))
    for name, token_lists in tokenizations.items():
        tokens = sum((score_tokens(g, t) for g, t in zip(gold, token_lists, strict=True)), Match())
        row = f"| {name} | {percent(tokens.precision)} | {percent(tokens.recall)} | {percent(tokens.f1)} |"
        if tagger:
            tags = tag_score(tagger, gold, token_lists)
            row += f" {percent(tags.precision)} | {percent(tags.recall)} | {percent(tags.f1)} |"
        print(row)
    print("\n`lstmlab.data.tokenization.tokenize.tokenize()` (used by `lstmlab-tag` and `Tagger.predict` on raw "
          "strings) is the lstmlab rule.")


if __name__ == "__main__":
    main()
