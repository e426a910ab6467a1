"""A benchmark's printed result: what ran (the command), where (the CPU model and flags, the load average) and when,
then one Markdown table; `--save` keeps the same under bench/results/ (.md, and .json with the rows)."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import Any

from machine import load_average

from lstmlab.utils.cpu import describe_cpu

RESULTS = Path(__file__).resolve().parent / "results"
COLUMNS = ("family", "what", "precision", "speed", "ratio", "padding")
Row = dict[str, Any]


NUMBERS = frozenset({"speed", "ratio", "padding"})  # right-aligned columns


def table(rows: list[Row], columns: tuple[str, ...] = COLUMNS) -> list[str]:
    lines = ["| " + " | ".join("measurement" if key == "what" else key for key in columns) + " |",
             "|" + "|".join("---:" if key in NUMBERS else "---" for key in columns) + "|"]
    lines += ["| " + " | ".join(str(row.get(key, "")) for key in columns) + " |" for row in rows]
    return lines


def heading(seconds: float, load_before: str, note: str = "") -> list[str]:
    """The command, the date and how long it took (`note` added), the CPU, the load average at start and end."""
    command = " ".join(["python", Path(sys.argv[0]).as_posix(), *sys.argv[1:]])
    return [f"`{command}`; {date.today()}; {seconds:.0f} s in all{note}", f"CPU: {describe_cpu()}",
            f"load average (1/5/15 min): {load_before} at start, {load_average()} at end"]


def report(rows: list[Row], seconds: float, load_before: str, note: str = "",
           columns: tuple[str, ...] = COLUMNS) -> list[str]:
    """The heading lines and the table; `note` is added to the first line (what took how long)."""
    return [*heading(seconds, load_before, note), "", *table(rows, columns)]


def show(name: str, lines: list[str], rows: list[Row], save: bool) -> None:
    """Print the report; with `save`, also write bench/results/<name>.md and .json."""
    print("\n" + "\n".join(lines))
    if save:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / f"{name}.md").write_text("\n".join(lines) + "\n")
        (RESULTS / f"{name}.json").write_text(json.dumps({"report": lines[:3], "rows": rows, "cpu": describe_cpu(),
                                                          "date": str(date.today())}, indent=1))
