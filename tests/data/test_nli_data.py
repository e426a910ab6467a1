"""NLI data: every reader on small real-format files, dropped pairs counted, bad input named by file and line."""

from __future__ import annotations

import json

import datasets
import pytest
from conftest import BUNDLED_SNLI

from lstmlab.data.errors import DataFormatError
from lstmlab.data.nli.datamodule import NLIDataModule
from lstmlab.data.nli.sources import load_nli_split


def jsonl(rows: list[dict]) -> str:
    return "".join(json.dumps(row) + "\n" for row in rows)


PAIRS = [
    {"gold_label": "neutral", "sentence1": "Two women are embracing.", "sentence2": "The sisters are hugging."},
    {"gold_label": "-", "sentence1": "A man sleeps.", "sentence2": "A man rests."},
    {"gold_label": "entailment", "sentence1": "A dog runs.", "sentence2": "An animal moves."},
    {"gold_label": "contradiction", "sentence1": "A dog runs.", "sentence2": "The dog sleeps."},
]


def load(tmp_path, text: str, name: str = "pairs.jsonl", **options) -> datasets.Dataset:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return load_nli_split(str(path), cache_dir=str(tmp_path / "cache"), **options)


def test_jsonl_reader_tokenizes_raw_text_and_keeps_line_numbers(tmp_path):
    split = load(tmp_path, jsonl(PAIRS))
    assert len(split) == 4
    assert split[0] == {"premise": ["Two", "women", "are", "embracing", "."],
                        "hypothesis": ["The", "sisters", "are", "hugging", "."], "label": "neutral", "line": 1}
    assert split[1]["label"] == ""  # no gold label: kept here, dropped (and counted) by the data module
    assert split["line"] == [1, 2, 3, 4]


def test_tsv_reader_finds_columns_by_header_like_sick(tmp_path):
    text = ("pair_ID\tsentence_A\tsentence_B\trelatedness_score\tentailment_judgment\n"
            "1\tA group of kids is playing\tKids are playing\t4.5\tENTAILMENT\n"
            "2\tA man is cooking\tNobody is cooking\t3.1\tCONTRADICTION\n")
    split = load(tmp_path, text, "SICK_train.txt", file_format="tsv", premise_field="sentence_A",
                 hypothesis_field="sentence_B", label_field="entailment_judgment")
    assert split["label"] == ["entailment", "contradiction"]
    assert split["line"] == [2, 3]
    assert split[1]["hypothesis"] == ["Nobody", "is", "cooking"]
    missing = r"SICK_train.txt:1: the header has no column\(s\) \['sentence1', 'sentence2', 'gold_label'\]"
    with pytest.raises(DataFormatError, match=missing):
        load(tmp_path, text, "SICK_train.txt", file_format="tsv")


def test_infersent_files_read_as_one_split(tmp_path):
    folder = tmp_path / "snli"
    folder.mkdir()
    (folder / "s1.dev").write_text("A dog runs . \nA man sleeps . \n")
    (folder / "s2.dev").write_text("An animal moves . \nA man is awake . \n")
    (folder / "labels.dev").write_text("entailment\ncontradiction\n")
    split = load_nli_split(str(folder / "dev"), file_format="infersent", cache_dir=str(tmp_path / "cache"))
    assert split["premise"] == [["A", "dog", "runs", "."], ["A", "man", "sleeps", "."]]
    assert split["label"] == ["entailment", "contradiction"]
    (folder / "labels.dev").write_text("entailment\n")
    with pytest.raises(DataFormatError, match=r"labels.dev:2: ends early"):
        load_nli_split(str(folder / "dev"), file_format="infersent", cache_dir=str(tmp_path / "cache"))


def test_bundled_infersent_style_files_agree(tmp_path):
    """The bundled tokenized dev file holds the same pairs as the raw dev file, tokenized PTB-style."""
    raw = load_nli_split(str(BUNDLED_SNLI / "snli_1.0_dev.jsonl"), cache_dir=str(tmp_path / "c"))
    tok = load_nli_split(str(BUNDLED_SNLI / "snli_1.0_dev.tok.jsonl"), tokenizer="whitespace",
                         cache_dir=str(tmp_path / "c"))
    assert len(raw) == len(tok) == 9842
    assert raw["label"] == tok["label"]
    same = sum(a == b for a, b in zip(raw["hypothesis"], tok["hypothesis"], strict=True))
    assert same / len(raw) > 0.95  # the rule tokenizer is PTB-like too


@pytest.mark.parametrize(("text", "message"), [
    ('{"gold_label": "neutral", "sentence1": "A b", "sentence2": "c d"}\n{"gold_label": "neutral", "sentence1"\n',
     r"pairs.jsonl:2: is not valid JSON"),
    ('{"gold_label": "neutral", "sentence1": "A b"}\n', r"pairs.jsonl:1: missing field\(s\) \['sentence2'\]"),
    ('{"gold_label": "neutral", "sentence1": "A b", "sentence2": "  "}\n', r"pairs.jsonl:1: empty hypothesis"),
    ('{"gold_label": "neutral", "sentence1": "", "sentence2": "c"}\n', r"pairs.jsonl:1: empty premise"),
    ('[1, 2]\n', r"pairs.jsonl:1: expected a JSON object, found list"),
    ('{"gold_label": "neutral", "sentence1": 3, "sentence2": "c"}\n', r"pairs.jsonl:1: the premise is int"),
])
def test_malformed_jsonl_names_file_and_line(tmp_path, text, message):
    with pytest.raises(DataFormatError, match=message):
        load(tmp_path, text)


