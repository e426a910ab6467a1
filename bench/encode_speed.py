"""Sentence-encoding speed: `SentenceEncoder.encode()` against a naive loop (one sentence per forward) and against
InferSent's own encode() re-implemented faithfully: sort by length, each batch's word vectors gathered in numpy from
a dict word -> vector, packed into a bidirectional nn.LSTM (the same weights), unpacked, max-pooled with padding
set to -1e9 (InferSent V2), unsorted. Target: encode >= 1.5x InferSent's approach. An untrained BiLSTM-max network
(GloVe 50d subset vocabulary) is enough: speed does not depend on the weights. The fp32 methods must give the same
vectors; the table shows the largest difference. Prints a Markdown table headed by the CPU and the load average.

Input: the SNLI test premises and hypotheses as token lists (19,648 sentences). A sentence costs about H^2, so
H=2048 encodes every 16th sentence, and the naive loop every 20th of the others' input, keeping each pass a few
seconds. Variants alternate in one process (the order rotates each round); figures are medians over rounds. Where
oneDNN has a bf16 LSTM, one more row runs encode(bf16=True), the opt-in bfloat16 inference mode.
The defaults took 7 minutes with --threads 1 on 2 cores shared with other work (load average 3-4).

    python bench/encode_speed.py                          # H=512 and H=2048, batch 64 and larger
    python bench/encode_speed.py --hidden 512 --batch-sizes 64 128 256 512 --threads 1
"""

from __future__ import annotations

import argparse
import functools
import gzip
import json
import statistics
import time
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path

import datasets
import numpy as np
import torch
from machine import load_average
from torch import nn

from lstmlab.data.nli.datamodule import NLIDataModule
from lstmlab.data.vocab.text_vocabs import TextVocabs
from lstmlab.data.vocab.vocab import UNK
from lstmlab.inference.sentence_encoder import SentenceEncoder
from lstmlab.models.nli_classifier import NLIClassifier
from lstmlab.tasks.nli import NLITask
from lstmlab.utils.cpu import bf16_lstm_supported, describe_cpu

ROOT = Path(__file__).resolve().parents[1]
SNLI = ROOT / "data" / "snli"
NAIVE_SHARE = 20  # the naive loop encodes every 20th sentence of the others' input
NO_BF16 = "this CPU has no bf16 LSTM in oneDNN"
LABELS = {"naive": "naive loop: encode([sentence]) per sentence", "infersent": "InferSent's approach (packed)",
          "encode": "SentenceEncoder.encode (padded, bucketed)",
          "bf16": "SentenceEncoder.encode(bf16=True)"}
Sentences = Sequence[Sequence[str]]


def test_sentences() -> list[list[str]]:
    """SNLI test premises then hypotheses, tokenized (the file is), as token lists."""
    with gzip.open(SNLI / "snli_1.0_test.tok.jsonl.gz", "rt", encoding="utf-8") as lines:
        pairs = [json.loads(line) for line in lines]
    return [p["sentence1"].split() for p in pairs] + [p["sentence2"].split() for p in pairs]


