"""Parse a local data file once into a cached `datasets.Dataset` (Arrow), whatever its format.

The cache is keyed by the file (path, size, mtime), by the reader's options, and by the source of every module
whose code the reader can run (`code_fingerprint`: the reader, the tokenizer it looks up, the line reading, the
error type, ...), so an edited file or any changed code under the reader is parsed again, and nothing else is.
`datasets` alone would not do it: it hashes a module-level function by its name, not by its code.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import sys
import types
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

import datasets

from lstmlab.data.errors import DataFormatError

Reader = Callable[..., Iterator[dict]]
_OWN_PACKAGE = __name__.partition(".")[0]
_LIBRARY_FOLDERS = {"site-packages", "dist-packages"}


def code_fingerprint(*entry_points: object) -> str:
    """A digest of the source of every module of the project (lstmlab, or a user's own code) whose functions or
    classes `entry_points` can reach: through the names their code uses (module globals, `module.attribute`),
    closures, defaults, and the values of containers such as a table of tokenizers. A whole module's source is
    hashed rather than a function's, since its constants (the tokenizer's regexes and word lists) are part of what
    the function does; the names of the functions reached are hashed too, so a table that switches to another
    function of the same module changes it. The standard library and installed third-party packages are not
    followed."""
    reached = _reachable_code(entry_points)
    sources: dict[str, str] = {}
    for item in reached:
        module = inspect.getmodule(item)
        if module.__name__ in sources:
            continue
        try:
            sources[module.__name__] = inspect.getsource(module)
        except (OSError, TypeError):  # a module without a source file (a notebook's __main__): the item's own source
            sources[f"{module.__name__}:{item.__qualname__}"] = inspect.getsource(item)
    digest = hashlib.sha256()
    digest.update(" ".join(sorted(f"{item.__module__}:{item.__qualname__}" for item in reached)).encode())
    for name in sorted(sources):
        digest.update(f"{name}\0{sources[name]}\0".encode())
    return digest.hexdigest()[:16]


def _is_project_code(item: object) -> bool:
    """Whether `item` is a function or class defined in lstmlab or in a user's module (not a library's)."""
    module = inspect.getmodule(item)
    if module is None:
        return False
    top = module.__name__.partition(".")[0]
    if top == _OWN_PACKAGE or top == "__main__":
        return True
    file = getattr(module, "__file__", None)
    return (file is not None and top not in sys.stdlib_module_names
            and not _LIBRARY_FOLDERS.intersection(Path(file).parts))


def _reachable_code(entry_points: Iterable[object]) -> list[types.FunctionType | type]:
    """Every project function and class that `entry_points` can reach (see `code_fingerprint`)."""
    found: list[types.FunctionType | type] = []
    seen: dict[int, object] = {}  # by id, holding each object so that its id is not reused
    pending = list(entry_points)
    while pending:
        item = pending.pop()
        if id(item) in seen:
            continue
        seen[id(item)] = item
        if isinstance(item, functools.partial):
            pending += [item.func, *item.args, *item.keywords.values()]
        elif isinstance(item, dict):
            pending += item.values()
        elif isinstance(item, list | tuple | set | frozenset):
            pending += item
        elif isinstance(item, types.FunctionType | type) and _is_project_code(item):
            found.append(item)
            pending += _class_parts(item) if isinstance(item, type) else _function_parts(item)
        elif hasattr(item, "__func__") or hasattr(item, "__wrapped__"):  # methods, static/class methods, decorated
            pending.append(getattr(item, "__func__", None) or item.__wrapped__)
    return found


def _class_parts(cls: type) -> list[object]:
    return [*cls.__bases__, *vars(cls).values()]


def _function_parts(function: types.FunctionType) -> list[object]:
    """What a function's code can call: the globals and module attributes its code names (nested functions and
    comprehensions included), its closure and its defaults."""
    names: set[str] = set()
    codes = [function.__code__]
    while codes:
        code = codes.pop()
        names.update(code.co_names)
        codes += [constant for constant in code.co_consts if isinstance(constant, types.CodeType)]
    named = [function.__globals__[name] for name in names if name in function.__globals__]
    attributes = [getattr(module, name) for module in named if isinstance(module, types.ModuleType)
                  for name in names if hasattr(module, name)]
    closure = [cell.cell_contents for cell in function.__closure__ or () if cell.cell_contents is not None]
    defaults = [*(function.__defaults__ or ()), *(function.__kwdefaults__ or {}).values()]
    return [*named, *attributes, *closure, *defaults]


def _generate(reader: Reader, path: str, reader_options: dict, file_key: str, reader_key: str) -> Iterator[dict]:
    """Examples of one file; `file_key` and `reader_key` are unused here but key the datasets cache."""
    yield from reader(path, **reader_options)


def _file_key(files: Sequence[Path]) -> str:
    return ";".join(f"{file.resolve()}:{file.stat().st_size}:{file.stat().st_mtime_ns}" for file in files)


def cached_parse(
    reader: Reader, path: str | Path, reader_options: dict, features: datasets.Features, cache_dir: str | None,
    files: Sequence[Path] | None = None,
) -> datasets.Dataset:
    """`reader(path, **reader_options)`'s examples as a Dataset. `files` are what the reader reads (default: the
    file `path`). A reader's DataFormatError (file, line, what was expected) or FileNotFoundError reaches the
    caller as itself, not wrapped by `datasets`."""
    file_key = _file_key(files if files is not None else [Path(path)])
    try:
        return datasets.Dataset.from_generator(
            _generate,
            gen_kwargs={
                "reader": reader, "path": str(path), "reader_options": reader_options,
                "file_key": file_key,
                "reader_key": code_fingerprint(reader),
            },
            cache_dir=cache_dir,
            features=features,
        )
    except datasets.exceptions.DatasetGenerationError as error:
        cause = error.__cause__ or error.__context__
        if isinstance(cause, DataFormatError | FileNotFoundError):
            raise cause from None
        raise
