"""Where the training memory goes: peak RSS per stage of a full `lstmlab-train` run on UD English EWT in the
configuration equal to Flair's tagger (bench/peers/flair_tagger.py), and, given Flair's virtualenv, Flair's peak
per stage on the same run.

    LSTMLAB_DATA_DIR=/path/to/corpora taskset -c 1 python bench/train_memory.py
    ... python bench/train_memory.py --flair-python /path/to/flair-venv/bin/python
    ... python bench/train_memory.py --tracemalloc          # also: Python/numpy allocation sites of the data stages
    ... python bench/train_memory.py -- data.batch_size=64  # overrides after -- go to lstmlab-train

Each tool runs as its own process, as a user runs it, one thread. The process prints a line as each stage begins
(log lines of lstmlab-train, a callback of this file for the stages inside Lightning's fit; Flair's script prints
its own); at each line this process reads the child's peak RSS since the previous line (Linux VmHWM) and resets it
(/proc/PID/clear_refs), so each row is the peak within its stage, give or take the milliseconds a line takes to
arrive. The process's peak is the largest of them.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import lightning as L
from lightning.pytorch.trainer.states import TrainerFn
from machine import load_average
from report import heading

ROOT = Path(__file__).resolve().parents[1]
FLAIR_SCRIPT = ROOT / "bench" / "peers" / "flair_tagger.py"
# pos_ewt made equal to Flair's tagger: char BiLSTM 25/25 instead of the char CNN, the full GloVe 6B 50d
EQUAL_CONFIG = [
    "experiment=pos_ewt", "model.net.char_encoder=lstm", "model.net.char_dim=25", "model.net.char_hidden_size=25",
    "data.vectors.path=${paths.data_dir}/glove_6b_50d/glove.6B.50d.txt.gz", "threads=1",
]
STAGE_EVENT = '{"event": "stage"'
# lstmlab-train's log lines that open a stage, and the stage each opens (the first stage starts with the process)
LOG_STAGES = [
    (re.compile(r"\] - Data <"), "read the train split, count its words, parse the vectors file"),
    (re.compile(r"loaded \d+ vectors of dim"), "match the vectors to the training words"),
    (re.compile(r"training words have a vector"), "build the vocabularies"),
    (re.compile(r"\] - vocabularies: "), "encode the train split"),
    (re.compile(r"\] - train: \d+ items"), "read and encode the dev split"),
    (re.compile(r"\] - Model <"), "build the network, copy the vectors in; the trainer"),
    (re.compile(r"^Run directory: "), "exit"),
]


class StageMarks(L.Callback):
    """Prints a stage line at the stages inside Lightning's fit and test; passed to lstmlab-train as a callback."""

    def __init__(self) -> None:
        self.stage = ""

    def mark(self, stage: str) -> None:
        if stage != self.stage:
            self.stage = stage
            print(json.dumps({"event": "stage", "stage": stage}), flush=True)

    def on_sanity_check_start(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        self.mark("sanity validation (2 dev batches)")

    def on_train_start(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        self.mark("optimizer, first training step")

    def on_train_batch_end(self, trainer: L.Trainer, module: L.LightningModule, *args: Any) -> None:
        self.mark(f"training epoch {trainer.current_epoch + 1}")

    def on_validation_start(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        if not trainer.sanity_checking:
            fitting = trainer.state.fn == TrainerFn.FITTING
            self.mark("validation" if fitting else "validation of the best checkpoint")

    def on_save_checkpoint(self, trainer: L.Trainer, module: L.LightningModule, checkpoint: dict) -> None:
        self.mark("checkpoints (best.ckpt, last.ckpt)")

    def on_fit_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        self.mark("end of fit, load the best checkpoint")

    def on_test_start(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        self.mark("read, encode and test the test split")

    def on_test_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        self.mark("export the model folder and card")


def proc_status(pid: int) -> dict[str, float]:
    """VmHWM (peak RSS since the last reset) and VmRSS of a process, MiB; empty once it has exited."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return {}
    return {line.split(":")[0]: int(line.split()[1]) / 1024 for line in text.splitlines()
            if line.startswith(("VmHWM:", "VmRSS:"))}


@dataclass
class Stages:
    """Peak RSS per stage of a child process, measured from outside it."""

    pid: int
    rows: list[dict[str, Any]] = field(default_factory=list)
    last: dict[str, float] = field(default_factory=dict)  # the latest reading, for the stage the process ends in
    current: str = "start the interpreter, imports"
    started: float = field(default_factory=time.perf_counter)

    def begin(self, stage: str) -> None:
        status = proc_status(self.pid) or self.last
        now = time.perf_counter()
        self.rows.append({"stage": self.current, "peak_mb": status.get("VmHWM", float("nan")),
                          "end_mb": status.get("VmRSS", float("nan")), "seconds": now - self.started})
        try:
            Path(f"/proc/{self.pid}/clear_refs").write_text("5")  # the peak starts again from the current RSS
        except (FileNotFoundError, ProcessLookupError):
            pass  # the process has exited: that was its last stage
        self.current, self.started, self.last = stage, now, {}

    def poll(self) -> None:
        """Keep the latest reading, so the stage the process exits in still has its peak."""
        status = proc_status(self.pid)
        if status:
            self.last = status

    @property
    def peak_mb(self) -> float:
        return max(row["peak_mb"] for row in self.rows)


def run_with_stages(command: list[str], env: dict[str, str], cwd: Path,
                    stage_of_line: Any) -> tuple[Stages, list[str]]:
    """Run `command`; `stage_of_line(line)` names the stage a line of its output opens (None: no new stage)."""
    process = subprocess.Popen(command, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, bufsize=1)
    stages = Stages(process.pid)
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.02):
            stages.poll()

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    lines = []
    for line in process.stdout:
        lines.append(line.rstrip("\n"))
        stage = stage_of_line(line)
        if stage:
            stages.begin(stage)
    process.wait()
    done.set()
    sampler.join()
    stages.begin("")
    if process.returncode:
        sys.exit(f"{command[0]} failed ({process.returncode}):\n" + "\n".join(lines[-30:]))
    return stages, lines


def stage_event(line: str) -> str | None:
    return json.loads(line)["stage"] if line.startswith(STAGE_EVENT) else None


def lstmlab_stage(line: str) -> str | None:
    return next((stage for pattern, stage in LOG_STAGES if pattern.search(line)), None) or stage_event(line)


def child_env(extra_paths: list[Path]) -> dict[str, str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    env["PYTHONPATH"] = os.pathsep.join([*map(str, extra_paths), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def measure_lstmlab(overrides: list[str], folder: Path) -> tuple[Stages, dict[str, Any]]:
    """`lstmlab-train` with the equal config and the stage marks, in `folder` (its runs land in folder/logs)."""
    script = Path(sys.executable).with_name("lstmlab-train")
    command = [str(script), *EQUAL_CONFIG, "+callbacks.memory_stages._target_=train_memory.StageMarks", *overrides]
    stages, _ = run_with_stages(command, child_env([ROOT / "bench"]), folder, lstmlab_stage)
    metrics_file = next(folder.glob("logs/*/runs/*/metrics.json"))
    return stages, json.loads(metrics_file.read_text())


def measure_flair(python: str, epochs: int, folder: Path) -> tuple[Stages, dict[str, Any]]:
    command = [python, str(FLAIR_SCRIPT), "--train-epochs", str(epochs), "--threads", "1", "--json", "--no-tag",
               "--work-dir", str(folder)]
    stages, lines = run_with_stages(command, child_env([]), folder, stage_event)
    result = next(json.loads(line) for line in lines if line.startswith('{"event": "train"'))
    return stages, result


def trace_data_stages(overrides: list[str], top: int) -> list[str]:
    """tracemalloc over the data module's setup and the network's build, in this process: the lines that hold the
    most memory (Python objects and numpy arrays; torch's tensors are not traced) after each, and the traced peak."""
    import hydra
    from hydra import compose, initialize_config_dir

    from lstmlab.cli.hydra_app import register_resolvers

    register_resolvers()
    with initialize_config_dir(version_base="1.3", config_dir=str(ROOT / "conf")):
        cfg = compose(config_name="train.yaml", overrides=[*EQUAL_CONFIG, *overrides])
    lines = []
    tracemalloc.start()
    datamodule = hydra.utils.instantiate(cfg.data)
    steps = {"datamodule.setup('fit')": lambda: datamodule.setup("fit"),
             "the task built (network, vectors copied in)":
                 lambda: hydra.utils.instantiate(cfg.model, _partial_=True)(datamodule=datamodule)}
    kept = []
    for name, step in steps.items():
        tracemalloc.reset_peak()
        kept.append(step())
        current, peak = tracemalloc.get_traced_memory()
        lines.append(f"\n{name}: traced now {current / 2**20:,.0f} MiB, peak {peak / 2**20:,.0f} MiB; held by:")
        for stat in tracemalloc.take_snapshot().statistics("lineno")[:top]:
            frame = stat.traceback[0]
            where = Path(frame.filename)
            where = where.relative_to(ROOT) if where.is_relative_to(ROOT) else Path(*where.parts[-3:])
            lines.append(f"  {stat.size / 2**20:8,.1f} MiB  {stat.count:>9,} blocks  {where}:{frame.lineno}")
    tracemalloc.stop()
    return lines


def table(stages: Stages) -> list[str]:
    lines = ["| stage | seconds | peak RSS in the stage, MiB | RSS at its end, MiB |", "|---|---:|---:|---:|"]
    lines += [f"| {row['stage']} | {row['seconds']:.1f} | {row['peak_mb']:,.0f} | {row['end_mb']:,.0f} |"
              for row in stages.rows]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--flair-python", help="the python of Flair's virtualenv (bench/peers/README.md)")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--tracemalloc", action="store_true", help="also trace the data stages' allocations")
    parser.add_argument("--top", type=int, default=8, help="allocation sites shown per traced stage")
    parser.add_argument("overrides", nargs="*", help="more lstmlab-train overrides (after --)")
    args = parser.parse_args()
    if not os.environ.get("LSTMLAB_DATA_DIR"):
        sys.exit("set LSTMLAB_DATA_DIR to a folder with ud_english_ewt/ and glove_6b_50d/ (the full corpora)")
    started, load_before = time.perf_counter(), load_average()
    overrides = [f"trainer.max_epochs={args.epochs}", *args.overrides]
    output = []
    with tempfile.TemporaryDirectory(prefix="train-memory-") as temporary:
        stages, metrics = measure_lstmlab(overrides, Path(temporary))
        output += ["", f"lstmlab-train {' '.join(EQUAL_CONFIG + overrides)}",
                   f"peak RSS {stages.peak_mb:,.0f} MiB; test UPOS {100 * metrics['test/acc']:.2f}, dev "
                   f"{100 * metrics['val/acc']:.2f}; {metrics['runtime_s']:.1f} s in all, training "
                   f"{metrics.get('train_tokens_per_s', float('nan')):,.0f} tokens/s", "", *table(stages)]
    if args.flair_python:
        with tempfile.TemporaryDirectory(prefix="train-memory-flair-") as temporary:
            stages, result = measure_flair(args.flair_python, args.epochs, Path(temporary))
        output += ["", f"Flair {FLAIR_SCRIPT.relative_to(ROOT)} --train-epochs {args.epochs} --threads 1",
                   f"peak RSS {stages.peak_mb:,.0f} MiB; test UPOS {result['test_upos']:.2f}, dev "
                   f"{result['dev_upos']:.2f}; {result['total_s']:.1f} s training and testing, "
                   f"{result['train_tokens'] / result['train_s_per_epoch']:,.0f} tokens/s", "", *table(stages)]
    if args.tracemalloc:
        output += ["", "tracemalloc, in this process:", *trace_data_stages(overrides, args.top)]
    print("\n".join([*heading(time.perf_counter() - started, load_before), *output]))


if __name__ == "__main__":
    main()
