"""File readers, one format each, on `data.text_files`' lines: `conllu`, `columns`, `nli` (JSON lines, TSV,
InferSent's files), `text_corpus`, `word_vectors` (GloVe/word2vec/fastText text) and `senteval` (SentEval's
transfer-task files). Each names the file and line of bad input."""
