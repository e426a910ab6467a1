"""The ONNX runtime: exported models (`lstmlab-export --format onnx`) loaded and run with numpy and ONNX Runtime, no
torch, behind the calls of `lstmlab.inference`: `Tagger.load(folder).predict(...)`,
`SentenceEncoder.load(folder).encode(...)`, `Elmo.load(folder)(...)`. Results are numpy arrays where PyTorch's are
tensors. `pip install lstmlab-runtime` installs this part alone."""

from lstmlab.runtime.elmo import Elmo
from lstmlab.runtime.elmo_output import ElmoOutput
from lstmlab.runtime.sentence_encoder import SentenceEncoder
from lstmlab.runtime.tagged_sentence import TaggedSentence
from lstmlab.runtime.tagger import Tagger

__all__ = ["Elmo", "ElmoOutput", "SentenceEncoder", "TaggedSentence", "Tagger"]
