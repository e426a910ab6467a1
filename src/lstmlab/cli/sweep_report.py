"""`lstmlab-sweep-report <sweep folder>`: one report of a Hydra multirun, a grid (`lstmlab-train -m ...`) or an
Optuna search: a row per job with its swept overrides, its best epoch's monitored value, its test metrics, epochs,
wall time and how it ended (the error's first line, the prune line), best first. Prints the table and writes
sweep.md, sweep.csv and sweep.png (the metric against each swept parameter; for Optuna, the optimisation history)
into the folder.

    lstmlab-train -m experiment=pos_quick model.optimizer.lr=0.001,0.003 model.net.hidden_size=128,256
    lstmlab-sweep-report logs/pos_quick/multiruns/<timestamp>

`--x KEY` adds a metric against one swept key, one line per value of the other swept keys, averaged over seeds
(sweep_KEY.png, sweep_KEY.csv and a table in sweep.md); the long-memory figure:

    lstmlab-train -m experiment=long_memory
    lstmlab-sweep-report logs/long_memory/multiruns/<timestamp> --x data.lag --metric test/acc
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from lstmlab.cli.command import run_command
from lstmlab.cli.options import command_parser
from lstmlab.sweeps import metric_by_key
from lstmlab.sweeps.report_figure import plot_report
from lstmlab.sweeps.report_table import headline, markdown, report_table, write_csv
from lstmlab.sweeps.sweep_folder import read_sweep
from lstmlab.utils.atomic_file import atomic_file

PROG = "lstmlab-sweep-report"


def by_key_files(folder: Path, key: str) -> tuple[Path, Path]:
    """sweep_<key>.png and .csv in the folder, the key made safe for a file name."""
    stem = "sweep_" + re.sub(r"[^\w.=-]", "_", key)
    return folder / f"{stem}.png", folder / f"{stem}.csv"


def main(argv: list[str] | None = None) -> int:
    parser = command_parser(PROG, __doc__)
    parser.add_argument("folder", type=Path, help="a Hydra multirun folder (logs/<task>/multiruns/<timestamp>)")
    parser.add_argument("--x", help="also draw --metric against this swept key, e.g. data.lag")
    parser.add_argument("--metric", help="with --x: the metrics.json key to draw (default: the sweep's monitor)")
    args = parser.parse_args(argv)
    if args.metric and not args.x:
        parser.error("--metric goes with --x (the report ranks by the sweep's monitor)")

    def work() -> str:
        sweep = read_sweep(args.folder)
        table = report_table(sweep)
        text = ["\n".join(headline(sweep)), markdown(table)]
        figures = [f"![{sweep.monitor} against each swept parameter](sweep.png)"]
        written = [args.folder / "sweep.md", args.folder / "sweep.csv", args.folder / "sweep.png"]
        if args.x:
            by_key = metric_by_key.tabulate(sweep, args.x, args.metric or sweep.monitor)
            png, csv = by_key_files(args.folder, args.x)
            metric_by_key.write_csv(by_key, csv)
            metric_by_key.plot(by_key, png)
            text.append(metric_by_key.markdown(by_key))
            figures.append(f"![{by_key.metric} against {args.x}]({png.name})")
            written += [png, csv]
        print("\n\n".join(text))
        write_csv(table, args.folder / "sweep.csv")
        plot_report(sweep, args.folder / "sweep.png")
        with atomic_file(args.folder / "sweep.md") as temporary:
            temporary.write_text(f"# Sweep {args.folder}\n\n" + "\n\n".join(text + figures) + "\n", encoding="utf-8")
        return f"wrote {', '.join(str(path) for path in written)}"

    return run_command(PROG, work)


if __name__ == "__main__":
    sys.exit(main())
