"""The errors of model files, apart from the code that reads them: the torch-free runtime and the commands raise and
catch them too."""

from __future__ import annotations


class ModelFileError(ValueError):
    """A model file that cannot be used here: missing, damaged, of another model kind, or of a format this lstmlab
    does not read."""


class WrongModelKind(ModelFileError):
    """A readable model of another kind than the one asked for (a tagger given to SentenceEncoder)."""


class NotAnExportFolder(ModelFileError):
    """A save aimed at a file, or at a folder of other files than an lstmlab export: refused, since writing there
    could mix a model into (or, replacing the folder, delete) what a user keeps."""
