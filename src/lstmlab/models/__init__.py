"""Whole networks, one per file, each built from `lstmlab.modules` blocks and testable without Lightning. Each is a
`Network`: built from one config dataclass (hyperparameters, documented field by field), saved and loaded through it.

- `BiLSTMTagger` (`TaggerConfig`): a BiLSTM part-of-speech tagger, softmax or CRF, optionally on a biLM's layers.
- `NLIClassifier` (`NLIConfig`): InferSent's NLI network; its sentence encoder is what `SentenceEncoder` keeps.
- `SequenceClassifier` (`ClassifierConfig`): one label per sentence (SST, TREC, ...) from a sentence encoder.
- `BiLanguageModel` (`BiLMConfig`): the ELMo-style bidirectional language model behind `Elmo`.
- `build_encoder` (`RecurrentOptions`): the sentence encoders (InferSent's BiLSTM-max, ...) the two classifiers
  share, by name (`ENCODERS`).
"""

from lstmlab.models.bilm import BiLanguageModel, BiLMConfig
from lstmlab.models.bilstm_tagger import BiLSTMTagger, TaggerConfig
from lstmlab.models.network import Network
from lstmlab.models.nli_classifier import NLIClassifier, NLIConfig
from lstmlab.models.sentence_encoders import ENCODERS, RecurrentOptions, SentenceEncoderModule, build_encoder
from lstmlab.models.sequence_classifier import ClassifierConfig, SequenceClassifier

__all__ = ["ENCODERS", "BiLMConfig", "BiLSTMTagger", "BiLanguageModel", "ClassifierConfig", "NLIClassifier",
           "NLIConfig", "Network", "RecurrentOptions", "SentenceEncoderModule", "SequenceClassifier", "TaggerConfig",
           "build_encoder"]
