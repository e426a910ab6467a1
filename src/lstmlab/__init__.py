"""lstmlab: classic recurrent NLP models (BiLSTM taggers, sentence encoders, biLMs), trained well and fast."""

from lstmlab.elmo import Elmo, ElmoOutput
from lstmlab.sentence_encoder import SentenceEncoder
from lstmlab.tagger import TaggedSentence, Tagger

__all__ = ["Elmo", "ElmoOutput", "SentenceEncoder", "Tagger", "TaggedSentence"]
__version__ = "0.1.0"
