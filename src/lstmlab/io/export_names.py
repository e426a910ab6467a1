"""The files of an export folder, named once for the PyTorch side (which writes and reads them) and the torch-free
runtime (which reads the ONNX ones)."""

WEIGHTS_FILE = "model.safetensors"  # a PyTorch export's weights (and, in its header, the model description)
CONFIG_FILE = "config.json"  # the model description, for people and tools that read JSON
GRAPH_FILE = "model.onnx"  # an ONNX export's graph (and, in its metadata, the manifest)
