"""Tasks (LightningModules), found by their model `kind`: every module in this package is imported once, and
each Task subclass that declares a `kind` registers itself. A new task is a new file here.

`base` (the protocol the entry points use), `tagging` (TaggingTask), `nli` (NLITask), `language_model`
(LanguageModelTask), `classification` (ClassificationTask), `optimizers` (the configured optimizer, with the fused
kernel's fallbacks), `evaluation_report` (per-label scores and the confusion matrix of lstmlab-eval)."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

from lstmlab.io.model_card import CardDetails, generic_card
from lstmlab.io.model_folder import ModelFileError, load_model_file
from lstmlab.tasks.base import TASKS, Task


def known_tasks() -> dict[str, type[Task]]:
    """Every task of this package by its kind (each module imported once; `TASKS` fills as they are)."""
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")
    return TASKS


def task_class(kind: str) -> type[Task]:
    if kind not in known_tasks():
        raise ModelFileError(f"unknown model kind {kind!r}; this lstmlab knows {sorted(TASKS)}")
    return TASKS[kind]


def load_task(path: str | Path, kind: str | None = None) -> Task:
    """The task of any saved model (run directory, export folder, checkpoint), ready for evaluation."""
    payload, state = load_model_file(path, kind)
    return task_class(payload["kind"]).from_payload(payload, state)


def card_details(kind: str, config: dict | None = None) -> CardDetails:
    """What the model card of a `kind` model trained with `config` says: its task's details, or a generic card's
    for a kind this lstmlab has no task for (a folder written by a newer lstmlab still gets a card)."""
    task = known_tasks().get(kind)
    return task.card_details(config) if task else generic_card(kind)


__all__ = ["Task", "card_details", "load_task", "task_class"]
