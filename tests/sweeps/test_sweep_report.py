"""lstmlab-sweep-report on a real 2x2 grid multirun of the tagger (one combination fails on purpose), and on
hand-made Optuna-shaped folders (PRUNED, INTERRUPTED and study.json are plain files an Optuna sweep leaves)."""

from __future__ import annotations

import csv
import json
import struct
import subprocess
from pathlib import Path

import pytest
from conftest import TINY_MODEL, only_sweep, tiny_data_overrides, train_command
from matplotlib.figure import Figure

from lstmlab.callbacks.metrics_plot import draw_metrics, read_epoch_metrics, run_title, titled_panels
from lstmlab.cli.sweep_report import main as sweep_report
from lstmlab.sweeps.report_figure import best_so_far, draw_report, report_panels
from lstmlab.sweeps.sweep_folder import read_sweep
from lstmlab.utils.torch_threads import available_cores

# gru with peephole connections is refused by the config check, so job 3 of the four fails and the rest finish
GRID = ["cell=lstm,gru", "model.net.peephole=false,true"]


@pytest.fixture(scope="module")
def grid_run(tiny_ewt, tiny_vectors, tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """(the sweep folder, the finished `lstmlab-train -m` command)."""
    cwd = tmp_path_factory.mktemp("grid")
    result = train_command(*TINY_MODEL, *tiny_data_overrides(tiny_ewt, tiny_vectors), "trainer.max_epochs=2",
                           "trainer.limit_train_batches=2", *GRID, cwd=cwd, multirun=True)
    assert "impossible with cell='gru'" in result.stderr, result.stderr[-3000:]
    return only_sweep(cwd), result


@pytest.fixture(scope="module")
def grid_sweep(grid_run) -> Path:
    return grid_run[0]


def csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", header[16:24])


def test_grid_report_ranks_the_finished_jobs_and_names_the_failure(grid_sweep, capsys):
    assert sweep_report([str(grid_sweep)]) == 0
    printed = capsys.readouterr().out
    rows = csv_rows(grid_sweep / "sweep.csv")
    assert list(rows[0]) == ["job", "cell", "model.net.peephole", "val/acc", "test/acc", "test/loss", "epochs",
                             "runtime_s", "status", "note"]  # the fixed overrides (data paths, sizes) are no columns
    finished = [json.loads((grid_sweep / str(job) / "metrics.json").read_text()) for job in (0, 1, 2)]
    best_first = sorted(range(3), key=lambda job: -finished[job]["val/acc"])
    assert [int(row["job"]) for row in rows] == [*best_first, 3]
    for row in rows[:3]:
        metrics = finished[int(row["job"])]
        assert float(row["val/acc"]) == metrics["val/acc"] and float(row["test/acc"]) == metrics["test/acc"]
        assert row["status"] == "finished" and row["epochs"] == "2" and float(row["runtime_s"]) > 0
    failed = rows[3]
    assert (failed["cell"], failed["model.net.peephole"], failed["status"]) == ("gru", "True", "failed")
    assert failed["note"] == (grid_sweep / "3" / "FAILED").read_text().splitlines()[0]
    assert failed["note"].startswith("ValueError: model.net.peephole") and failed["val/acc"] == ""
    assert "4 jobs: 3 finished, 1 failed; ranked by val/acc (max" in printed
    assert "| 3 | gru | True | - | - | - | - | - | failed | ValueError: model.net.peephole" in printed
    report = (grid_sweep / "sweep.md").read_text()
    assert printed.strip() in report and "![val/acc against each swept parameter](sweep.png)" in report
    assert png_size(grid_sweep / "sweep.png") == (1000, 380)  # one panel per swept key, no history for a grid


def test_a_finished_job_records_its_epochs_wall_time_and_threads(grid_sweep):
    job = grid_sweep / "0"
    metrics = json.loads((job / "metrics.json").read_text())
    assert metrics["epochs"] == 2
    started = (job / ".hydra" / "config.yaml").stat().st_mtime  # Hydra writes it before train() starts
    assert 0 < metrics["runtime_s"] <= (job / "metrics.json").stat().st_mtime - started + 0.5
    cores = available_cores()
    assert f"torch threads: {cores} (all {cores} cores)" in (job / "pos_quick.log").read_text()


def test_x_draws_a_metric_against_one_swept_key(grid_sweep, capsys):
    assert sweep_report([str(grid_sweep), "--x", "cell", "--metric", "test/acc"]) == 0
    assert "test/acc against cell" in capsys.readouterr().out
    metrics = {job: json.loads((grid_sweep / str(job) / "metrics.json").read_text())["test/acc"] for job in (0, 1, 2)}
    by_cell = csv_rows(grid_sweep / "sweep_cell.csv")
    rows = {(row["series"], row["cell"]): float(row["test/acc mean"]) for row in by_cell}
    assert rows == pytest.approx({("model.net.peephole=False", "lstm"): metrics[0],
                                  ("model.net.peephole=True", "lstm"): metrics[1],
                                  ("model.net.peephole=False", "gru"): metrics[2]}, abs=1e-5)
    assert "![test/acc against cell](sweep_cell.png)" in (grid_sweep / "sweep.md").read_text()
    assert png_size(grid_sweep / "sweep_cell.png")[0] > 0


def test_a_grid_multirun_ends_naming_its_folder_jobs_best_job_and_the_report(grid_run):
    folder, result = grid_run
    sweep = read_sweep(folder)
    best = max(sweep.finished(), key=lambda job: job.metrics["val/acc"])
    assert result.stdout.rstrip().splitlines()[-4:] == [
        f"Sweep folder:    {folder}",
        "Jobs:            4: 3 finished, 1 failed",
        f"Best job:        {best.number}, val/acc={best.metrics['val/acc']:.4f} (cell={best.overrides['cell']} "
        f"model.net.peephole={best.overrides['model.net.peephole']}): {folder / str(best.number)}",
        f"Report:          lstmlab-sweep-report {folder}"]  # printed after the failed job's error, at exit


def drawn(axis) -> dict[str, list[tuple[float, float]]]:
    """{legend label: the (x, y) points of its markers} of a scatter panel."""
    return {collection.get_label(): [tuple(point) for point in collection.get_offsets()]
            for collection in axis.collections}


def test_sweep_png_puts_categories_on_categorical_axes_and_marks_every_job_by_status(grid_sweep):
    sweep = read_sweep(grid_sweep)
    axes = Figure().subplots(1, 2)
    draw_report(list(axes), sweep, report_panels(sweep))
    cell, peephole = axes
    assert [label.get_text() for label in cell.get_xticklabels()] == ["gru", "lstm"]
    assert [label.get_text() for label in peephole.get_xticklabels()] == ["False", "True"]
    points = drawn(cell)
    assert sorted(points) == ["failed (no value)", "finished"]
    values = {job.number: job.metrics["val/acc"] for job in sweep.finished()}
    assert sorted(points["finished"]) == sorted([(1.0, values[0]), (1.0, values[1]), (0.0, values[2])])
    assert [x for x, _ in points["failed (no value)"]] == [0.0]  # job 3, gru: shown, below the values
    assert [text.get_text() for text in cell.get_legend().get_texts()] == ["finished", "failed (no value)"]


def test_a_jobs_metrics_png_is_titled_by_its_run_with_whole_epochs_and_no_flat_lr_panel(grid_sweep):
    job = grid_sweep / "0"
    assert png_size(job / "plots" / "metrics.png") == (1500, 400)  # acc, loss, tokens/s: no panel for lr
    series = read_epoch_metrics(next((job / "csv").rglob("metrics.csv")))
    assert [value for _, value in series["train/lr"]] == pytest.approx([0.002, 0.002])  # never changed
    title, grouped = titled_panels(series, run_title(job, "pos_quick"))
    assert title == f"pos_quick {grid_sweep.name}/0; lr 0.002 throughout" and "lr" not in grouped
    axes = Figure().subplots(1, len(grouped))
    draw_metrics(list(axes), series, grouped)
    for axis in axes:
        low, high = axis.get_xlim()
        ticks = [tick for tick in axis.get_xticks() if low <= tick <= high]
        assert ticks and all(tick == int(tick) for tick in ticks), (axis.get_ylabel(), ticks)


def write_job(sweep: Path, number: int, overrides: list[str], *, metrics: dict | None = None,
              marker: tuple[str, str] | None = None, monitor: str = "val/loss", mode: str = "min") -> None:
    """A job folder as Hydra and the Optuna sweeper leave it: .hydra files, then metrics.json or a marker file."""
    job = sweep / str(number)
    (job / ".hydra").mkdir(parents=True)
    (job / ".hydra" / "overrides.yaml").write_text("".join(f"- {item}\n" for item in overrides))
    (job / ".hydra" / "config.yaml").write_text(f"task_name: pos_quick\nmonitor: {monitor}\nmode: {mode}\n")
    (job / ".hydra" / "hydra.yaml").write_text(f"hydra:\n  job:\n    num: {number}\n")
    if metrics is not None:
        (job / "metrics.json").write_text(json.dumps(metrics))
    if marker is not None:
        (job / marker[0]).write_text(marker[1])


@pytest.fixture
def optuna_sweep(tmp_path) -> Path:
    """Seven trials minimising val/loss: three finished, one pruned, one failed, one interrupted and retried as
    trial 5, one still running."""
    (tmp_path / "study.json").write_text(json.dumps({
        "study_name": "pos_search", "storage": "optuna.journal", "direction": "minimize", "metric": "val/loss",
        "n_trials": 8, "search_space": {"model.optimizer.lr": "float in [0.0001, 0.03], log",
                                        "model.net.hidden_size": "one of 16, 32"}}))
    (tmp_path / "optuna.journal").write_text("")
    trials = [("0.0012345678901234567", "16", {"val/loss": 0.5, "test/acc": 0.8, "epochs": 4, "runtime_s": 123.4},
               None),
              ("0.01", "32", None, ("PRUNED", "pruned at epoch 3: val/loss=0.9000\n")),
              ("0.0003", "32", {"val/loss": 0.3, "test/acc": 0.9, "epochs": 6, "runtime_s": 20.0}, None),
              ("0.02", "16", None, ("INTERRUPTED", "interrupted (the sweep was killed); retried as trial 5\n")),
              ("0.005", "16", None, ("FAILED", "RuntimeError: out of memory\nTraceback (most recent call last):\n")),
              ("0.02", "16", {"val/loss": 0.4, "test/acc": 0.85, "epochs": 5, "runtime_s": 15.0}, None),
              ("0.0001", "32", None, None)]
    for number, (lr, hidden, metrics, marker) in enumerate(trials):
        write_job(tmp_path, number, ["experiment=pos_quick", f"model.optimizer.lr={lr}",
                                     f"model.net.hidden_size={hidden}", f"optuna_trial={{number: {number}}}"],
                  metrics=metrics, marker=marker)
    return tmp_path


def test_optuna_report_ranks_by_the_study_direction_and_tells_every_end(optuna_sweep, capsys):
    assert sweep_report([str(optuna_sweep)]) == 0
    printed = capsys.readouterr().out
    rows = csv_rows(optuna_sweep / "sweep.csv")
    assert list(rows[0]) == ["job", "model.optimizer.lr", "model.net.hidden_size", "val/loss", "test/acc", "epochs",
                             "runtime_s", "status", "note"]  # no optuna_trial, no fixed experiment=...
    assert [(row["job"], row["status"]) for row in rows] == [
        ("2", "finished"), ("5", "finished"), ("0", "finished"), ("1", "pruned"), ("4", "failed"),
        ("3", "interrupted"), ("6", "running or interrupted")]
    notes = {row["job"]: row["note"] for row in rows}
    assert notes == {"2": "", "5": "", "0": "", "1": "pruned at epoch 3: val/loss=0.9000",
                     "4": "RuntimeError: out of memory", "3": "interrupted (the sweep was killed); retried as trial 5",
                     "6": ""}
    assert "Optuna study pos_search (optuna.journal): minimize val/loss, 8 trials asked for" in printed
    assert "best: job 2, val/loss=0.3000 (model.optimizer.lr=0.0003 model.net.hidden_size=32)" in printed
    assert png_size(optuna_sweep / "sweep.png") == (1500, 380)  # the history and one panel per parameter


def test_the_printed_table_rounds_its_numbers_and_the_csv_keeps_every_digit(optuna_sweep, capsys):
    assert sweep_report([str(optuna_sweep)]) == 0
    printed = capsys.readouterr().out
    assert "| 0 | 0.001235 | 16 | 0.5000 | 0.8000 | 4 | 123 | finished | - |" in printed  # 4 significant digits
    assert "| 5 | 0.02 | 16 | 0.4000 | 0.8500 | 5 | 15.0 | finished | - |" in printed
    assert printed.strip() in (optuna_sweep / "sweep.md").read_text()
    first = next(row for row in csv_rows(optuna_sweep / "sweep.csv") if row["job"] == "0")
    assert (first["model.optimizer.lr"], first["runtime_s"]) == ("0.0012345678901234567", "123.4")


def test_sweep_png_draws_numbers_on_numeric_axes_and_every_trial_in_the_history(optuna_sweep):
    sweep = read_sweep(optuna_sweep)
    axes = Figure().subplots(1, 3)
    draw_report(list(axes), sweep, report_panels(sweep))
    history, learning_rate, hidden_size = axes
    assert learning_rate.get_xscale() == "log"  # a float range, 0.0001-0.02: 200x
    assert [label.get_text() for label in hidden_size.get_xticklabels()] == ["16", "32"]  # a choice: categories
    assert sorted(x for x, _ in drawn(hidden_size)["finished"]) == [0.0, 0.0, 1.0]
    assert history.get_legend() is not None and hidden_size.get_legend() is None  # one legend, on the first panel
    points = drawn(history)
    assert {label: sorted(x for x, _ in xy) for label, xy in points.items()} == {
        "finished": [0.0, 2.0, 5.0], "pruned (no value)": [1.0], "failed (no value)": [4.0],
        "interrupted (no value)": [3.0], "running or interrupted (no value)": [6.0]}


def test_the_history_keeps_the_best_value_so_far(optuna_sweep):
    assert best_so_far(read_sweep(optuna_sweep)) == [(0, 0.5), (2, 0.3), (5, 0.3)]


def test_x_averages_over_seeds_and_leaves_out_unfinished_jobs(tmp_path, capsys):
    grid = [("rnn", 5, 1, 0.9), ("rnn", 5, 2, 0.7), ("rnn", 50, 1, 0.1), ("lstm", 5, 1, 1.0), ("lstm", 50, 1, None)]
    for number, (cell, lag, seed, accuracy) in enumerate(grid):
        write_job(tmp_path, number, [f"cell={cell}", f"data.lag={lag}", f"seed={seed}"], monitor="val/acc",
                  mode="max", metrics=None if accuracy is None else {"val/acc": accuracy, "test/acc": accuracy})
    assert sweep_report([str(tmp_path), "--x", "data.lag", "--metric", "test/acc"]) == 0
    printed = capsys.readouterr().out
    assert "test/acc against data.lag, mean ± sd over seed" in printed
    assert "| cell=rnn | 0.8000 ± 0.1414 | 0.1000 |" in printed and "| cell=lstm | 1.0000 | - |" in printed
    assert [row["runs"] for row in csv_rows(tmp_path / "sweep_data.lag.csv")] == ["2", "1", "1"]


def test_what_is_not_a_sweep_is_refused_by_name(tmp_path, capsys):
    assert sweep_report([str(tmp_path / "missing")]) == 2
    assert f"{tmp_path / 'missing'}: no such folder" in capsys.readouterr().err
    assert sweep_report([str(tmp_path)]) == 2
    assert "no job folders in it" in capsys.readouterr().err
    write_job(tmp_path, 0, ["seed=1"], metrics={"val/loss": 0.5})
    assert sweep_report([str(tmp_path / "0")]) == 2
    assert "it is one job's folder: give the folder above it" in capsys.readouterr().err
    assert sweep_report([str(tmp_path), "--x", "data.lag"]) == 2
    assert "--x data.lag: not a swept key" in capsys.readouterr().err
    write_job(tmp_path, 1, ["seed=2"], metrics={"val/acc": 0.5}, monitor="val/acc", mode="max")
    assert sweep_report([str(tmp_path)]) == 2
    assert "the jobs rank by different metrics (0: val/loss (min), 1: val/acc (max))" in capsys.readouterr().err
    assert not (tmp_path / "sweep.md").exists()
