"""Sentence classification data: `sources` (TSV files, SentEval's single-sentence tasks),
`labelled_sentences` (an encoded split), `datamodule`, and `long_memory` (the synthetic long-lag task)."""
