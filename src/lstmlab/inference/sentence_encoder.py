"""Sentence embeddings from a trained NLI model, with sentence-transformers' conventions:

    enc = SentenceEncoder.load("logs/nli_cpu/runs/<timestamp>")
    vectors = enc.encode(["A man is playing a guitar.", "Nobody plays."])  # numpy [2, enc.dim]

Sentences are sorted by length into padded batches and returned in input order; a sentence's vector does not depend
on the other sentences of its batch. `SentenceEncoder.from_vectors` is the bag-of-vectors baseline behind the same API.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from lstmlab.data.readers.word_vectors import load_word_vectors
from lstmlab.data.vocab.text_vocabs import EncodedTokens, TextVocabs
from lstmlab.data.vocab.vocab import PAD, UNK, Vocab
from lstmlab.inference import cpu_streams
from lstmlab.inference.trained_model import TrainedModel
from lstmlab.io.model_folder import model_payload, save_model_folder
from lstmlab.io.st_files import sentence_transformers_files
from lstmlab.models.nli_classifier import NLIClassifier, NLIConfig
from lstmlab.runtime.sentence_encoder import SentenceEncoder as OnnxSentenceEncoder
from lstmlab.runtime.text_pipeline import (
    Chunk,
    Sentence,
    by_length,
    check_tokens,
    is_empty,
    longest_first_chunks,
    sentences_to_encode,
)
from lstmlab.utils.atomic_file import atomic_file
from lstmlab.utils.cpu import bf16_autocast

Sentences = str | Sequence[str] | Sequence[Sequence[str]]


class SentenceEncoder(TrainedModel):
    network_type = NLIClassifier
    exported_type = OnnxSentenceEncoder
    wrong_kind_hint = ("SentenceEncoder needs a sentence encoder trained on NLI (lstmlab-train experiment=nli_cpu) or "
                       "SentenceEncoder.from_vectors(...)")

    @classmethod
    def from_vectors(cls, path: str | Path, lowercase: bool = True, max_words: int | None = None) -> SentenceEncoder:
        """The bag-of-vectors baseline: the mean of the word vectors of a GloVe/word2vec/fastText text file
        (words without a vector are left out, as SentEval's baseline does)."""
        vectors = load_word_vectors(path, max_words=max_words)
        words = Vocab.from_counts({}, extra=(w.lower() if lowercase else w for w in vectors.words))
        rows = torch.tensor([words.stoi[w.lower() if lowercase else w] for w in vectors.words])
        net = NLIClassifier(NLIConfig(num_words=len(words), num_classes=3, word_dim=vectors.dim,
                                      encoder="bag_of_vectors", hidden_size=0, classifier_layers=0))
        first = np.unique(rows.numpy(), return_index=True)[1]  # lowercasing may merge words: the first line wins
        net.load_pretrained(rows[first], torch.from_numpy(vectors.vectors[first]))
        return cls(net, TextVocabs(words, Vocab([PAD, UNK]), lowercase=lowercase))

    def save(self, folder: str | Path) -> Path:
        """An export folder that `load`, `lstmlab-embed --model` and sentence-transformers read: a new or empty
        folder, or an lstmlab export whose model files are replaced (its model card and other files stay); a folder
        of other files is refused (`NotAnExportFolder`) and left as it was."""
        payload = model_payload(NLIClassifier.kind, self.net.config_dict(), self.vocabs.to_dict())
        return save_model_folder(folder, payload, self.net.state_dict(),
                                 extra_files=sentence_transformers_files(payload))

    @property
    def dim(self) -> int:
        return self.net.embedding_dim

    @property
    def device(self) -> torch.device:
        return self.net.has_vector.device

    @torch.inference_mode()
    def encode(
        self,
        sentences: Sentences,
        batch_size: int = 64,
        show_progress_bar: bool = False,
        convert_to_numpy: bool = True,
        convert_to_tensor: bool = False,
        normalize_embeddings: bool = False,
        allow_empty: bool = False,
        bf16: bool = False,
    ) -> np.ndarray | torch.Tensor:
        """Vectors [N, dim] (float32) in input order; a single string gives one vector [dim].

        Strings are split by the rule of the model's language (`tokens_of`; for English, UD English EWT's rule, which
        the NLI readers of raw text use too; on the PTB-tokenized bundled SNLI it scores as well, docs/results.md);
        lists of tokens are
        taken as they are, a blank token ("") being an error. An empty sentence is an error, or, with
        `allow_empty`, a zero vector. `bf16` computes in bfloat16 (CPUs with AVX-512 bf16 or AMX, GPUs): 1.6-1.7x
        faster on such a CPU, vectors within ~1e-3.
        The text work runs beside the network (`text_pipeline`).
        """
        single = isinstance(sentences, str)
        items = [sentences] if single else list(sentences)
        present = sentences_to_encode(items, allow_empty)
        output = torch.zeros(len(items), self.dim, device=self.device)
        # longest first, like sentence-transformers: a memory problem shows at once, and the bar slows down after
        chunks = longest_first_chunks(items, present)
        encoded = self.encode_chunks(([items[p] for p in chunk] for chunk in chunks), batch_size, bf16,
                                     normalize=normalize_embeddings)
        with tqdm(total=len(present), disable=not show_progress_bar, unit="sent", desc="Encoding") as bar:
            for chunk, (_, vectors) in zip(chunks, encoded, strict=True):
                output[chunk] = vectors
                bar.update(len(chunk))
        if single:
            output = output[0]
        if convert_to_tensor or not convert_to_numpy:
            return output.clone()  # inference tensors cannot be used in autograd later: a normal copy
        return output.cpu().numpy()

    @torch.inference_mode()
    def encode_chunks(self, chunks: Iterable[Chunk], batch_size: int = 64, bf16: bool = False,
                      split: Callable[[Sentence], list[str]] | None = None, normalize: bool = False
                      ) -> Iterator[tuple[Chunk, torch.Tensor]]:
        """(chunk, its vectors [len(chunk), dim] in the chunk's order; an empty sentence's are zeros) for each chunk
        of sentences, which may be read lazily (from a file: `lstmlab-embed`). Reading, `split` (the tokenizer;
        default `tokens_of`), lookup and padding run beside the network (`text_pipeline.pipelined`), so an error
        there (a malformed line) reaches the caller."""
        device = self.device

        def run(batch: tuple[list[int], dict[str, torch.Tensor]]) -> tuple[list[int], torch.Tensor]:
            rows, padded = batch
            with bf16_autocast(device, bf16):
                return rows, self.net.embed(padded["words"].to(device), padded["mask"].to(device)).float()

        computes = self.net.config.encoder != "bag_of_vectors"
        prepare = functools.partial(self._padded_batches, batch_size=batch_size, split=split)
        for chunk, results in cpu_streams.pipelined(chunks, prepare, run, device, computes):
            vectors = torch.zeros(len(chunk), self.dim, device=device)
            for rows, batch_vectors in results:
                vectors[rows] = batch_vectors
            yield chunk, F.normalize(vectors, dim=1) if normalize else vectors

    def encode_words(self, sentences: Sequence[Sentence], split: Callable[[Sentence], list[str]] | None = None
                     ) -> tuple[list[int], EncodedTokens]:
        """(the rows of the non-empty sentences, their word ids): the text work before padding, for this class and
        the sentence-transformers module."""
        split = split or self.tokens_of
        present = [row for row, sentence in enumerate(sentences) if not is_empty(sentence)]
        return present, self.vocabs.encode_tokens((split(sentences[row]) for row in present), with_chars=False)

    def _padded_batches(self, chunk: Chunk, batch_size: int, split: Callable[[Sentence], list[str]] | None
                        ) -> list[tuple[list[int], dict[str, torch.Tensor]]]:
        """The text work on one chunk: (rows of the chunk, padded batch) per batch, longest first, empty sentences
        left out."""
        present, encoded = self.encode_words(chunk, split)
        return [([present[r] for r in rows], encoded.padded(rows, with_chars=False))
                for rows in by_length(encoded.lengths, batch_size)]

    @torch.inference_mode()
    def visualize(self, sentence: str | Sequence[str], path: str | Path | None = None) -> list[tuple[str, int]]:
        """How many dimensions of the max-pooled vector each word wins (InferSent's word importance), as
        (word, count) pairs; with `path`, also a bar chart of the percentages (PNG). Words without a vector
        (dropped under the `drop` policy) win nothing. Only for max-pooling encoders."""
        if self.net.config.encoder != "bilstm_max":
            raise ValueError(f"visualize needs a max-pooling encoder (bilstm_max), this model's is "
                             f"{self.net.config.encoder!r}")
        check_tokens(sentence, 0)
        tokens = self.tokens_of(sentence)
        if not tokens:
            raise ValueError("the sentence is empty: there is nothing to visualize")
        batch = self.vocabs.encode_tokens([tokens], with_chars=False).padded([0], with_chars=False)
        words, mask, order = self.net.known_words(batch["words"].to(self.device), batch["mask"].to(self.device))
        wins = self.net.encoder.word_wins(self.net.words(words), mask)
        counts = torch.zeros_like(wins).scatter_(1, order, wins)[0].tolist()  # back to input positions
        if path is not None:
            plot_word_importance(tokens, [100 * c / self.dim for c in counts], Path(path))
        return list(zip(tokens, counts, strict=True))


def plot_word_importance(tokens: list[str], percentages: list[float], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(max(4.0, 0.6 * len(tokens)), 3.5))
    axes.bar(range(len(tokens)), percentages)
    axes.set_xticks(range(len(tokens)), tokens, rotation=45, ha="right")
    axes.set_ylabel("% of max-pooled dimensions")
    axes.set_title("Word importance")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with atomic_file(path) as temporary:  # the picture appears whole or not at all
            figure.savefig(temporary, format="png")
    finally:
        plt.close(figure)
