"""BiLSTM sequence tagger: [word embedding; char encoder] -> BiLSTM -> softmax or CRF (Plank et al. 2016;
Lample et al. 2016; Ma & Hovy 2016).

Optionally with a trained biLM as frozen features (ELMo, Peters et al. 2018): its layers, mixed by a learned
`ScalarMix`, join the BiLSTM's input, as ELMo adds them to taggers. The biLM's config and weights are part of the
tagger, so a saved tagger is used without the biLM's run.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from lstmlab.data.tagging.split import TAG_PADDING
from lstmlab.models.bilm import BiLanguageModel, BiLMConfig
from lstmlab.models.network import Network
from lstmlab.modules.char_cnn import CharCNN
from lstmlab.modules.char_lstm import CharLSTM
from lstmlab.modules.crf import CRF
from lstmlab.modules.dropout import Dropout
from lstmlab.modules.masked_rnn import MaskedRNN
from lstmlab.modules.scalar_mix import ScalarMix
from lstmlab.modules.word_embedding import WordEmbedding


@dataclass
class TaggerConfig:
    num_words: int  # word vocabulary size, from the data module (<pad>, <unk>, training words, vectors-only words)
    num_chars: int  # character vocabulary size, from the data module
    num_tags: int  # tag vocabulary size, from the data module
    word_dim: int = 50  # word vector width; must match the vectors file when the data has one
    char_encoder: str = "cnn"  # "cnn", "lstm" or "none"
    char_dim: int = 30  # character embedding width
    char_filters: list[list[int]] = field(default_factory=lambda: [[3, 50]])  # CNN: [width, count] pairs
    char_boundaries: bool = False  # CNN: learned begin/end-of-word vectors, so that filters see prefixes and suffixes
    char_highway: int = 0  # CNN: highway layers over the pooled filters (Kim et al. 2016), which combine affixes
    char_hidden_size: int = 50  # char LSTM, per direction
    hidden_size: int = 256  # BiLSTM units per layer and direction
    num_layers: int = 2  # stacked recurrent layers
    cell: str = "lstm"  # rnn | gru | lstm
    bidirectional: bool = True  # false: left to right only
    peephole: bool = False  # LSTM variant: the gates also read the cell state (Gers & Schmidhuber 2000)
    coupled_gates: bool = False  # LSTM variant: input gate = 1 - forget gate
    chrono_init: int | None = None  # gate biases for memories of up to this many steps (LSTM, GRU)
    dropout: float = 0.33  # probability, on the BiLSTM's input, between its layers and on its output
    word_dropout: float = 0.05  # probability that a word is read as <unk> while training (chars still seen)
    use_crf: bool = False  # a CRF over the tag scores, Viterbi decoding; false: per-token softmax
    trainable_words: int | None = None  # rows from this one on (words only the vectors file has) stay frozen
    bilm: dict | None = None  # a trained biLM's net config: its frozen, scalar-mixed layers join the BiLSTM input
    aux_tags: dict[str, int] = field(default_factory=dict)  # training-only heads: {column: its values}, from the data
    aux_weight: float = 1.0  # each auxiliary head's loss, against the main tags' weight of 1

    def __post_init__(self) -> None:
        # plain lists (not Hydra's ListConfig) so the config saves to JSON and loads with weights_only=True
        self.char_filters = [[int(width), int(count)] for width, count in self.char_filters]


class BiLSTMTagger(Network, kind="tagger", config_type=TaggerConfig):
    def __init__(self, config: TaggerConfig) -> None:
        super().__init__(config)
        self.words = WordEmbedding(config.num_words, config.word_dim, word_dropout=config.word_dropout,
                                   trainable_rows=config.trainable_words)
        if config.char_encoder == "cnn":
            self.chars = CharCNN(config.num_chars, config.char_dim, config.char_filters,
                                 highway_layers=config.char_highway, boundaries=config.char_boundaries)
        elif config.char_encoder == "lstm":
            self.chars = CharLSTM(config.num_chars, config.char_dim, config.char_hidden_size)
        elif config.char_encoder != "none":
            raise ValueError(f"char_encoder must be 'cnn', 'lstm' or 'none', got {config.char_encoder!r}")
        char_dim = self.chars.output_dim if config.char_encoder != "none" else 0
        self.bilm = None
        if config.bilm is not None:
            self.bilm = BiLanguageModel(BiLMConfig(**config.bilm)).requires_grad_(False).eval()
            self.bilm_mix = ScalarMix(self.bilm.num_output_layers)
            # the biLM's char id of each of this tagger's char ids (filled from both vocabularies when built)
            self.register_buffer("bilm_chars", torch.zeros(config.num_chars, dtype=torch.long))
        bilm_dim = self.bilm.output_dim if self.bilm is not None else 0
        self.dropout = Dropout(config.dropout)
        self.encoder = MaskedRNN(config.word_dim + char_dim + bilm_dim, config.hidden_size, config.num_layers,
                                 config.dropout, config.cell, config.bidirectional, config.peephole,
                                 config.coupled_gates, chrono_init=config.chrono_init)
        self.output = nn.Linear(self.encoder.output_dim, config.num_tags)
        self.crf = CRF(config.num_tags) if config.use_crf else None
        # multi-task learning (Plank et al. 2016): predicting morphology (FEATS) from the same states teaches the
        # BiLSTM what affixes mean; the heads only add a training loss, tagging and its exports never run them
        self.aux_outputs = nn.ModuleDict({column: nn.Linear(self.encoder.output_dim, size)
                                          for column, size in config.aux_tags.items()})

    def train(self, mode: bool = True) -> BiLSTMTagger:
        """The biLM stays in evaluation mode (no dropout) while the tagger trains: it is a fixed feature extractor."""
        super().train(mode)
        if self.bilm is not None:
            self.bilm.eval()
        return self

    def bilm_features(self, chars: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The biLM's layers for this batch (tagger char ids [B, T, L]), mixed: [B, T, bilm.output_dim]."""
        with torch.no_grad():
            layers = self.bilm.sentence_layers(self.bilm_chars[chars], mask)
        return self.bilm_mix(layers)

    def states(self, words: torch.Tensor, chars: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The BiLSTM's states [B, T, encoder.output_dim], which the tag scores and the auxiliary heads read."""
        features = [self.words(words)]
        if self.config.char_encoder != "none":
            features.append(self.chars(chars))
        if self.bilm is not None:
            features.append(self.bilm_features(chars, mask))
        return self.encoder(self.dropout(torch.cat(features, dim=-1)), mask)

    def emissions(self, states: torch.Tensor) -> torch.Tensor:
        """Tag scores [B, T, num_tags] from `states`."""
        return self.output(self.dropout(states))

    def forward(self, words: torch.Tensor, chars: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Tag scores (emissions) [B, T, num_tags]."""
        return self.emissions(self.states(words, chars, mask))

    def aux_loss(self, states: torch.Tensor, targets: dict[str, torch.Tensor]) -> torch.Tensor:
        """The auxiliary heads' per-token cross-entropy, each weighted by `aux_weight`, summed (targets [B, T] by
        column, TAG_PADDING where there is nothing to learn)."""
        dropped = self.dropout(states)
        return self.config.aux_weight * sum(token_cross_entropy(self.aux_outputs[column](dropped), target)
                                            for column, target in targets.items())

    def loss(self, emissions: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Mean per-token negative log-likelihood (CRF: sequence NLL summed, divided by the token count)."""
        if self.crf is None:
            return token_cross_entropy(emissions, tags)
        return self.crf.negative_log_likelihood(emissions, tags, mask).sum() / mask.sum()

    def decode(self, emissions: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Best tag ids [B, T]: per-token argmax, or Viterbi with the CRF."""
        if self.crf is None:
            return emissions.argmax(dim=-1).masked_fill(~mask, 0)
        return self.crf.decode(emissions, mask)


def token_cross_entropy(scores: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy of scores [B, T, C] against targets [B, T] over the positions that are not TAG_PADDING
    (in fp32, whatever the autocast precision)."""
    return F.cross_entropy(scores.flatten(0, 1).float(), targets.flatten(), ignore_index=TAG_PADDING)
