"""Trained models turned into deployable files (`lstmlab-export --format onnx`): `onnx_graphs` (each kind's graph,
one ONNX operator per recurrent layer), `onnx_export` (the folder: graph, int8, manifest, card), `onnx_checks` (what
an export must match of the PyTorch model before it is written) and `check_data` (the sentences it is checked on)."""
