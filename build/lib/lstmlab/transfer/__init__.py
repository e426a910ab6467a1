"""SentEval-style transfer evaluation of sentence embeddings: task readers, the protocol, and its report."""
