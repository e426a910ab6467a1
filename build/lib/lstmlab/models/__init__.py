"""Whole networks, one per file, each built from `lstmlab.modules` blocks and testable without Lightning."""

from lstmlab.models.bilstm_tagger import BiLSTMTagger, TaggerConfig

__all__ = ["BiLSTMTagger", "TaggerConfig"]
