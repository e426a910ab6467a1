"""The package's folders are its architecture: imports point one way, cli -> inference / tasks -> models -> modules,
with data, io and utils beside, and nothing imports the commands."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from conftest import ROOT

PACKAGE = ROOT / "src" / "lstmlab"
ALLOWED = {  # folder -> the folders its modules may import from
    "cli": {"callbacks", "data", "export", "inference", "io", "models", "modules", "runtime", "sweeps", "tasks",
            "transfer", "utils"},
    "inference": {"data", "io", "models", "modules", "runtime", "utils"},
    "runtime": {"data", "io"},  # no torch: the text pipeline, result types and the ONNX back end
    "tasks": {"callbacks", "data", "io", "models", "modules", "utils"},
    "models": {"data", "modules", "utils"},
    "modules": {"utils"},
    "data": {"transfer", "utils"},  # transfer.tasks holds SentEval's file readers, which the classifiers train on
    "transfer": {"data", "utils"},
    "io": {"utils"},
    "integrations": {"inference", "io", "models", "runtime", "utils"},  # other libraries' APIs around the inference
    "export": {"data", "inference", "io", "models", "modules", "runtime", "tasks", "transfer", "utils"},  # ONNX
    "callbacks": {"sweeps", "utils"},  # the Optuna pruning callback opens its study
    "sweeps": {"utils"},
    "utils": set(),
    "conf": set(),
    "__init__.py": {"inference", "runtime"},  # the package root re-exports the Python APIs
}


def imported_folders(path: Path) -> set[str]:
    """The lstmlab folders (or root modules) that a module imports from, its own excluded."""
    targets = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = [node.module] if isinstance(node, ast.ImportFrom) and node.module else []
        names += [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
        targets |= {name.split(".")[1] for name in names if name.startswith("lstmlab.")}
    return targets


def test_imports_point_one_way():
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        folder = path.relative_to(PACKAGE).parts[0]
        assert folder in ALLOWED, f"{path}: a new folder or root module; give it a place in ALLOWED"
        for target in sorted(imported_folders(path) - ALLOWED[folder] - {folder}):
            wrong.append(f"{path.relative_to(ROOT)} imports lstmlab.{target}")
    assert not wrong, "\n".join(wrong)


def test_the_package_root_holds_only_folders():
    assert sorted(path.name for path in PACKAGE.glob("*.py")) == ["__init__.py"]


def test_every_console_script_is_a_module_of_cli():
    tomllib = pytest.importorskip("tomllib", reason="tomllib is in the standard library from Python 3.11")
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    modules = {target.split(":")[0] for target in scripts.values()}
    assert all(module.startswith("lstmlab.cli.") for module in modules)
    assert modules <= {f"lstmlab.cli.{path.stem}" for path in (PACKAGE / "cli").glob("*.py")}
