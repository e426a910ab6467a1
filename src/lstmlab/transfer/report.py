"""The transfer report: one JSON document (every number and choice) and the table of the InferSent paper's Table 4
rendered from it, as text for the terminal and as Markdown."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from lstmlab.data.readers.senteval import TASKS
from lstmlab.transfer.evaluate import MAX_ITER, EvaluationSettings, TaskResult
from lstmlab.utils.atomic_file import atomic_file

PROTOCOL = ("accuracy in %: logistic regression on standardised features (SICK-E, MRPC: [u, v, |u-v|, u*v]); "
            "MRPC: accuracy/F1; SICK-R, STS-B: Pearson/Spearman of the embeddings' cosine similarity with the gold "
            "score (no training); see docs/transfer_protocol.md")


CLASSIFIER = f"StandardScaler + LogisticRegression(lbfgs, max_iter={MAX_ITER})"


def make_report(model: str, source: dict[str, str], dim: int, settings: EvaluationSettings,
                results: dict[str, TaskResult], seconds: float) -> dict:
    """The JSON document; `model` labels the table row, `source` says what was loaded from where."""
    tasks = {}
    for name, result in results.items():
        tasks[name] = {"title": TASKS[name].title, **asdict(result)}
    return {
        "model": model,
        "source": source,
        "dim": dim,
        "settings": {**asdict(settings), "classifier": CLASSIFIER},
        "tasks": tasks,
        "seconds": seconds,
        "protocol": PROTOCOL,
    }


def _cell(metrics: dict[str, float]) -> str:
    if "pearson" in metrics:
        return f"{metrics['pearson']:.3f}/{metrics['spearman']:.3f}"
    if "f1" in metrics:
        return f"{metrics['accuracy']:.1f}/{metrics['f1']:.1f}"
    return f"{metrics['accuracy']:.1f}"


def _columns(report: dict) -> tuple[list[str], list[str]]:
    """(headings, cells) of the results row, in the paper's column order."""
    names = [name for name in TASKS if name in report["tasks"]]
    return (["Model"] + [TASKS[name].title for name in names],
            [report["model"]] + [_cell(report["tasks"][name]["metrics"]) for name in names])


def text_table(report: dict) -> str:
    headings, cells = _columns(report)
    widths = [max(len(heading), len(cell)) for heading, cell in zip(headings, cells, strict=True)]

    def row(values: list[str]) -> str:
        padded = [value.rjust(width) for value, width in zip(values, widths, strict=True)]
        return "  ".join([values[0].ljust(widths[0]), *padded[1:]])

    return row(headings) + "\n" + row(cells)


def _sizes(sizes: dict[str, int]) -> str:
    return " / ".join(f"{count:,} {split}" for split, count in sizes.items())


def grid_edge_note(task: dict, grid: list[float]) -> str | None:
    """"C at the grid's edge in k of n folds", or None when every chosen C lies inside the grid."""
    edges = task["c_at_grid_edge"]
    if not any(edges.values()):
        return None
    sides = [f"{count} at its {side}, {min(grid) if side == 'lowest' else max(grid):g}"
             for side, count in edges.items() if count]
    return (f"{task['title']}: C at the grid's edge in {sum(edges.values())} of {len(task['chosen_c'])} "
            f"{'folds' if 'all' in task['sizes'] else 'choices'} ({'; '.join(sides)}): the best C may lie beyond "
            "the grid")


def markdown(report: dict) -> str:
    headings, cells = _columns(report)
    settings = report["settings"]
    lines = [
        "# Transfer evaluation", "",
        f"Model: `{report['model']}` ({report['dim']}-dimensional embeddings); "
        + ", ".join(f"{key}: `{value}`" for key, value in report["source"].items() if value != report["model"]),
        "",
        "| " + " | ".join(headings) + " |",
        "|" + "---|" + "---:|" * (len(headings) - 1),
        "| " + " | ".join(cells) + " |", "",
        PROTOCOL + ".", "",
        f"Seed {settings['seed']}; {settings['folds']}-fold cross-validation for MR, CR, SUBJ, MPQA; C from "
        f"{', '.join(f'{c:g}' for c in settings['c_grid'])}, chosen on dev (SST2, SICK-E) or by "
        f"{settings['inner_folds']}-fold cross-validation on the training data; "
        f"{report['seconds']:.0f} s in all.", "",
        "| task | result | examples | C chosen | lines skipped | seconds |",
        "|---|---:|---|---|---:|---:|",
    ]
    for name in (name for name in TASKS if name in report["tasks"]):
        task = report["tasks"][name]
        chosen = ", ".join(f"{c:g}" for c in task["chosen_c"]) or "-"
        lines.append(f"| {task['title']} | {_cell(task['metrics'])} | {_sizes(task['sizes'])} | {chosen} "
                     f"| {len(task['skipped'])} | {task['seconds']:.1f} |")
    notes = [grid_edge_note(report["tasks"][name], settings["c_grid"]) for name in TASKS if name in report["tasks"]]
    if any(notes):
        lines += ["", *(f"- {note}" for note in notes if note)]
    skipped = [line for task in report["tasks"].values() for line in task["skipped"]]
    if skipped:
        lines += ["", "Lines skipped: " + "; ".join(f"{s['path']}:{s['line']} ({s['reason']})" for s in skipped)]
    return "\n".join(lines) + "\n"


def write_report(report: dict, output_dir: Path) -> tuple[Path, Path]:
    """transfer.json and transfer.md in `output_dir` (created if needed)."""
    output_dir.mkdir(parents=True, exist_ok=True)
    for name, text in (("transfer.json", json.dumps(report, indent=2) + "\n"), ("transfer.md", markdown(report))):
        with atomic_file(output_dir / name) as temporary:
            temporary.write_text(text, encoding="utf-8")
    return output_dir / "transfer.json", output_dir / "transfer.md"
