"""Raw text at the kernel's speed: inference on strings against the same network on input already turned into ids.

    python bench/raw_text_speed.py                    # what make bench-nli runs
    python bench/raw_text_speed.py --rounds 7 --threads 1 --save

One table, in one run:
- the tokenizer (`lstmlab.data.tokenization.tokenize`) on the sentences below, against the rule before its speed-up
  (bench/tokenize_before.py), NLTK's and spaCy's (as in bench/tokenizer_speed.py, which also scores them), one
  thread;
- `SentenceEncoder.encode` at H=256 and H=512 (BiLSTM-max of experiment=nli_cpu, untrained: speed does not depend
  on the weights) on 10,000 raw SNLI dev sentences given as strings, given as token lists, and a plain padded
  PyTorch loop of the same network over the same sentences already turned into word ids (longest first, batch 64,
  `net.embed` per batch: what a user's own loop over ids does, one stream on every torch thread); the strings once
  more in each mode `cpu_streams.mode_for` could choose, forced: two network streams (its choice on a CPU with two
  threads or more), the text work in a background thread (its choice beside a GPU), inline on one stream;
  bf16 rows where the CPU has a bf16 LSTM;
- the tagger of experiment=pos_quick on the `# text` of EWT test: `Tagger.predict` on the tokens, and the
  `lstmlab-tag` command's work (reading, tokenizing, tagging, writing CoNLL-U; start-up and model loading left out)
  on the raw lines and with --tokenized, both at the command's batch size.
Variants alternate in rounds (bench/harness.py's `compare`); speeds are medians, ratios the median of each round's
ratio to the row named in `vs` (steadier than a ratio of medians on a machine whose speed drifts).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import gzip
import io
import json
import statistics
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import tokenize_before
import torch
from harness import NO_BF16, median_ratio, quiet_rounds, rate
from machine import load_average
from measurements import alternated, alternated_rounds
from nltk.tokenize import NLTKWordTokenizer
from report import Row, report, show
from tokenizer_ewt import nltk_spans
from tokenizer_speed import spacy_variants
from training_tasks import NLI, TAGGER, Prepared

from lstmlab import SentenceEncoder, Tagger
from lstmlab.cli import options
from lstmlab.cli.tag import tag
from lstmlab.data.tokenization.token_alignment import read_gold
from lstmlab.data.tokenization.tokenize import tokenize
from lstmlab.inference import cpu_streams
from lstmlab.runtime import text_pipeline
from lstmlab.utils.cpu import bf16_lstm_supported

ROOT = Path(__file__).resolve().parents[1]
SNLI_RAW = ROOT / "data" / "snli" / "snli_1.0_dev.jsonl.gz"
EWT_TEST = ROOT / "data" / "ud_english_ewt" / "en_ewt-ud-test.conllu.gz"
SENTENCES = 10_000
BATCH = 64


def snli_sentences() -> list[str]:
    """The first SENTENCES distinct raw premises and hypotheses of SNLI dev, in file order."""
    with gzip.open(SNLI_RAW, "rt", encoding="utf-8") as lines:
        pairs = [json.loads(line) for line in lines]
    distinct = dict.fromkeys(sentence for pair in pairs for sentence in (pair["sentence1"], pair["sentence2"]))
    return list(distinct)[:SENTENCES]


def plain_loop(encoder: SentenceEncoder, ids: list[torch.Tensor], bf16: bool) -> torch.Tensor:
    """Word ids -> vectors, longest first, padded batches of BATCH through the network's own `embed`."""
    output = torch.zeros(len(ids), encoder.dim)
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]), reverse=True)
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        for start in range(0, len(order), BATCH):
            rows = order[start : start + BATCH]
            words = torch.nn.utils.rnn.pad_sequence([ids[i] for i in rows], batch_first=True)
            output[rows] = encoder.net.embed(words, words != 0).float()
    return output


@contextlib.contextmanager
def forced(mode: text_pipeline.Mode | None) -> Iterator[None]:
    """Inference in `mode` whatever the device and thread count; None leaves the choice to
    `cpu_streams.mode_for` (a counterfactual for this benchmark only)."""
    mode_for = cpu_streams.mode_for
    if mode is not None:
        cpu_streams.mode_for = lambda device, computes=True: mode
    try:
        yield
    finally:
        cpu_streams.mode_for = mode_for


MODES: dict[str, text_pipeline.Mode] = {"two network streams": "streams",
                                        "text work in the background thread": "background",
                                        "inline, one stream": "inline"}


def ratio_rows(prefix: str, unit: str, amount: int, variants: dict[str, Callable[[], object]], rounds: int,
               reference_of: Callable[[str], str]) -> list[Row]:
    """One row per variant: its median speed, and the median of its rounds' speed ratios to its reference."""
    seconds = alternated_rounds(variants, rounds)  # after a warm-up call each: oneDNN primitives per batch shape
    rows = []
    for name, times in seconds.items():
        reference = reference_of(name)
        rows.append({"what": f"{prefix}: {name}", "speed": f"{rate(amount / statistics.median(times))} {unit}/s",
                     "vs": f"{median_ratio(seconds[reference], times):.2f}x {reference}" if name != reference else ""})
    return rows


