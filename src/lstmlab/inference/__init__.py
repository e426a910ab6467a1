"""The public Python APIs of trained models, each loaded from a run directory, an export folder or a checkpoint:
`Tagger` (part-of-speech tags), `SentenceEncoder` (sentence vectors), `Elmo` (contextual word vectors)."""

from lstmlab.inference.elmo import Elmo, ElmoOutput
from lstmlab.inference.sentence_encoder import SentenceEncoder
from lstmlab.inference.tagger import TaggedSentence, Tagger

__all__ = ["Elmo", "ElmoOutput", "SentenceEncoder", "TaggedSentence", "Tagger"]
