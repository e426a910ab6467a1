"""Everything between a data file and a padded batch, by role:

- `readers/`: one file format each (CoNLL-U, column files, NLI pairs, plain text, word vectors, SentEval's task
  files), yielding plain examples and raising `DataFormatError` with the file and line on bad input;
- `tokenization/`: the raw-text tokenizer and its scoring against gold tokens;
- `vocab/`: vocabularies built from training data, token encoding, pretrained vectors matched to a vocabulary;
- `batching/`: the Arrow cache of parsed files, ragged storage, length-bucketed resumable samplers;
- `tagging/`, `nli/`, `classification/`, `language_model/`: each task's data module with its sources and splits;
- `datamodule.py`: the LightningDataModule those build on; `text_files.py`: reading any data file's lines;
  `locations.py`: where data is found; `errors.py`: the error every reader raises; `moved_targets.py`: the old
  import paths of data modules that saved run configs name.

Sub-packages import nothing at package level: the torch-free runtime reads `vocab/` and `tokenization/`.
"""
