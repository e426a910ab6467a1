"""Where the data modules named by configs saved before data/ was sorted by role now live, so that such a run's saved
data config still instantiates: `lstmlab-eval` tests a run on the data config it was trained with (its
.hydra/config.yaml), which names its data module by import path."""

from __future__ import annotations

MOVED_MODULES = {  # module path in saved configs -> today's
    "lstmlab.data.tagging_datamodule": "lstmlab.data.tagging.datamodule",
    "lstmlab.data.nli_datamodule": "lstmlab.data.nli.datamodule",
    "lstmlab.data.classification_datamodule": "lstmlab.data.classification.datamodule",
    "lstmlab.data.long_memory": "lstmlab.data.classification.long_memory",
    "lstmlab.data.lm_datamodule": "lstmlab.data.language_model.datamodule",
}


def current_target(target: str) -> str:
    """A `_target_` with a moved module replaced by its current path; any other target as it is."""
    module, _, name = target.rpartition(".")
    return f"{MOVED_MODULES[module]}.{name}" if module in MOVED_MODULES else target
