"""Vocabularies and encodings: `vocab` (a typed string <-> id map), `text_vocabs` (words, characters, labels
and the encoding of token sequences), `pretrained_vectors` (word vectors matched to a vocabulary)."""
