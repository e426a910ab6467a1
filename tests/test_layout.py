"""The package's folders are its architecture: imports point one way, cli -> inference / tasks -> models -> modules,
with data, io and utils beside, and nothing imports the commands."""

from __future__ import annotations

import ast
import re
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
    "data": {"utils"},
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


DATA_ROLES = {  # data/ sub-package -> the data/ sub-packages (or root modules) it may import from
    "readers": {"errors.py", "locations.py", "text_files.py", "tokenization"},
    "tokenization": {"errors.py", "text_files.py"},
    "vocab": {"errors.py", "text_files.py", "readers", "batching"},
    "batching": {"errors.py"},
    "text_files.py": {"errors.py"},
    "datamodule.py": {"batching", "vocab"},
    "locations.py": set(),
    "moved_targets.py": set(),
    "errors.py": set(),
    "__init__.py": set(),
}
# every other folder of data/ is one task's data (tagging/, nli/, ...): the roles above, never another task's folder
TASK_DATA = {"errors.py", "locations.py", "text_files.py", "readers", "tokenization", "vocab", "batching",
             "datamodule.py"}


def imported_data_parts(path: Path) -> set[str]:
    """The data/ sub-packages and root modules that a module imports from."""
    parts = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = [node.module] if isinstance(node, ast.ImportFrom) and node.module else []
        names += [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
        for name in names:
            pieces = name.split(".")
            if pieces[:2] == ["lstmlab", "data"] and len(pieces) > 2:
                parts.add(pieces[2] if (PACKAGE / "data" / pieces[2]).is_dir() else pieces[2] + ".py")
    return parts


def test_data_is_by_role_and_no_task_reads_another_tasks_data():
    wrong = []
    for path in sorted((PACKAGE / "data").rglob("*.py")):
        part = path.relative_to(PACKAGE / "data").parts[0]
        assert part in DATA_ROLES or path.parent != PACKAGE / "data", f"{path}: give a new data/ module a role"
        for target in sorted(imported_data_parts(path) - DATA_ROLES.get(part, TASK_DATA) - {part}):
            wrong.append(f"{path.relative_to(ROOT)} imports lstmlab.data.{target.removesuffix('.py')}")
    assert not wrong, "\n".join(wrong)


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def module_imports(path: Path, modules: set[str]) -> set[str]:
    """The package's modules that `path` imports at module level (imports inside functions are lazy on purpose)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in tree.body:
        names = [node.module] if isinstance(node, ast.ImportFrom) and node.module else []
        names += [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
        if isinstance(node, ast.ImportFrom) and node.module:
            names += [f"{node.module}.{alias.name}" for alias in node.names]
        found |= {name for name in names if name in modules}
    return found


def test_no_import_circle():
    paths = {module_name(path): path for path in PACKAGE.rglob("*.py")}
    graph = {name: module_imports(path, set(paths)) - {name} for name, path in paths.items()}
    circles, state = [], {}

    def visit(name: str, trail: list[str]) -> None:
        state[name] = "open"
        for target in sorted(graph[name]):
            if state.get(target) == "open":
                circles.append(" -> ".join([*trail[trail.index(target):], target]))
            elif target not in state:
                visit(target, [*trail, target])
        state[name] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    # a package importing its own modules (a façade) is not a circle
    circles = [c for c in circles if not any(c.startswith(f"{p} -> {p}.") for p in graph)]
    assert not circles, "\n".join(circles)


# commands of one model family, which name it as lstmlab-tag names its Tagger: the rule below is for the rest
FAMILY_COMMANDS = {
    "cli/grad_flow.py": "lstmlab-grad-flow: the long-memory classifier's figure, built from untrained classifiers",
}


def task_names(path: Path, kinds: set[str], task_modules: set[str]) -> list[str]:
    """Where a module names a model kind (a string equal to one) or imports a network (lstmlab.models) or a
    concrete task's module."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Constant) and node.value in kinds:
            found.append(f"line {node.lineno}: the model kind {node.value!r}")
        names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
        if isinstance(node, ast.ImportFrom) and node.module:
            names += [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        imported = [name for name in names
                    if name in task_modules or name == "lstmlab.models" or name.startswith("lstmlab.models.")]
        found += [f"line {node.lineno}: imports {imported[0]}"] if imported else []
    return found


def test_cli_and_io_name_no_task():
    """Adding a task edits no entry point: cli/ and io/ name no model kind and import no network or concrete task;
    cli/ reaches tasks through `lstmlab.tasks` (load_task, task_class, card_details) and `lstmlab.tasks.base`."""
    from lstmlab.tasks import known_tasks

    tasks = known_tasks()
    kinds = set(tasks)
    task_modules = {task.__module__ for task in tasks.values()}
    assert {"tagger", "nli", "bilm", "classifier"} <= kinds and "lstmlab.tasks.tagging" in task_modules
    wrong = []
    for path in sorted([*(PACKAGE / "cli").glob("*.py"), *(PACKAGE / "io").glob("*.py")]):
        if str(path.relative_to(PACKAGE)) not in FAMILY_COMMANDS:
            wrong += [f"{path.relative_to(ROOT)}, {where}" for where in task_names(path, kinds, task_modules)]
    assert not wrong, "\n".join(wrong)


def test_the_architecture_page_states_the_import_rules_this_file_enforces():
    """docs/architecture.md's table of import rules is ALLOWED, folder for folder: the map cannot drift."""
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `(\w+)` \|([\w, ]*)\|$", text, re.M)
    documented = {folder: {name.strip() for name in allowed.split(",") if name.strip()} for folder, allowed in rows}
    enforced = {folder: allowed for folder, allowed in ALLOWED.items() if folder not in ("conf", "__init__.py")}
    assert documented == enforced
