"""Inference that overlaps text work with the network (`lstmlab.runtime.text_pipeline`): the background stage
keeps the order, hands its errors to the caller and stops when the caller does, and runs beside a GPU network only;
on inputs of several chunks, encode(), predict() and the ELMo export give every sentence the result it gets alone,
at its input position, in every mode: text work in the background thread, network streams, inline."""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from lstmlab import Elmo, SentenceEncoder, Tagger
from lstmlab.cli import embed as embed_command
from lstmlab.cli.embed import main as embed
from lstmlab.data.tokenization.token_alignment import read_gold
from lstmlab.inference import cpu_streams
from lstmlab.runtime.text_pipeline import CHUNK_SENTENCES, ahead, by_length, longest_first_chunks, prefetched

EWT_TRAIN = Path(__file__).resolve().parents[2] / "data" / "ud_english_ewt" / "en_ewt-ud-train.conllu.gz"


@pytest.fixture(scope="module")
def ewt_texts() -> list[str]:
    """More raw sentences than two chunks hold: the `# text` of the bundled EWT train sample, in file order."""
    texts = [sentence.text for sentence in read_gold(EWT_TRAIN)]
    assert len(texts) > 2 * CHUNK_SENTENCES
    return texts[: 2 * CHUNK_SENTENCES + 300]


@pytest.fixture(params=["background", "streams", "inline"])
def text_work(request, monkeypatch):
    """Each way of sharing the machine (`cpu_streams.mode_for`): the text work in the background thread, as beside
    a GPU network; two network streams, as on a CPU with two threads or more (torch set to two here); inline, as on
    one thread. The one seam is set, since no GPU runs here."""
    monkeypatch.setattr(cpu_streams, "mode_for", lambda device, computes=True: request.param)
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    yield request.param
    torch.set_num_threads(threads)


def prefetch_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == "lstmlab-prefetch"]


def test_items_come_in_order_and_are_made_in_the_background():
    made_in: list[str] = []

    def items():
        for number in range(50):
            made_in.append(threading.current_thread().name)
            yield number

    assert list(prefetched(items())) == list(range(50))
    assert set(made_in) == {"lstmlab-prefetch"}


def test_an_error_in_the_background_reaches_the_caller_with_its_message():
    def items():
        yield 1
        yield 2
        raise ValueError("line 3 of input.txt: not a sentence")

    received = []
    started = time.perf_counter()
    with pytest.raises(ValueError, match="line 3 of input.txt: not a sentence") as raised:
        for item in prefetched(items()):
            received.append(item)
    assert received == [1, 2] and time.perf_counter() - started < 5
    assert "items" in {frame.name for frame in raised.traceback}  # the background frame is in the traceback


def test_leaving_the_loop_early_stops_the_background_thread():
    def endless():
        number = 0
        while True:
            yield number
            number += 1

    for item in prefetched(endless()):
        if item == 3:
            break
    deadline = time.monotonic() + 5
    while prefetch_threads() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert prefetch_threads() == []


def test_items_are_made_in_the_background_thread_exactly_when_that_helps():
    def names():
        while True:
            yield threading.current_thread().name

    assert next(ahead(names(), cpu_streams.mode_for(torch.device("meta")))) == "lstmlab-prefetch"
    assert next(ahead(names(), cpu_streams.mode_for(torch.device("cpu")))) == threading.current_thread().name


def test_chunks_are_longest_first_and_cover_every_position():
    sentences = ["a b", "a much longer sentence", ["one", "token", "list"], "mid length"]
    chunks = longest_first_chunks(sentences, [0, 1, 2, 3], size=3)
    assert chunks == [[1, 3, 0], [2]]  # characters for strings, tokens for token lists


def test_encode_over_several_chunks_gives_each_sentence_its_vector_in_input_order(text_work, trained_nli, ewt_texts):
    encoder = SentenceEncoder.load(trained_nli[0])
    together = encoder.encode(ewt_texts, batch_size=32)
    assert together.shape == (len(ewt_texts), encoder.dim)
    sample = list(range(0, len(ewt_texts), 97))
    alone = np.stack([encoder.encode(ewt_texts[i]) for i in sample])
    np.testing.assert_allclose(together[sample], alone, atol=1e-6, rtol=0)
    reversed_order = encoder.encode(ewt_texts[::-1], batch_size=50)[::-1]  # other chunks, other batches
    np.testing.assert_allclose(together, reversed_order, atol=1e-6, rtol=0)


