"""Files lstmlab writes and reads back, each written whole or not at all: `model_folder` (safetensors + config +
format version; loading any saved model, older formats upgraded), `checkpoint_upgrade` (the same upgrades for
Lightning checkpoints being resumed), `model_card` (README.md with the Hub's metadata, from a task's `CardDetails`),
`hub` (models by Hub id, and the push), `st_files` (a sentence-transformers folder's files), `export_names` and
`model_errors` (what export folders hold, and the errors of a wrong file), `embedding_writers` (.npy, .h5,
.parquet), `elmo_hdf5` and `hdf5_output` (ELMo's HDF5 layout). No module here names a task."""
