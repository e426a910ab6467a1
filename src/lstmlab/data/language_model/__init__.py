"""Language-model data: `batches` (running-text windows for truncated BPTT, or sentences) and
`datamodule`."""