def encoder_rows(texts: list[str], hidden: int, rounds: int, bf16: bool) -> list[Row]:
    prepared = Prepared.build(NLI, [f"model.net.hidden_size={hidden}"])
    encoder = SentenceEncoder(prepared.make_task().net, prepared.datamodule.vocabs)
    token_lists = [tokenize(text) for text in texts]
    words = encoder.vocabs.words
    key = encoder.vocabs.word_key
    ids = [torch.tensor([words.index(key(token)) for token in tokens]) for tokens in token_lists]

    def in_mode(mode: text_pipeline.Mode, bf16: bool = False) -> None:
        with forced(mode):
            encoder.encode(texts, batch_size=BATCH, bf16=bf16)

    variants: dict[str, Callable[[], object]] = {
        "plain loop over word ids": lambda: plain_loop(encoder, ids, False),
        "encode(token lists)": lambda: encoder.encode(token_lists, batch_size=BATCH),
        "encode(strings)": lambda: encoder.encode(texts, batch_size=BATCH),
    }
    variants |= {f"encode(strings), forced: {name}": functools.partial(in_mode, mode) for name, mode in MODES.items()}
    if bf16:
        variants["plain loop over word ids, bf16"] = lambda: plain_loop(encoder, ids, True)
        variants["encode(strings, bf16=True)"] = lambda: encoder.encode(texts, batch_size=BATCH, bf16=True)
        variants["encode(strings, bf16=True), forced: inline, one stream"] = functools.partial(in_mode, "inline", True)
    rows = ratio_rows(f"H={hidden}", "sentences", len(texts), variants, rounds,
                      lambda name: "plain loop over word ids" + (", bf16" if "bf16" in name else ""))
    difference = float(abs(encoder.encode(texts, batch_size=BATCH) - plain_loop(encoder, ids, False).numpy()).max())
    rows[2]["vs"] += f" (vectors differ by at most {difference:.1e}; {mode_now()})"
    if not bf16:
        rows.append({"what": f"H={hidden}: bf16 rows", "speed": NO_BF16})
    return rows


def mode_now() -> str:
    return f"the mode chosen here: {cpu_streams.mode_for(torch.device('cpu'))}"


def tagger_rows(rounds: int) -> list[Row]:
    texts = [sentence.text for sentence in read_gold(EWT_TEST)]
    token_lists = [tokenize(text) for text in texts]
    prepared = Prepared.build(TAGGER)
    tagger = Tagger(prepared.make_task().net, prepared.datamodule.vocabs)
    raw = "".join(f"{text}\n" for text in texts).encode()
    tokenized = "".join(" ".join(tokens) + "\n" for tokens in token_lists).encode()

    def command(data: bytes, is_tokenized: bool, mode: text_pipeline.Mode | None = None) -> None:
        with forced(mode):
            tag(tagger, io.BytesIO(data).readlines(), "input.txt", io.StringIO(), tokenized=is_tokenized,
                batch_size=options.BATCH_SIZE)

    variants: dict[str, Callable[[], object]] = {
        "Tagger.predict(token lists)": lambda: tagger.predict(token_lists, batch_size=options.BATCH_SIZE),
        "lstmlab-tag on raw text": lambda: command(raw, False),
        "lstmlab-tag --tokenized": lambda: command(tokenized, True),
    }
    variants |= {f"lstmlab-tag on raw text, forced: {name}": functools.partial(command, raw, False, mode)
                 for name, mode in MODES.items()}
    amount = sum(len(tokens) for tokens in token_lists)
    return ratio_rows(f"tagger, EWT test ({amount:,} tokens)", "tokens", amount, variants, rounds,
                      lambda name: "Tagger.predict(token lists)")


def split_all(split: Callable[[str], list[str]], texts: list[str]) -> list[list[str]]:
    return [split(text) for text in texts]


def tokenizer_rows(texts: list[str], rounds: int) -> list[Row]:
    """Each tokenizer of bench/tokenizer_speed.py on the same sentences, one thread, as a ratio to the rule before."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    splitters = {"lstmlab tokenize()": tokenize, "the rule before its speed-up": tokenize_before.tokenize,
                 "NLTK NLTKWordTokenizer (spans)": nltk_spans(NLTKWordTokenizer(), curly_as_straight=False)}
    spacy_rows, spacy_missing = spacy_variants()
    splitters |= {name: make() for name, make in spacy_rows}
    seconds = alternated({name: functools.partial(split_all, split, texts) for name, split in splitters.items()},
                         rounds)
    torch.set_num_threads(threads)
    same = sum(tokenize(t) == tokenize_before.tokenize(t) for t in texts)
    before = seconds["the rule before its speed-up"]
    rows = [{"what": f"tokenizer, {len(texts):,} SNLI sentences, one thread: {name}",
             "speed": f"{rate(len(texts) / median)} sentences/s", "vs": f"{before / median:.2f}x the rule before"}
            for name, median in seconds.items()]
    rows[0]["vs"] += f" ({same:,} of {len(texts):,} sentences tokenized as before)"
    if spacy_missing:
        rows.append({"what": f"tokenizer: {spacy_missing}"})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5, help="timed calls per variant; figures are medians")
    parser.add_argument("--hidden", type=int, nargs="+", default=[256, 512], help="LSTM units per direction")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's choice, one per core)")
    parser.add_argument("--save", action="store_true", help="also write bench/results/raw_text_speed.md and .json")
    args = parser.parse_args()
    quiet_rounds(args.threads)
    load_before, started = load_average(), time.perf_counter()
    texts = snli_sentences()
    rows = tokenizer_rows(texts, args.rounds)
    for hidden in args.hidden:
        rows += encoder_rows(texts, hidden, args.rounds, bf16_lstm_supported())
    rows += tagger_rows(args.rounds)
    lines = report(rows, time.perf_counter() - started, load_before,
                   f"; {args.rounds} rounds; torch threads {torch.get_num_threads()}", columns=("what", "speed", "vs"))
    show("raw_text_speed", lines, rows, args.save)


if __name__ == "__main__":
    main()
