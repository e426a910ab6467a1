"""Trained models turned into deployable files: `lstmlab-export --format onnx` (graphs, int8, the checks an export
must pass)."""
