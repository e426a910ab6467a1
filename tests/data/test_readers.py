"""Readers on real snippets and on the bad inputs a user will feed them."""

from __future__ import annotations

import gzip
import json

import pytest
from conftest import BUNDLED_EWT

from lstmlab.data.errors import DataFormatError
from lstmlab.data.readers.columns import read_columns
from lstmlab.data.readers.conllu import read_conllu
from lstmlab.data.readers.text_corpus import read_text_corpus
from lstmlab.data.tagging.sources import load_tagged_split
from lstmlab.data.text_files import resolve_data_file

# EWT train, sentence weblog-juancole.com_juancole_20051126063000_ENG_20051126_063000-0004, plus an empty node
SNIPPET = """# sent_id = snippet-1
# text = I don't know.
1\tI\tI\tPRON\tPRP\tCase=Nom\t3\tnsubj\t3:nsubj\t_
2-3\tdon't\t_\t_\t_\t_\t_\t_\t_\t_
2\tdo\tdo\tAUX\tVBP\tMood=Ind\t4\taux\t4:aux\t_
3\tn't\tnot\tPART\tRB\t_\t4\tadvmod\t4:advmod\t_
3.1\tknow\tknow\tVERB\tVB\t_\t_\t_\t0:root\tCopyOf=4
4\tknow\tknow\tVERB\tVB\tVerbForm=Inf\t0\troot\t0:root\tSpaceAfter=No
5\t.\t.\tPUNCT\t.\t_\t4\tpunct\t4:punct\t_

# sent_id = snippet-2
1\tThanks\tthanks\tNOUN\tNNS\t_\t0\troot\t0:root\t_
"""


def write(tmp_path, text: str | bytes, name: str = "x.conllu"):
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return path


def test_conllu_skips_multiword_ranges_and_empty_nodes(tmp_path):
    sentences = list(read_conllu(write(tmp_path, SNIPPET)))
    assert sentences[0]["tokens"] == ["I", "do", "n't", "know", "."]
    assert sentences[0]["tags"] == ["PRON", "AUX", "PART", "VERB", "PUNCT"]
    assert sentences[0]["lines"] == [3, 5, 6, 8, 9]
    assert sentences[1] == {"tokens": ["Thanks"], "tags": ["NOUN"], "lines": [12]}


def test_conllu_xpos_column(tmp_path):
    sentence = next(read_conllu(write(tmp_path, SNIPPET), tag_column="xpos"))
    assert sentence["tags"] == ["PRP", "VBP", "RB", "VB", "."]


def test_conllu_extra_columns_come_as_written_beside_the_tags(tmp_path):
    sentence = next(read_conllu(write(tmp_path, SNIPPET), extra_columns=["feats", "xpos"]))
    assert sentence["feats"] == ["Case=Nom", "Mood=Ind", "_", "VerbForm=Inf", "_"]  # `_`: a word with no features
    assert sentence["xpos"] == ["PRP", "VBP", "RB", "VB", "."] and sentence["tags"][0] == "PRON"
    with pytest.raises(ValueError, match="extra_columns must be among lemma, upos, xpos, feats"):
        next(read_conllu(write(tmp_path, SNIPPET), extra_columns=["form"]))
    with pytest.raises(ValueError, match="auxiliary tags \\(feats\\) are CoNLL-U columns, but data.format is jsonl"):
        load_tagged_split(str(write(tmp_path, "{}", "x.jsonl")), "jsonl", aux_columns=["feats"])


def test_a_language_model_reads_a_conllu_files_syntactic_words_tags_or_none(tmp_path):
    untagged = SNIPPET.replace("\tPRON\t", "\t_\t")  # a file without UPOS is text all the same
    with pytest.raises(DataFormatError, match="word 'I' has no UPOS tag"):
        list(read_conllu(write(tmp_path, untagged)))
    corpus = write(tmp_path, untagged, "treebank.conllu")
    text = write(tmp_path, "More raw text here.\n", "more.txt")
    rows = list(read_text_corpus(str(corpus), [str(corpus), str(text)], tokenizer="unicode"))
    assert rows == [{"tokens": ["I", "do", "n't", "know", "."], "file": str(corpus), "line": 3},
                    {"tokens": ["Thanks"], "file": str(corpus), "line": 12},
                    {"tokens": ["More", "raw", "text", "here", "."], "file": str(text), "line": 1}]


