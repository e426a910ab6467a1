"""Bidirectional language model (ELMo, Peters et al. 2018; char-aware LM, Kim et al. 2016): a character CNN
token encoder, two independent LSTM stacks (one reads the text forwards, one backwards) and one softmax over words
shared by both directions.

The two directions share only the token encoder and the softmax: layer 2 of the forward LM never sees a backward
state. Trained on running text with carried state (see tasks/language_model.py); used statelessly, one sentence
at a time, for contextual features (`sentence_layers`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from lstmlab.models.network import Network
from lstmlab.modules.char_cnn import CharCNN
from lstmlab.modules.dropout import Dropout
from lstmlab.modules.masked_rnn import reverse_within_length
from lstmlab.modules.recurrent_stack import LayerState, RecurrentStack

DIRECTIONS = ("forward", "backward")


@dataclass
class BiLMConfig:
    num_words: int  # softmax vocabulary (the training text's words)
    num_chars: int  # character vocabulary; two more ids mark the beginning and end of a word
    boundary_chars: list[int] = field(default_factory=list)  # char ids of the sentence boundary token
    char_dim: int = 15  # character embedding width
    char_filters: list[list[int]] = field(default_factory=lambda: [[w, 25 * w] for w in range(1, 7)])  # [width, count]
    char_activation: str = "tanh"  # after the max-pool: tanh (Kim et al.) or relu (ELMo)
    highway_layers: int = 1  # highway layers over the pooled character filters
    # a linear map of the token representation to this width (ELMo's 2048 -> 512); None: none (Kim et al.: the
    # LSTMs read the highway output). On PTB with SGD a 525 -> 300 projection cost 25% perplexity (docs/results.md).
    projection_dim: int | None = None
    hidden_size: int = 300  # LSTM cells per layer and direction
    cell: str = "lstm"  # rnn | gru | lstm (fused kernels; the LSTM variants are not offered for the LM)
    peephole: bool = False  # the keys every recurrent model has; the LM refuses both variants
    coupled_gates: bool = False  # refused too (see peephole)
    proj_size: int = 0  # LSTM output projection (ELMo: 4096 cells -> 512); 0 for none
    num_layers: int = 2  # LSTM layers per direction
    residual: bool = False  # add each layer's input to its output (layers after the first)
    dropout: float = 0.5  # between LSTM layers and before the softmax
    softmax: str = "full"  # full | adaptive (nn.AdaptiveLogSoftmaxWithLoss, for large vocabularies)
    adaptive_cutoffs: list[int] = field(default_factory=lambda: [4000, 20000])  # adaptive: cluster bounds (word ranks)
    init_range: float | None = 0.05  # LSTM and softmax weights ~ U(-r, r), as Kim et al. and Zaremba et al.
    max_sentence_length: int = 1000  # longest token list `sentence_layers` accepts

    def __post_init__(self) -> None:
        # plain lists (not Hydra's ListConfig) so the config saves to JSON and loads with weights_only=True
        self.char_filters = [[int(width), int(count)] for width, count in self.char_filters]
        self.adaptive_cutoffs = [int(c) for c in self.adaptive_cutoffs]
        self.boundary_chars = [int(c) for c in self.boundary_chars]
        if self.peephole or self.coupled_gates:
            raise ValueError("peephole / coupled_gates: the language model runs fused kernels only; set both to false")
        if self.softmax not in ("full", "adaptive"):
            raise ValueError(f"softmax must be 'full' or 'adaptive', got {self.softmax!r}")


def add_word_boundaries(chars: torch.Tensor, num_chars: int) -> torch.Tensor:
    """chars [..., L] (0 = padding) -> [..., L + 2] with begin-of-word (id num_chars) before each word's characters
    and end-of-word (num_chars + 1) after them; padding tokens (no characters) stay all padding."""
    lengths = (chars != 0).sum(dim=-1, keepdim=True)
    marked = F.pad(chars, (1, 1))
    real = lengths > 0
    marked[..., :1] = torch.where(real, num_chars, 0)
    return marked.scatter(-1, lengths + 1, torch.where(real, num_chars + 1, 0))


class BiLanguageModel(Network, kind="bilm", config_type=BiLMConfig):
    distinct_words = True  # `sentence_layers`' character CNN reads each distinct word once (False: the ONNX graph)

    def __init__(self, config: BiLMConfig) -> None:
        super().__init__(config)
        self.tokens = CharCNN(config.num_chars + 2, config.char_dim, config.char_filters, config.highway_layers,
                              config.projection_dim, activation=config.char_activation)
        self.forward_lm, self.backward_lm = (
            RecurrentStack(self.tokens.output_dim, config.hidden_size, config.num_layers, config.proj_size,
                           config.dropout, config.residual, config.cell)
            for _ in DIRECTIONS
        )
        self.dropout = Dropout(config.dropout)
        width = self.forward_lm.output_dim
        if config.softmax == "full":
            self.softmax: nn.Module = nn.Linear(width, config.num_words)
        else:
            cutoffs = [c for c in config.adaptive_cutoffs if c < config.num_words - 1]
            self.softmax = nn.AdaptiveLogSoftmaxWithLoss(width, config.num_words, cutoffs, div_value=4.0)
        self.register_buffer("boundary_chars", torch.tensor(config.boundary_chars, dtype=torch.long), persistent=False)
        if config.init_range:
            for module in (self.forward_lm, self.backward_lm, self.softmax):
                for parameter in module.parameters():
                    nn.init.uniform_(parameter, -config.init_range, config.init_range)

    @property
    def output_dim(self) -> int:
        """Width of each contextual layer `sentence_layers` returns: forward and backward side by side."""
        return 2 * self.forward_lm.output_dim

    @property
    def has_token_layer(self) -> bool:
        """Whether the token representations are one of the layers `sentence_layers` returns: only where they
        have the LSTMs' width (a projection to it, as in ELMo), so that all layers can be mixed."""
        return self.tokens.output_dim == self.forward_lm.output_dim

    @property
    def num_output_layers(self) -> int:
        return self.config.num_layers + self.has_token_layer

    def embed_tokens(self, chars: torch.Tensor) -> torch.Tensor:
        """chars [..., L] (this model's char ids, 0 = padding) -> token representations [..., D]."""
        return self.tokens(add_word_boundaries(chars, self.config.num_chars))

    def run_direction(
        self, direction: str, tokens: torch.Tensor, state: list[LayerState] | None = None
    ) -> tuple[list[torch.Tensor], list[LayerState]]:
        """One LM over token representations [B, T, D] (`embed_tokens`) in its reading order: every layer's output
        and the final state."""
        stack = self.forward_lm if direction == "forward" else self.backward_lm
        return stack(tokens, state)

    def token_nll(self, top: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Negative log-likelihood [B, T] of each target word under the full distribution over the vocabulary
        (the adaptive softmax is normalised too: its per-target value is exact, not a sampled estimate). In
        training the scores take the autocast precision (bf16 halves the largest matrix product's time); in
        evaluation they are computed in fp32, so perplexities are exact."""
        hidden = self.dropout(top).flatten(0, 1)
        flat = targets.flatten()
        if isinstance(self.softmax, nn.Linear):
            scores = self.softmax(hidden) if self.training else self._fp32_scores(hidden)
            nll = F.cross_entropy(scores.float(), flat, reduction="none")
        else:
            with torch.autocast(hidden.device.type, enabled=self.training and torch.is_autocast_enabled()):
                nll = -self.softmax(hidden if self.training else hidden.float(), flat).output
        return nll.view_as(targets)

    def _fp32_scores(self, hidden: torch.Tensor) -> torch.Tensor:
        with torch.autocast(hidden.device.type, enabled=False):
            return F.linear(hidden.float(), self.softmax.weight.float(), self.softmax.bias.float())

    def log_probs(self, top: torch.Tensor) -> torch.Tensor:
        """The full distribution over the vocabulary [..., V] (log-probabilities) after each position."""
        hidden = top.float()
        if isinstance(self.softmax, nn.Linear):
            return F.log_softmax(self._fp32_scores(hidden), dim=-1)
        with torch.autocast(hidden.device.type, enabled=False):
            return self.softmax.log_prob(hidden.flatten(0, -2)).view(*hidden.shape[:-1], -1)

    def sentence_layers(self, chars: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Contextual representations of sentences read on their own (no state from earlier text), as in
        ELMo: [num_output_layers, B, T, 2 * out] for chars [B, T, L] and mask [B, T]. With a token layer
        (`has_token_layer`) the first is the token encoder's output, twice, to the same width; then, for each
        LSTM layer, [forward layer k; backward layer k]. Both LMs
        first read the sentence boundary token, as they did between sentences in training; a sentence's
        vectors do not depend on the others in its batch (zero at padding). With `distinct_words` the character
        CNN reads each distinct word of the batch once (a batch has about half as many); without, every position
        (the ONNX graph: ONNX has no unique over rows), with the same result."""
        batch, steps = mask.shape
        lengths = mask.sum(dim=1)
        if chars.shape[-1] < len(self.boundary_chars):
            chars = F.pad(chars, (0, len(self.boundary_chars) - chars.shape[-1]))
        boundary = F.pad(self.boundary_chars, (0, chars.shape[-1] - len(self.boundary_chars))).expand(batch, 1, -1)
        sequence = torch.cat([boundary, chars], dim=1)  # [B, 1 + T, L]
        if self.distinct_words:
            distinct, inverse = torch.unique(sequence.flatten(0, 1), dim=0, return_inverse=True)
            tokens = self.embed_tokens(distinct)[inverse].view(batch, steps + 1, -1)  # [B, 1 + T, D]
        else:
            tokens = self.embed_tokens(sequence)
        start, words = tokens[:, :1], tokens[:, 1:]
        forward_layers, _ = self.forward_lm(tokens)
        backward_layers, _ = self.backward_lm(torch.cat([start, reverse_within_length(words, lengths)], dim=1))
        layers = [torch.cat([words, words], dim=-1)] if self.has_token_layer else []
        for forward, backward in zip(forward_layers, backward_layers, strict=True):
            layers.append(torch.cat([forward[:, 1:], reverse_within_length(backward[:, 1:], lengths)], dim=-1))
        return torch.stack(layers).masked_fill(~mask[None, :, :, None], 0.0)
