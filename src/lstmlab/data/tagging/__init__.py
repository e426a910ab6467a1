"""Sequence tagging data: `sources` (CoNLL-U, columns, JSON lines, the hub), `split` (encoded sentences and
their padded batches), `datamodule`."""
