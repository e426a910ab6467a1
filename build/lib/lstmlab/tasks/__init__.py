"""Tasks (LightningModules), found by their model `kind`: every module in this package is imported once, and
each Task subclass that declares a `kind` registers itself. A new task is a new file here."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

from lstmlab.io.model_folder import ModelFileError, load_model_file
from lstmlab.tasks.base import TASKS, Task


def task_class(kind: str) -> type[Task]:
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")
    if kind not in TASKS:
        raise ModelFileError(f"unknown model kind {kind!r}; this lstmlab knows {sorted(TASKS)}")
    return TASKS[kind]


def load_task(path: str | Path, kind: str | None = None) -> Task:
    """The task of any saved model (run directory, export folder, checkpoint), ready for evaluation."""
    payload, state = load_model_file(path, kind)
    return task_class(payload["kind"]).from_payload(payload, state)


__all__ = ["Task", "load_task", "task_class"]