def test_crlf_bom_gzip_and_missing_final_blank_line_read_the_same(tmp_path):
    expected = list(read_conllu(write(tmp_path, SNIPPET)))
    variant = "\ufeff" + SNIPPET.replace("\n", "\r\n").rstrip("\r\n")
    assert list(read_conllu(write(tmp_path, variant, "crlf.conllu"))) == expected
    assert list(read_conllu(write(tmp_path, gzip.compress(SNIPPET.encode()), "z.conllu.gz"))) == expected


def test_plain_name_finds_gzipped_file(tmp_path):
    write(tmp_path, gzip.compress(SNIPPET.encode()), "only.conllu.gz")
    assert resolve_data_file(tmp_path / "only.conllu") == tmp_path / "only.conllu.gz"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("4\tknow\tknow\tVERB", "expected 10 tab-separated CoNLL-U columns, found 4"),
        ("x\tknow\tknow\tVERB\tVB\t_\t0\troot\t0:root\t_",
         "ID 'x' is not an integer, a range like 1-2 or an empty node like 1.1"),
        ("7\tknow\tknow\tVERB\tVB\t_\t0\troot\t0:root\t_", "expected word ID 4, found 7"),
        ("4\tknow\tknow\t_\tVB\t_\t0\troot\t0:root\t_", "word 'know' has no UPOS tag"),
    ],
)
def test_conllu_bad_lines_name_file_and_line(tmp_path, line, message):
    lines = SNIPPET.split("\n")
    lines[7] = line
    path = write(tmp_path, "\n".join(lines))
    with pytest.raises(DataFormatError) as error:
        list(read_conllu(path))
    assert str(error.value) == f"{path}:8: {message}"
    assert (error.value.path, error.value.line) == (str(path), 8)


def test_non_utf8_bytes_name_the_line(tmp_path):
    path = write(tmp_path, SNIPPET.encode().replace(b"Thanks", b"Th\xe4nks"))
    with pytest.raises(DataFormatError, match=r"x.conllu:12: is not valid UTF-8 \(byte 0xe4 at column 5\)"):
        list(read_conllu(path))


def test_empty_and_missing_files(tmp_path):
    with pytest.raises(DataFormatError, match="empty.conllu: no sentences found"):
        list(read_conllu(write(tmp_path, "", "empty.conllu")))
    with pytest.raises(FileNotFoundError, match=r"nope.conllu or .*nope.conllu.gz"):
        list(read_conllu(tmp_path / "nope.conllu"))


def test_comment_only_sentence_is_an_error(tmp_path):
    with pytest.raises(DataFormatError, match=r"x.conllu:1: sentence has comment lines but no words"):
        list(read_conllu(write(tmp_path, "# sent_id = 1\n# text = \n\n")))


def test_bundled_ewt_counts_match_the_release():
    """Known answer from the UD release (SOURCE.md): sentences and syntactic words per split."""
    for split, sentences, tokens in (("dev", 2001, 25147), ("test", 2077, 25094)):
        read = list(read_conllu(BUNDLED_EWT / f"en_ewt-ud-{split}.conllu.gz"))
        assert len(read) == sentences
        assert sum(len(s["tokens"]) for s in read) == tokens


def test_column_reader_and_docstart(tmp_path):
    text = "-DOCSTART- -X- O\n\nConfidence NN B-NP\nin IN B-PP\n\nthe DT B-NP\n"
    sentences = list(read_columns(write(tmp_path, text, "c.txt")))
    assert [s["tokens"] for s in sentences] == [["Confidence", "in"], ["the"]]
    assert sentences[0]["tags"] == ["NN", "IN"]
    assert [s["tags"] for s in read_columns(tmp_path / "c.txt", tag_column=2)] == [["B-NP", "B-PP"], ["B-NP"]]
    with pytest.raises(DataFormatError, match=r"d.txt:2: expected 3 columns like the first line, found 2"):
        list(read_columns(write(tmp_path, "a DT B-NP\nb NN\n", "d.txt")))


