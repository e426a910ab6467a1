"""The Arrow cache of parsed data files (`lstmlab.data.batching.arrow_cache`) is keyed by every piece of code the
parse runs: a changed tokenizer or helper is parsed again, unchanged code is served from the cache."""

from __future__ import annotations

import importlib
import sys
import types

import datasets
import pytest
from conftest import BUNDLED_EWT, BUNDLED_SNLI

from lstmlab.data.batching.arrow_cache import cached_parse, code_fingerprint
from lstmlab.data.classification.sources import read_labelled_lines
from lstmlab.data.nli.sources import load_nli_split
from lstmlab.data.readers import nli as nli_readers
from lstmlab.data.readers.columns import read_columns
from lstmlab.data.readers.conllu import read_conllu
from lstmlab.data.readers.text_corpus import read_text_corpus

SNLI_DEV = BUNDLED_SNLI / "snli_1.0_dev.jsonl.gz"
EWT_DEV = BUNDLED_EWT / "en_ewt-ud-dev.conllu.gz"
TAGGED = datasets.Features({"tokens": datasets.Sequence(datasets.Value("string")),
                            "tags": datasets.Sequence(datasets.Value("string")),
                            "lines": datasets.Sequence(datasets.Value("int32"))})


def shouting_tokenize(text: str) -> list[str]:
    """Another tokenizer, to stand where the rule tokenizer was."""
    return text.upper().split()


def test_a_tokenizer_change_gives_every_reader_that_calls_it_a_new_key(monkeypatch):
    tokenizing = [*nli_readers.READERS.values(), read_labelled_lines, read_text_corpus]
    before = [code_fingerprint(reader) for reader in tokenizing]
    untouched = [code_fingerprint(read_conllu), code_fingerprint(read_columns)]
    assert code_fingerprint(nli_readers.read_nli_jsonl) == before[0]  # the same code, the same key

    monkeypatch.setitem(nli_readers.TOKENIZERS, "rule", shouting_tokenize)
    after = [code_fingerprint(reader) for reader in tokenizing]
    assert all(old != new for old, new in zip(before, after, strict=True))
    assert [code_fingerprint(read_conllu), code_fingerprint(read_columns)] == untouched


def test_the_bundled_snli_is_parsed_again_after_a_tokenizer_change_and_served_from_the_cache_before(tmp_path,
                                                                                                     monkeypatch):
    cache = str(tmp_path / "cache")
    first = load_nli_split(str(SNLI_DEV), cache_dir=cache)
    assert first[0]["premise"][-2:] == ["packages", "."]
    assert load_nli_split(str(SNLI_DEV), cache_dir=cache).cache_files == first.cache_files

    monkeypatch.setitem(nli_readers.TOKENIZERS, "rule", shouting_tokenize)
    changed = load_nli_split(str(SNLI_DEV), cache_dir=cache)
    assert changed.cache_files != first.cache_files
    assert changed[0]["premise"][-1] == "PACKAGES."  # what inference with this tokenizer would read, too


@pytest.fixture
def user_module(tmp_path, monkeypatch):
    """`write(name, source)`: the module `name` of a user's code folder, written (or rewritten) and imported."""
    folder = tmp_path / "code"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.setattr(sys, "dont_write_bytecode", True)

    def write(name: str, source: str) -> types.ModuleType:
        (folder / f"{name}.py").write_text(source)
        if name in sys.modules:
            return importlib.reload(sys.modules[name])
        monkeypatch.delitem(sys.modules, name, raising=False)  # removed again after the test
        return importlib.import_module(name)

    return write


def test_an_edited_helper_module_is_parsed_again(tmp_path, user_module):
    """The user's own reader over the bundled EWT dev sample, calling a helper in another module of theirs: editing
    the helper's source (not the reader's) must not leave the old tokens in the cache."""
    user_module("my_forms", "def form(token):\n    return token\n")
    read_forms = user_module("my_reader", (
        "import my_forms\nfrom lstmlab.data.readers.conllu import read_conllu\n\n\n"
        "def read_forms(path):\n"
        "    for sentence in read_conllu(path):\n"
        "        yield {**sentence, 'tokens': [my_forms.form(t) for t in sentence['tokens']]}\n")).read_forms
    cache = str(tmp_path / "cache")

    first = cached_parse(read_forms, EWT_DEV, {}, TAGGED, cache)
    assert first[0]["tokens"][:3] == ["From", "the", "AP"]
    assert cached_parse(read_forms, EWT_DEV, {}, TAGGED, cache).cache_files == first.cache_files

    user_module("my_forms", "def form(token):\n    return token.lower()\n")
    changed = cached_parse(read_forms, EWT_DEV, {}, TAGGED, cache)
    assert changed.cache_files != first.cache_files
    assert changed[0]["tokens"][:3] == ["from", "the", "ap"]


def test_a_hub_style_nli_split_is_converted_again_after_its_tokenizer_is_edited(tmp_path, monkeypatch, user_module):
    """The hub path maps the tokenizer over the rows with `datasets.Dataset.map`, whose cache names the function
    but not its code."""
    folder = tmp_path / "snli_like"
    folder.mkdir()
    labels = datasets.ClassLabel(names=["entailment", "neutral", "contradiction"])
    datasets.Dataset.from_dict(
        {"premise": ["A dog runs."], "hypothesis": ["An animal moves."], "label": [0]},
        features=datasets.Features({"premise": datasets.Value("string"), "hypothesis": datasets.Value("string"),
                                    "label": labels}),
    ).to_parquet(folder / "train.parquet")
    options = {"file_format": "hub", "premise_field": "premise", "hypothesis_field": "hypothesis",
               "label_field": "label", "hub_split": "train", "cache_dir": str(tmp_path / "cache")}
    words = user_module("my_words", "def split_words(text):\n    return text.split()\n")
    monkeypatch.setitem(nli_readers.TOKENIZERS, "mine", words.split_words)
    assert load_nli_split(str(folder), tokenizer="mine", **options)[0]["premise"] == ["A", "dog", "runs."]

    words = user_module("my_words", "def split_words(text):\n    return text.upper().split()\n")
    monkeypatch.setitem(nli_readers.TOKENIZERS, "mine", words.split_words)
    assert load_nli_split(str(folder), tokenizer="mine", **options)[0]["premise"] == ["A", "DOG", "RUNS."]
