"""Natural language inference data: `sources` (files and hub datasets of sentence pairs), `pair_split` (encoded
pairs and their batches), `datamodule`."""