def test_jsonl_source_validates_rows(tmp_path):
    rows = [{"tokens": ["Hi", "!"], "tags": ["INTJ", "PUNCT"]}, {"tokens": ["Bye"], "tags": ["INTJ", "X"]}]
    path = write(tmp_path, "\n".join(json.dumps(r) for r in rows), "t.jsonl")
    with pytest.raises(DataFormatError, match=r"t.jsonl:2: 1 tokens but 2 tags"):
        load_tagged_split(str(path), file_format="jsonl", cache_dir=str(tmp_path / "cache"))
    write(tmp_path, json.dumps(rows[0]), "t.jsonl")
    dataset = load_tagged_split(str(path), file_format="jsonl", cache_dir=str(tmp_path / "cache"))
    assert dataset[0] == {"tokens": ["Hi", "!"], "tags": ["INTJ", "PUNCT"], "lines": [1, 1]}


def test_conllu_split_is_cached_and_reparsed_when_the_file_changes(tmp_path):
    path = write(tmp_path, SNIPPET)
    cache = str(tmp_path / "cache")
    first = load_tagged_split(str(path), cache_dir=cache)
    assert len(first) == 2 and first[0]["tokens"][1] == "do"
    again = load_tagged_split(str(path), cache_dir=cache)
    assert again.cache_files == first.cache_files
    write(tmp_path, SNIPPET.split("\n\n")[1])
    changed = load_tagged_split(str(path), cache_dir=cache)
    assert len(changed) == 1 and changed[0]["tokens"] == ["Thanks"]


def test_hub_style_dataset_with_class_label_tags(tmp_path):
    """The hub code path on a local folder of Parquet files, laid out like a hub dataset (UD-style columns)."""
    import datasets

    features = datasets.Features({
        "tokens": datasets.Sequence(datasets.Value("string")),
        "upos": datasets.Sequence(datasets.ClassLabel(names=["NOUN", "PUNCT", "VERB"])),
    })
    folder = tmp_path / "ud_like"
    folder.mkdir()
    datasets.Dataset.from_dict({"tokens": [["Dogs", "bark", "."]], "upos": [[0, 2, 1]]}, features=features) \
        .to_parquet(folder / "train.parquet")
    split = load_tagged_split(str(folder), file_format="hub", tags_field="upos", hub_split="train",
                              cache_dir=str(tmp_path / "cache"))
    assert split[0] == {"tokens": ["Dogs", "bark", "."], "tags": ["NOUN", "VERB", "PUNCT"], "lines": [1, 1, 1]}
    with pytest.raises(DataFormatError, match=r"expected a column 'xpos'"):
        load_tagged_split(str(folder), file_format="hub", tags_field="xpos", hub_split="train",
                          cache_dir=str(tmp_path / "cache"))


def test_parse_cache_is_keyed_by_the_reader_code_too(tmp_path, monkeypatch):
    """A changed reader must not be served the Arrow files its previous version wrote."""
    from lstmlab.data.tagging import sources as tagging_sources

    path = write(tmp_path, SNIPPET)
    cache = str(tmp_path / "cache")
    assert load_tagged_split(str(path), cache_dir=cache)[0]["tokens"][0] == "I"

    def shouting_reader(path, tag_column="upos"):
        for sentence in read_conllu(path, tag_column):
            yield {**sentence, "tokens": [token.upper() for token in sentence["tokens"]]}

    monkeypatch.setitem(tagging_sources.READERS, "conllu", shouting_reader)
    assert load_tagged_split(str(path), cache_dir=cache)[0]["tokens"] == ["I", "DO", "N'T", "KNOW", "."]


def test_column_format_with_a_named_tag_column_says_what_to_set(tmp_path):
    path = write(tmp_path, "Confidence NN B-NP\n", "c.txt")
    with pytest.raises(DataFormatError, match=r"c.txt: format=columns reads tags from a column number .* "
                                              r"data.tag_column is 'upos'; set data.tag_column=1"):
        load_tagged_split(str(path), file_format="columns", tag_column="upos", cache_dir=str(tmp_path / "cache"))
