"""SentEval-style transfer evaluation of sentence embeddings: `evaluate` (the protocol: similarity and logistic
regression on the embeddings) and `report` (JSON and the InferSent paper's table). The task files' readers are
`lstmlab.data.readers.senteval`."""
