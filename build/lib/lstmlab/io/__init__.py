"""Files lstmlab writes and reads back: model folders (safetensors + config + format version), sentence-embedding
files (.npy, .h5, .parquet) and ELMo's HDF5 export. Every writer makes its file appear whole or not at all."""