class InferSentEncoder:
    """InferSent's `encode` (facebookresearch/InferSent models.py, V2: max-pooling with padding at -1e9) around the
    weights of an NLIClassifier's BiLSTM-max encoder, which reads the same words: lowercased, those without a
    vector dropped; a sentence left with none reads as zeros, one per word, like the NLIClassifier's <unk> (InferSent
    puts its end-of-sentence token instead). InferSent's <p> ... </p> around each sentence are left out: this network
    has no vectors for them, and without them the vectors must equal encode()'s."""

    def __init__(self, net: NLIClassifier, vocabs: TextVocabs) -> None:
        bilstm = net.encoder.bilstm
        forward_lstm, backward_lstm = bilstm.forward_layers[0], bilstm.backward_layers[0]
        self.enc_lstm = nn.LSTM(forward_lstm.input_size, bilstm.hidden_size, 1, bidirectional=True).eval()
        with torch.no_grad():
            for name, _ in forward_lstm.named_parameters():
                getattr(self.enc_lstm, name).copy_(getattr(forward_lstm, name))
                getattr(self.enc_lstm, f"{name}_reverse").copy_(getattr(backward_lstm, name))
        table = net.words.weight.detach().double().numpy()  # InferSent's vectors are float64 (np.fromstring)
        has_vector = net.has_vector.numpy()
        self.word_vec = {word: table[i] for i, word in enumerate(vocabs.words.itos) if has_vector[i]}
        self.word_vec[UNK] = np.zeros(table.shape[1])
        self.word_emb_dim = table.shape[1]
        self.lowercase = vocabs.lowercase

    def prepare_samples(self, sentences: Sentences) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The words with a vector, sentences sorted by decreasing length."""
        samples = []
        for tokens in sentences:
            words = [w.lower() for w in tokens] if self.lowercase else list(tokens)
            samples.append([w for w in words if w in self.word_vec] or [UNK] * len(words))
        lengths = np.array([len(s) for s in samples])
        lengths, idx_sort = np.sort(lengths)[::-1], np.argsort(-lengths)
        return np.array(samples, dtype=object)[idx_sort], lengths.copy(), idx_sort

    def get_batch(self, batch: np.ndarray) -> torch.Tensor:
        """[max_len, bsize, word_dim], filled vector by vector from the dict, as InferSent does."""
        embed = np.zeros((len(batch[0]), len(batch), self.word_emb_dim))
        for i in range(len(batch)):
            for j in range(len(batch[i])):
                embed[j, i, :] = self.word_vec[batch[i][j]]
        return torch.tensor(embed, dtype=torch.float32)

    def forward(self, sent: torch.Tensor, sent_len: np.ndarray) -> torch.Tensor:
        """Sort, pack, BiLSTM, unpack, unsort, max-pool with exact zeros (the padding) at -1e9, as InferSent does."""
        sent_len, idx_sort = np.sort(sent_len)[::-1].copy(), np.argsort(-sent_len)
        idx_unsort = np.argsort(idx_sort)
        sent = sent.index_select(1, torch.from_numpy(idx_sort))
        sent_packed = nn.utils.rnn.pack_padded_sequence(sent, torch.from_numpy(sent_len))
        sent_output = nn.utils.rnn.pad_packed_sequence(self.enc_lstm(sent_packed)[0])[0]
        sent_output = sent_output.index_select(1, torch.from_numpy(idx_unsort))
        sent_output[sent_output == 0] = -1e9
        return torch.max(sent_output, 0)[0]

    @torch.no_grad()
    def encode(self, sentences: Sentences, bsize: int = 64) -> np.ndarray:
        samples, lengths, idx_sort = self.prepare_samples(sentences)
        embeddings = []
        for stidx in range(0, len(samples), bsize):
            batch = self.get_batch(samples[stidx : stidx + bsize])
            embeddings.append(self.forward(batch, lengths[stidx : stidx + bsize]).numpy())
        return np.vstack(embeddings)[np.argsort(idx_sort)]


def naive_loop(encoder: SentenceEncoder, sentences: Sentences) -> np.ndarray:
    """What a first user script does: one encode() call, so one forward, per sentence."""
    return np.stack([encoder.encode([tokens])[0] for tokens in sentences])


def encode_bf16(encoder: SentenceEncoder, sentences: Sentences, batch_size: int) -> np.ndarray:
    """encode(bf16=True): the opt-in bfloat16 inference mode."""
    return encoder.encode(sentences, batch_size=batch_size, bf16=True)


def build_encoder(datamodule: NLIDataModule, hidden: int) -> SentenceEncoder:
    torch.manual_seed(0)
    net = NLITask.build(datamodule, functools.partial(NLIClassifier.from_options, hidden_size=hidden)).net
    return SentenceEncoder(net, datamodule.vocabs)


def compare(variants: dict[str, Callable[[Sentences], np.ndarray]], inputs: dict[str, Sentences],
            rounds: int) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """(median seconds per call, the vectors) of each variant on its input. A warm-up call on every 20th sentence
    first, then rounds in which the variants take turns, the order rotated every round."""
    for name, fn in variants.items():
        fn(inputs[name][::20])
    seconds: dict[str, list[float]] = {name: [] for name in variants}
    vectors = {}
    names = list(variants)
    for index in range(rounds):
        for name in names[index % len(names) :] + names[: index % len(names)]:
            started = time.perf_counter()
            vectors[name] = variants[name](inputs[name])
            seconds[name].append(time.perf_counter() - started)
    return {name: statistics.median(times) for name, times in seconds.items()}, vectors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hidden", type=int, nargs="+", default=[512, 2048], help="LSTM units per direction")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[64, 256],
                        help="batch sizes of encode() and of InferSent's approach; the first is the reference "
                             "(64: InferSent's default)")
    parser.add_argument("--rounds", type=int, default=3, help="timed calls per variant; figures are medians")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's choice, one per core)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    datasets.disable_progress_bars()
    load_before, started = load_average(), time.perf_counter()

    datamodule = NLIDataModule(train_path=str(SNLI / "snli_1.0_dev.tok.jsonl.gz"), tokenizer="whitespace",
                               vectors={"path": str(ROOT / "data/glove/glove.6B.50d.subset.txt.gz")})
    datamodule.setup("fit")
    everything = test_sentences()
    first = args.batch_sizes[0]
    rows = []
    for hidden in args.hidden:
        sentences = everything[:: max(1, round((hidden / 512) ** 2))]
        encoder = build_encoder(datamodule, hidden)
        infersent = InferSentEncoder(encoder.net, encoder.vocabs)
        variants: dict[str, Callable[[Sentences], np.ndarray]] = {"naive": functools.partial(naive_loop, encoder)}
        for size in args.batch_sizes:
            variants[f"infersent {size}"] = functools.partial(infersent.encode, bsize=size)
            variants[f"encode {size}"] = functools.partial(encoder.encode, batch_size=size)
        if bf16_lstm_supported():
            variants[f"bf16 {first}"] = functools.partial(encode_bf16, encoder, batch_size=first)
        inputs = {name: sentences[::NAIVE_SHARE] if name == "naive" else sentences for name in variants}
        seconds, vectors = compare(variants, inputs, args.rounds)
        reference = vectors[f"encode {first}"]
        baseline = len(sentences) / seconds[f"infersent {first}"]
        for name, median in seconds.items():
            method, _, size = name.partition(" ")
            count = len(inputs[name])
            expected = reference[::NAIVE_SHARE] if method == "naive" else reference
            rows.append((hidden, method, size or "1", count, count / median, count / median / baseline,
                         float(np.abs(vectors[name] - expected).max())))

    print(f"\nSentence encoding, BiLSTM-max (untrained), GloVe 50d subset, SNLI test sentences as token lists; "
          f"{args.rounds} rounds per variant; {date.today()}; {time.perf_counter() - started:.0f} s in all")
    print(f"CPU: {describe_cpu()}\nload average (1/5/15 min): {load_before} at start, {load_average()} at end\n")
    print(f"| H | method | batch | sentences | sentences/s | vs InferSent, batch {first} | "
          f"max abs diff vs encode, batch {first} |\n|---:|---|---:|---:|---:|---:|---:|")
    for hidden, method, size, count, rate, ratio, diff in rows:
        print(f"| {hidden} | {LABELS[method]} | {size} | {count:,} | {rate:,.0f} | {ratio:.2f}x | {diff:.1e} |")
    if not bf16_lstm_supported():
        print(f"\nbf16 row not run: {NO_BF16}.")


if __name__ == "__main__":
    main()
