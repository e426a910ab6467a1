"""lstmlab: classic recurrent NLP models (BiLSTM taggers, sentence encoders, biLMs), trained well and fast.

Layout: `cli/` the commands, `inference/` the Python APIs below, `tasks/` one LightningModule per task,
`models/` whole networks, `modules/` building blocks, `data/` readers and batching, `io/` model and export files.
"""

from lstmlab.inference import Elmo, ElmoOutput, SentenceEncoder, TaggedSentence, Tagger

__all__ = ["Elmo", "ElmoOutput", "SentenceEncoder", "Tagger", "TaggedSentence"]
__version__ = "0.3.0"
