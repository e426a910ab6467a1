"""The held-out sentences an export is checked on: a file the user names (`--check-data`), read as the model's
training run read its validation split (the data config its model card keeps), or else sentences made of the
model's own vocabulary, enough to compare the graph with the network (parity) but not to measure accuracy."""

from __future__ import annotations

import gzip
import random
from dataclasses import dataclass
from pathlib import Path

from lstmlab.data.readers.senteval import SentencePairs
from lstmlab.data.tokenization.tokenize import tokenize
from lstmlab.data.vocab.text_vocabs import TextVocabs
from lstmlab.io.hub import resolve_model_path
from lstmlab.io.model_card import read_card
from lstmlab.models.bilstm_tagger import BiLSTMTagger
from lstmlab.models.nli_classifier import NLIClassifier
from lstmlab.models.sequence_classifier import SequenceClassifier

MAX_SENTENCES = 2000  # enough for accuracy to 0.1 points on a tagger's tokens, a few seconds of checking


@dataclass
class CheckData:
    sentences: list[list[str]]  # tokens; for NLI, premise then hypothesis of each pair
    labels: list[str] | list[list[str]] | None  # gold tags per sentence, or a class per sentence/pair; None: unknown
    source: str  # where it came from, for the report
    similarity: SentencePairs | None = None  # STS pairs with gold scores, for a sentence encoder (--check-similarity)


def model_card_data(model: str) -> dict:
    """The data config (`data:`) that the model's training run recorded in its card; {} where there is none."""
    path = resolve_model_path(model, None)
    folders = [path / "model", path] if path.is_dir() else [path.parent.parent / "model"]
    for folder in folders:
        config = ((read_card(folder) or {}).get("lstmlab") or {}).get("config") or {}
        if config.get("data"):
            return config["data"]
    return {}


def hub_split(data: dict) -> str:
    """The validation split's name in a hub-layout dataset (`data.hub_splits`, as the data modules read it)."""
    return (data.get("hub_splits") or {}).get("val", "validation")


def read_check_data(kind: str, path: str, data: dict, limit: int = MAX_SENTENCES) -> CheckData:
    """The first `limit` examples of `path`, read with the options of the data config `data`."""
    if kind == BiLSTMTagger.kind:
        from lstmlab.data.tagging.sources import load_tagged_split

        file_format = data.get("format", "conllu")
        split = load_tagged_split(path, file_format, data.get("tag_column", "upos"), data.get("token_column", 0),
                                  data.get("tokens_field", "tokens"), data.get("tags_field", "tags"),
                                  data.get("hub_config"), hub_split(data) if file_format == "hub" else None)
        split = split.select_columns(["tokens", "tags"])
        split = split.select(range(min(limit, len(split))))
        return CheckData(split["tokens"], split["tags"], path)
    if kind == NLIClassifier.kind:
        from lstmlab.data.nli.sources import load_nli_split

        pairs = load_nli_split(path, data.get("format", "jsonl"), data.get("premise_field", "sentence1"),
                               data.get("hypothesis_field", "sentence2"), data.get("label_field", "gold_label"),
                               data.get("tokenizer", "rule"), data.get("hub_config"), hub_split(data))
        pairs = pairs.select(range(min(limit, len(pairs))))
        sentences = [tokens for pair in zip(pairs["premise"], pairs["hypothesis"], strict=True) for tokens in pair]
        return CheckData(sentences, pairs["label"], path)
    if kind == SequenceClassifier.kind:
        from lstmlab.data.classification.sources import load_classification_split

        split = load_classification_split(path, "val", data.get("format", "tsv"), data.get("task"),
                                          data.get("tokenizer", "whitespace"))
        split = split.select(range(min(limit, len(split))))
        return CheckData(split["tokens"], split["label"], path)
    opener = gzip.open if path.endswith(".gz") else open
    with opener(Path(path), "rt", encoding="utf-8") as lines:
        sentences = [tokens for line in lines if (tokens := tokenize(line))][:limit]
    return CheckData(sentences, None, path)


def vocabulary_sentences(vocabs: TextVocabs, count: int = 200) -> CheckData:
    """Sentences of 1 to 40 words drawn from the vocabulary (a fixed seed), unknown words among them."""
    generator = random.Random(0)
    words = vocabs.words.itos[2:] or ["word"]
    sentences = [[generator.choice(words) if generator.random() > 0.05 else "qzxv" for _ in range(length)]
                 for length in (generator.randint(1, 40) for _ in range(count))]
    return CheckData(sentences, None, "sentences drawn from the model's vocabulary")
