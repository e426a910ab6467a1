"""lstmlab: classic recurrent NLP models (BiLSTM taggers, sentence encoders, biLMs), trained well and fast."""

from lstmlab.tagger import TaggedSentence, Tagger

__all__ = ["Tagger", "TaggedSentence"]
__version__ = "0.1.0"