def test_predict_over_several_chunks_keeps_order_and_batch_independence(text_work, trained, ewt_texts):
    tagger = Tagger.load(trained[0])
    together = tagger.predict(ewt_texts, batch_size=64)
    assert len(together) == len(ewt_texts)
    for index in range(0, len(ewt_texts), 131):
        alone = tagger.predict(ewt_texts[index])
        assert (together[index].tokens, together[index].tags) == (alone.tokens, alone.tags)


def test_elmo_chunks_give_each_sentence_what_it_gets_alone(text_work, trained_bilm, ewt_texts):
    elmo = Elmo.load(trained_bilm[0])
    token_lists = [text.split() for text in ewt_texts[:300]]
    token_lists = [tokens[: elmo.max_sentence_length] for tokens in token_lists]
    chunks = [token_lists[:120], token_lists[120:]]
    seen = []
    for batch, output in elmo.represent_chunks(chunks, batch_size=16):
        for row, tokens in enumerate(batch):
            seen.append(" ".join(tokens))
            if len(seen) % 37 == 0:
                alone = elmo([tokens]).layers[:, 0]
                np.testing.assert_allclose(output.layers[:, row, : len(tokens)], alone, atol=1e-5, rtol=0)
    assert sorted(seen) == sorted(" ".join(tokens) for tokens in token_lists)


def test_elmo_chunks_count_a_bad_sentence_from_the_first_chunk(trained_bilm):
    elmo = Elmo.load(trained_bilm[0])
    with pytest.raises(ValueError, match="sentence 3 is empty"):
        list(elmo.represent_chunks([[["a"], ["b"]], [["c"], []]]))


def test_a_bad_line_read_ahead_ends_the_export_with_its_line(text_work, trained_nli, ewt_texts, tmp_path, capsys,
                                                             monkeypatch):
    """The empty line lies in the third chunk: it is read while the network encodes the first ones (in the
    background) or after them (inline), and ends the export all the same."""
    monkeypatch.setattr(embed_command, "CHUNK_LINES", CHUNK_SENTENCES)
    lines = ewt_texts[: 2 * CHUNK_SENTENCES] + ["   "] + ewt_texts[2 * CHUNK_SENTENCES :]
    source = tmp_path / "in.txt"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    output = tmp_path / "out.npy"
    assert embed(["--model", str(trained_nli[0]), str(source), "-o", str(output), "--quiet"]) == 2
    assert f"{source}:{2 * CHUNK_SENTENCES + 1}: empty line" in capsys.readouterr().err
    assert not output.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["in.txt"]


BLANK_TOKENS = [(["The", "", "cat"], 1), (["The", "cat", " \t"], 2), (["\u3000"], 0)]  # "" and whitespace only


@pytest.mark.parametrize(("tokens", "position"), BLANK_TOKENS)
def test_a_blank_token_is_refused_by_name_in_every_api(trained, trained_nli, trained_bilm, tokens, position):
    """A token that is "" or whitespace only is no word (no tokenizer makes one): each API names the sentence and
    the token instead of tagging, encoding or representing it. An empty sentence keeps its own message."""
    sentences = [["A", "dog", "."], tokens]
    expected = re.escape(f"sentence 1, token {position} ({tokens[position]!r}) is blank")
    with pytest.raises(ValueError, match=expected):
        Tagger.load(trained[0]).predict(sentences)
    encoder = SentenceEncoder.load(trained_nli[0])
    for allow_empty in (False, True):
        with pytest.raises(ValueError, match=expected):
            encoder.encode(sentences, allow_empty=allow_empty)
    elmo = Elmo.load(trained_bilm[0])
    with pytest.raises(ValueError, match=expected):
        elmo(sentences)
    with pytest.raises(ValueError, match=expected):
        list(elmo.represent_chunks([sentences]))
    with pytest.raises(ValueError, match="sentence 1 is empty"):
        encoder.encode([["A"], []])
    with pytest.raises(ValueError, match="sentence 0, token 1 is NoneType None, expected a string"):
        encoder.encode([["A", None]])


def test_batches_by_length_keep_padding_under_a_quarter_and_every_row_once():
    lengths = [1, 40, 3, 12, 12, 100, 9, 10, 11, 30, 31, 2, 2, 2, 2, 2]
    batches = by_length(lengths, batch_size=4)
    assert sorted(row for batch in batches for row in batch) == list(range(len(lengths)))
    assert batches[0] == [5]  # longest first, alone: nothing within a quarter of 100 words
    for batch in batches:
        longest, shortest = max(lengths[r] for r in batch), min(lengths[r] for r in batch)
        assert len(batch) <= 4 and shortest >= 0.75 * longest
    assert [[lengths[r] for r in batch] for batch in batches[-3:]] == [[2, 2, 2, 2], [2], [1]]  # 4 rows at most
