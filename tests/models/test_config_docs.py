"""The hyperparameters are documented where users read them, one line each: every field of the config dataclasses
has a comment in its source, and every key of `model.net` in conf/model/*.yaml one beside it."""

from __future__ import annotations

import dataclasses
import inspect
import re

import pytest
from conftest import CONF_DIR

from lstmlab.data.vocab.pretrained_vectors import PretrainedVectors
from lstmlab.models import BiLMConfig, ClassifierConfig, NLIConfig, RecurrentOptions, TaggerConfig
from lstmlab.modules.recurrent_cells import CellOptions

CONFIGS = [TaggerConfig, NLIConfig, BiLMConfig, ClassifierConfig, RecurrentOptions, CellOptions, PretrainedVectors]


def comment_of(lines: list[str], name: str) -> str | None:
    """The comment of the field `name`: at the end of its line, or the comment lines just above it."""
    (number,) = [n for n, line in enumerate(lines) if re.match(rf"\s+{name}:", line)]
    if "  # " in lines[number]:
        return lines[number].split("  # ", 1)[1]
    above = [line.strip() for line in lines[:number]]
    return above[-1][2:] if above[-1].startswith("# ") else None


@pytest.mark.parametrize("config", CONFIGS, ids=lambda config: config.__name__)
def test_every_field_of_a_config_dataclass_says_what_it_is(config):
    lines = inspect.getsource(config).splitlines()
    undocumented = [field.name for field in dataclasses.fields(config) if not comment_of(lines, field.name)]
    assert not undocumented, f"{config.__name__}: no comment for {undocumented}"


@pytest.mark.parametrize("path", sorted((CONF_DIR / "model").glob("*.yaml")), ids=lambda path: path.name)
def test_every_network_key_of_a_model_config_has_a_comment(path):
    lines = path.read_text(encoding="utf-8").splitlines()
    start = lines.index("net:") + 1
    block = lines[start: next((n for n in range(start, len(lines)) if re.match(r"\S", lines[n])), len(lines))]
    keys = [line for line in block if re.match(r"  \w+:", line) and not line.startswith("  _target_:")]
    assert keys and [line for line in keys if " # " not in line] == []