def test_non_utf8_bytes_name_the_line(tmp_path):
    text = jsonl(PAIRS[:1]).encode() + b'{"gold_label": "neutral", "sentence1": "caf\xe9", "sentence2": "x"}\n'
    with pytest.raises(DataFormatError, match=r"pairs.jsonl:2: is not valid UTF-8 \(byte 0xe9"):
        load(tmp_path, text)


def module(tmp_path, train: str, **options) -> NLIDataModule:
    (tmp_path / "train.jsonl").write_text(train, encoding="utf-8")
    return NLIDataModule(train_path=str(tmp_path / "train.jsonl"), val_path=str(tmp_path / "train.jsonl"),
                         cache_dir=str(tmp_path / "cache"), **options)


def test_pairs_without_gold_label_are_dropped_and_counted(tmp_path, caplog):
    dm = module(tmp_path, jsonl(PAIRS))
    with caplog.at_level("INFO"):
        dm.setup("fit")
    assert dm.dropped == {"train": 1, "val": 1}
    assert len(dm.splits["train"]) == 3
    assert "dropped 1 of 4 pairs without a gold label" in caplog.text
    assert dm.vocabs.labels.itos == ["contradiction", "entailment", "neutral"]


def test_unknown_label_is_an_error_not_a_new_class(tmp_path):
    rows = [*PAIRS, {"gold_label": "entailmnet", "sentence1": "A b", "sentence2": "c d"}]
    with pytest.raises(DataFormatError, match=r"train.jsonl:5: unknown label 'entailmnet': expected one of "
                                              r"entailment neutral contradiction"):
        module(tmp_path, jsonl(rows)).setup("fit")


def test_batches_pad_premise_and_hypothesis_separately(tmp_path):
    dm = module(tmp_path, jsonl(PAIRS))
    dm.setup("fit")
    batch = dm.splits["train"].__getitems__([0, 2])
    assert batch["premise_words"].shape == (2, 5) and batch["hypothesis_words"].shape == (2, 5)
    assert batch["premise_mask"].sum(1).tolist() == [5, 4]
    assert batch["labels"].tolist() == [dm.vocabs.labels.stoi["neutral"], dm.vocabs.labels.stoi["contradiction"]]
    assert batch["num_tokens"] == 5 + 4 + 5 + 4 and batch["num_positions"] == 20
    words = dm.vocabs.words
    assert [words.itos[i] for i in batch["hypothesis_words"][1].tolist()] == ["the", "dog", "sleeps", ".", "<pad>"]


def test_snli_devtrain_holds_out_the_same_tenth_for_every_seed(tmp_path):
    """9,842 dev pairs -> 8,857 train + 985 validation, the same held-out pairs whatever the run's seed."""
    held_out = []
    for seed in (1, 2):
        dm = NLIDataModule(train_path=str(BUNDLED_SNLI / "snli_1.0_dev.tok.jsonl"), val_split=0.1, val_split_seed=1234,
                           tokenizer="whitespace", seed=seed, cache_dir=str(tmp_path / "cache"))
        dm.setup("fit")
        assert (len(dm.splits["train"]), len(dm.splits["val"])) == (8857, 985)
        held_out.append(dm.splits["val"].labels.tolist())
    assert held_out[0] == held_out[1]


def test_hub_layout_turns_class_ids_into_names_and_minus_one_into_no_label(tmp_path):
    """A local folder in the hub's layout (as `stanfordnlp/snli` is stored): label -1 marks no gold label."""
    names = ["entailment", "neutral", "contradiction"]
    features = datasets.Features({"premise": datasets.Value("string"), "hypothesis": datasets.Value("string"),
                                  "label": datasets.ClassLabel(names=names)})
    folder = tmp_path / "snli_like"
    folder.mkdir()
    rows = {"premise": ["A dog runs.", "A man sleeps.", "A cat eats."],
            "hypothesis": ["An animal moves.", "A man rests.", "Nobody eats."], "label": [0, -1, 2]}
    datasets.Dataset.from_dict(rows, features=features).to_parquet(folder / "train.parquet")
    dm = NLIDataModule(train_path=str(folder), test_path=str(folder), format="hub", premise_field="premise",
                       hypothesis_field="hypothesis", label_field="label", hub_splits={"train": "train",
                                                                                       "test": "train"},
                       cache_dir=str(tmp_path / "cache"))
    dm.setup("fit")
    assert dm.dropped == {"train": 1}
    split = dm.splits["train"]
    assert [dm.vocabs.labels.itos[i] for i in split.labels] == ["entailment", "contradiction"]
    assert split.__getitems__([1])["premise_words"].shape == (1, 4)  # "A cat eats ." tokenized by the rule
