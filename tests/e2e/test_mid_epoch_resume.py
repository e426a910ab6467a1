"""A run stopped in the middle of an epoch (`trainer.max_steps`, SIGKILL, SIGTERM, SLURM's SIGUSR1) and resumed
from checkpoints/last.ckpt ends with the weights, test metrics and metrics.csv rows of a run never stopped: the
loader's place in the epoch, every random state, the biLM's carried state and the plateau scheduler come back.
The signals go to real `python -m lstmlab.cli.train` processes; SLURM's scontrol is a script that notes its call."""

from __future__ import annotations

import csv
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import lightning as L
import pytest
import torch
from conftest import ROOT, TINY_MODEL, compose_config, tiny_bilm_overrides, tiny_data_overrides, tiny_nli_overrides
from helpers import old_layout
from safetensors.torch import load_file

from lstmlab.cli.train import train

STEPS_PER_EPOCH = 16  # the first 16 of the 19 batches of 300 tiny EWT sentences
# the plateau scheduler halves the rate after every epoch but the first: a resumed run that annealed late differs
ANNEALING = ["model.scheduler.patience=0", "+model.scheduler.threshold=0.5"]


def tagger_overrides(tiny_ewt: dict[str, Path], tiny_vectors: Path) -> list[str]:
    return ["experiment=pos_quick", *TINY_MODEL, *tiny_data_overrides(tiny_ewt, tiny_vectors), "trainer.max_epochs=3",
            "model.optimizer.lr=0.01", *ANNEALING, "trainer.log_every_n_steps=1",
            f"trainer.limit_train_batches={STEPS_PER_EPOCH}"]


def bilm_overrides(tiny_text: dict[str, Path]) -> list[str]:
    """40 windows an epoch (of 549), 3 validation and test windows."""
    return [*tiny_bilm_overrides(tiny_text), "trainer.max_epochs=3", "trainer.limit_train_batches=40",
            "trainer.limit_val_batches=3", "trainer.limit_test_batches=3", "trainer.log_every_n_steps=1"]


def same_weights(run: Path, other: Path) -> bool:
    expected, found = (load_file(folder / "model/model.safetensors") for folder in (run, other))
    return expected.keys() == found.keys() and all(torch.equal(expected[k], found[k]) for k in expected)


def csv_rows(run: Path) -> list[dict[str, str]]:
    with (run / "csv/metrics.csv").open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def logged(rows: list[dict[str, str]]) -> list[tuple]:
    """What must not differ between two runs: which rows, and their step losses and validation metrics (training
    epoch means cover only the batches after a resume, speeds are the machine's)."""
    metric = "val/acc" if rows and "val/acc" in rows[0] else "val/ppl"
    return [(r["epoch"], r["step"], r["train/loss_step"], r["val/loss"], r[metric]) for r in rows]


def last_checkpoint(run: Path) -> dict:
    return torch.load(run / "checkpoints/last.ckpt", weights_only=True)


# --- a real training process --------------------------------------------------------------------------------
def start(overrides: list[str], cwd: Path, **environment: str) -> subprocess.Popen:
    """`python -m lstmlab.cli.train` with these overrides, outside any SLURM job unless `environment` says one."""
    return start_command([sys.executable, "-m", "lstmlab.cli.train", *overrides], cwd, **environment)


def start_command(command: list[str] | str, cwd: Path, **environment: str) -> subprocess.Popen:
    """A command line (a string: through the shell, as typed), with this environment's console scripts on PATH."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLURM_")}
    env.update(PYTHONPATH=str(ROOT / "src"), HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1",
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    env.update(environment)
    return subprocess.Popen(command, cwd=cwd, env=env, shell=isinstance(command, str), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def wait_for_step(process: subprocess.Popen, metrics_csv: Path, step: int, timeout: float = 300) -> None:
    """Until the run has logged training step `step` (every step is logged and written at once)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"training ended (exit {process.returncode}) before step {step}:\n{process.stdout.read()}")
        if metrics_csv.is_file():
            with metrics_csv.open(newline="", encoding="utf-8") as handle:
                if any(int(row["step"]) >= step and row["train/loss_step"] for row in csv.DictReader(handle)):
                    return
        time.sleep(0.05)
    process.kill()
    pytest.fail(f"no step {step} in {metrics_csv} after {timeout} s")


def finish(process: subprocess.Popen) -> tuple[int, str]:
    output, _ = process.communicate(timeout=300)
    return process.returncode, output


def killed_after(overrides: list[str], step: int, run: Path) -> dict:
    """Train in `run` in a process that gets SIGKILL once it has logged training step `step`; its last.ckpt."""
    process = start([*overrides, f"hydra.run.dir={run}"], run.parent)
    wait_for_step(process, run / "csv/metrics.csv", step)
    process.send_signal(signal.SIGKILL)
    process.wait()
    return last_checkpoint(run)


def resume(overrides: list[str], run: Path) -> dict:
    return train(compose_config("train.yaml", [*overrides, f"ckpt_path={run / 'checkpoints/last.ckpt'}"], run))


# --- the uninterrupted runs -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def straight_tagger(tiny_ewt, tiny_vectors, tmp_path_factory) -> tuple[Path, dict]:
    run = tmp_path_factory.mktemp("straight_tagger")
    return run, train(compose_config("train.yaml", tagger_overrides(tiny_ewt, tiny_vectors), run))


class LastCheckpointSteps(L.Callback):
    """At each training batch's start: (steps trained, and of checkpoints/last.ckpt: its steps and the epochs it
    counts as done), or (steps, None, None) before there is one."""

    seen: list[tuple[int, int | None, int | None]] = []

    def on_train_batch_start(self, trainer: L.Trainer, *args: object) -> None:
        last = Path(trainer.default_root_dir) / "checkpoints/last.ckpt"
        saved = torch.load(last, weights_only=True) if last.is_file() else None
        LastCheckpointSteps.seen.append((trainer.global_step, *(
            (None, None) if saved is None else
            (saved["global_step"], saved["loops"]["fit_loop"]["epoch_progress"]["current"]["processed"]))))


@pytest.fixture(scope="module")
def stopped_tagger(tiny_ewt, tiny_vectors, tmp_path_factory) -> Path:
    """The tagger stopped by max_steps=22 in its second epoch, with last.ckpt every 4 steps."""
    run = tmp_path_factory.mktemp("stopped_tagger")
    LastCheckpointSteps.seen.clear()
    probe = f"+callbacks.probe._target_={__name__}.LastCheckpointSteps"
    train(compose_config("train.yaml", [*tagger_overrides(tiny_ewt, tiny_vectors), "trainer.max_steps=22",
                                        "checkpoint_every_n_steps=4", probe], run))
    return run


def test_checkpoint_every_n_steps_keeps_last_ckpt_at_the_latest_step_or_epoch_end(stopped_tagger):
    """Every 4 steps; at an epoch's last batch (step 16) it is ModelCheckpoint's, written after validation, which
    counts the epoch as done (resumed from the batch's end, Lightning would skip that validation)."""
    writes = [4, 8, 12, STEPS_PER_EPOCH, 20]
    expected = []
    for step in range(22):
        saved = max((w for w in writes if w <= step), default=None)
        expected.append((step, saved, None if saved is None else int(saved >= STEPS_PER_EPOCH)))
    assert LastCheckpointSteps.seen == expected
    assert sorted(p.name for p in (stopped_tagger / "checkpoints").iterdir()) == ["best.ckpt", "last.ckpt"]


class CtrlCAt(L.Callback):
    """Ctrl-C as a terminal sends it (SIGINT to this process) at the end of training batch `batch` (counted over
    epochs); and at each batch's start, the steps and loader place of checkpoints/last.ckpt, as LastCheckpointSteps."""

    batch = 20
    seen: list[tuple[int, list]] = []

    def __init__(self) -> None:
        self.batches_done = 0

    def on_train_batch_start(self, trainer: L.Trainer, *args: object) -> None:
        last = Path(trainer.default_root_dir) / "checkpoints/last.ckpt"
        if last.is_file():
            saved = torch.load(last, weights_only=True)
            CtrlCAt.seen.append((saved["global_step"], saved["loops"]["fit_loop"]["state_dict"]["combined_loader"]))

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: object, batch: object,
                           batch_idx: int) -> None:
        if self.batches_done == CtrlCAt.batch:
            os.kill(os.getpid(), signal.SIGINT)
        self.batches_done += 1


@pytest.fixture(scope="module")
def straight_accumulated(tiny_ewt, tiny_vectors, tmp_path_factory) -> tuple[Path, dict]:
    run = tmp_path_factory.mktemp("straight_accumulated")
    overrides = [*tagger_overrides(tiny_ewt, tiny_vectors), "trainer.accumulate_grad_batches=2"]
    return run, train(compose_config("train.yaml", overrides, run))


def test_with_accumulated_gradients_last_ckpt_waits_for_the_optimizer_step_and_resumes_exactly(
        straight_accumulated, tiny_ewt, tiny_vectors, tmp_path):
    """accumulate_grad_batches=2: 8 steps an epoch. Every 3 steps and at Ctrl-C after batch 20 (the first of a pair,
    in the second epoch), last.ckpt is written only after a batch that stepped: a batch's gradients waiting for the
    next in no checkpoint (once last.ckpt was written at batch 0, step 0, and at the signal's batch). The run
    stops with status 130 one batch later, marked INTERRUPTED, and the resumed run ends as one never stopped."""
    straight, metrics = straight_accumulated
    overrides = [*tagger_overrides(tiny_ewt, tiny_vectors), "trainer.accumulate_grad_batches=2",
                 "checkpoint_every_n_steps=3"]
    interrupted = [*overrides, f"+callbacks.ctrl_c._target_={__name__}.CtrlCAt"]
    CtrlCAt.seen.clear()
    with pytest.raises(SystemExit) as stopped:
        train(compose_config("train.yaml", interrupted, tmp_path))
    assert stopped.value.code == 128 + signal.SIGINT
    assert dict(CtrlCAt.seen) == {3: [{"epoch": 0, "batches": 6}], 6: [{"epoch": 0, "batches": 12}],
                                  8: [{"epoch": 0, "batches": 16}],  # ModelCheckpoint's, at the epoch's end
                                  9: [{"epoch": 1, "batches": 2}],
                                  11: [{"epoch": 1, "batches": 6}]}  # Ctrl-C's: batch 21 completed the pair
    assert last_checkpoint(tmp_path)["global_step"] == 11  # the run stopped at batch 22's start
    marker = (tmp_path / "INTERRUPTED").read_text().splitlines()
    assert marker[0] == f"interrupted (SIGINT at step 11): {tmp_path / 'checkpoints/last.ckpt'} holds it"
    assert marker[1] == "resume: " + shlex.join(["lstmlab-train", *interrupted,
                                                  f"ckpt_path={tmp_path / 'checkpoints/last.ckpt'}"])
    assert not (tmp_path / "FAILED").exists()

    resumed = resume(overrides, tmp_path)
    assert not (tmp_path / "INTERRUPTED").exists()  # running again, then finished
    assert same_weights(straight, tmp_path)
    assert resumed["test/acc"] == metrics["test/acc"] and resumed["val/acc"] == metrics["val/acc"]
    assert logged(csv_rows(tmp_path)) == logged(csv_rows(straight))


def test_run_stopped_mid_epoch_resumes_to_the_same_weights_metrics_scheduler_and_rows(stopped_tagger,
                                                                                       straight_tagger, tiny_ewt,
                                                                                       tiny_vectors):
    straight, metrics = straight_tagger
    checkpoint = last_checkpoint(stopped_tagger)
    assert checkpoint["global_step"] == 20
    assert checkpoint["loops"]["fit_loop"]["state_dict"]["combined_loader"] == [{"epoch": 1, "batches": 4}]
    resumed = resume(tagger_overrides(tiny_ewt, tiny_vectors), stopped_tagger)
    assert same_weights(straight, stopped_tagger)
    assert resumed["test/acc"] == metrics["test/acc"] and resumed["val/acc"] == metrics["val/acc"]
    ends = [last_checkpoint(run) for run in (straight, stopped_tagger)]
    assert ends[0]["lr_schedulers"] == ends[1]["lr_schedulers"]
    assert ends[0]["lr_schedulers"][0]["_last_lr"][0] < 0.01  # annealed
    stopping = [next(v for k, v in end["callbacks"].items() if k.startswith("EarlyStopping")) for end in ends]
    assert stopping[0]["wait_count"] == stopping[1]["wait_count"]
    assert torch.equal(stopping[0]["best_score"], stopping[1]["best_score"])
    # the stopped run's rows after step 20 (up to the end of the epoch max_steps cut, at step 21) were replaced
    assert logged(csv_rows(stopped_tagger)) == logged(csv_rows(straight))
    assert resumed["train_tokens"] == metrics["train_tokens"]  # the throughput counters were resumed too


@pytest.mark.slow
def test_tagger_killed_mid_epoch_resumes_to_the_same_weights_metrics_and_rows(straight_tagger, tiny_ewt,
                                                                              tiny_vectors, tmp_path):
    straight, metrics = straight_tagger
    overrides = [*tagger_overrides(tiny_ewt, tiny_vectors), "checkpoint_every_n_steps=5"]
    checkpoint = killed_after(overrides, 23, tmp_path / "run")
    step = checkpoint["global_step"]
    assert step >= 20 and step % 5 == 0 and step < 2 * STEPS_PER_EPOCH  # in the second epoch
    assert checkpoint["loops"]["fit_loop"]["state_dict"]["combined_loader"] == [
        {"epoch": 1, "batches": step - STEPS_PER_EPOCH}]
    resumed = resume(overrides, tmp_path / "run")
    assert same_weights(straight, tmp_path / "run")
    assert resumed["test/acc"] == metrics["test/acc"]
    assert logged(csv_rows(tmp_path / "run")) == logged(csv_rows(straight))  # none lost, none twice


@pytest.mark.slow
def test_bilm_killed_mid_epoch_resumes_to_the_same_weights_and_metrics(tiny_text, tmp_path):
    """The carried LSTM state of the rows and the window to read next come back with the random states."""
    overrides = [*bilm_overrides(tiny_text), "checkpoint_every_n_steps=10"]
    metrics = train(compose_config("train.yaml", bilm_overrides(tiny_text), tmp_path / "straight"))
    checkpoint = killed_after(overrides, 55, tmp_path / "run")
    step = checkpoint["global_step"]
    assert step >= 50 and step % 10 == 0 and step < 80 and checkpoint["lstmlab_carried_state"][0]["forward"]
    assert checkpoint["loops"]["fit_loop"]["state_dict"]["combined_loader"] == [{"next_window": step}]
    resumed = resume(overrides, tmp_path / "run")
    assert same_weights(tmp_path / "straight", tmp_path / "run")
    assert resumed["test/ppl"] == metrics["test/ppl"] and resumed["val/ppl"] == metrics["val/ppl"]
    assert logged(csv_rows(tmp_path / "run")) == logged(csv_rows(tmp_path / "straight"))


@pytest.mark.slow
def test_sigterm_saves_last_ckpt_at_the_batch_end_and_the_run_resumes_from_it(straight_tagger, tiny_ewt,
                                                                              tiny_vectors, tmp_path):
    straight, metrics = straight_tagger
    overrides = tagger_overrides(tiny_ewt, tiny_vectors)  # no periodic checkpoints: only the signal's
    process = start([*overrides, f"hydra.run.dir={tmp_path / 'run'}"], tmp_path)
    wait_for_step(process, tmp_path / "run/csv/metrics.csv", 19)
    process.send_signal(signal.SIGTERM)
    code, output = finish(process)
    assert code == 128 + signal.SIGTERM, output[-3000:]
    step = last_checkpoint(tmp_path / "run")["global_step"]
    assert STEPS_PER_EPOCH < step < 2 * STEPS_PER_EPOCH
    assert f"SIGTERM: {tmp_path / 'run/checkpoints/last.ckpt'} holds step {step}" in output
    assert not (tmp_path / "run/FAILED").exists() and not (tmp_path / "run/metrics.json").exists()
    resumed = resume(overrides, tmp_path / "run")
    assert same_weights(straight, tmp_path / "run") and resumed["test/acc"] == metrics["test/acc"]


@pytest.mark.slow
def test_ctrl_c_saves_last_ckpt_marks_the_run_and_prints_the_command_that_resumes_it(straight_tagger, tiny_ewt,
                                                                                     tiny_vectors, tmp_path):
    """Ctrl-C (SIGINT) to a real `lstmlab-train` in its second epoch: exit 130, last.ckpt at the batch end, no
    Lightning "graceful shutdown" without a checkpoint; the command it prints, run as printed, resumes in the same
    folder and ends as a run never stopped."""
    straight, metrics = straight_tagger
    run = tmp_path / "run"
    process = start_command(["lstmlab-train", *tagger_overrides(tiny_ewt, tiny_vectors), f"hydra.run.dir={run}"],
                            tmp_path)
    wait_for_step(process, run / "csv/metrics.csv", 19)
    process.send_signal(signal.SIGINT)
    code, output = finish(process)
    assert code == 128 + signal.SIGINT, output[-3000:]
    step = last_checkpoint(run)["global_step"]
    assert STEPS_PER_EPOCH < step < 2 * STEPS_PER_EPOCH
    assert "graceful shutdown" not in output and not (run / "FAILED").exists()
    (printed,) = [line.split("Resume: ", 1)[1] for line in output.splitlines() if "Resume: " in line]
    assert (run / "INTERRUPTED").read_text().splitlines() == [
        f"interrupted (SIGINT at step {step}): {run / 'checkpoints/last.ckpt'} holds it", f"resume: {printed}"]
    assert printed.startswith("lstmlab-train experiment=pos_quick ")
    assert printed.endswith(f" ckpt_path={run / 'checkpoints/last.ckpt'}")

    code, output = finish(start_command(printed, tmp_path))
    assert code == 0, output[-3000:]
    assert sorted(p.name for p in run.parent.iterdir()) == ["run"]  # resumed in its own folder
    assert not (run / "INTERRUPTED").exists()
    assert same_weights(straight, run)
    assert json.loads((run / "metrics.json").read_text())["test/acc"] == metrics["test/acc"]


@pytest.mark.slow
def test_ddp_run_stopped_by_sigterm_resumes_on_both_ranks(tiny_ewt, tiny_vectors, tmp_path):
    """Two gloo processes: the signal reaches rank 0 (Lightning passes it to rank 1); both save at the same batch
    end, each rank's place in its shard and its random states come back."""
    overrides = [*tagger_overrides(tiny_ewt, tiny_vectors), "trainer=ddp", "trainer.accelerator=cpu",
                 "trainer.devices=2"]
    steps_per_epoch = 10  # each rank: half of the 19 batches, the last one repeated
    code, output = finish(start([*overrides, f"hydra.run.dir={tmp_path / 'straight'}"], tmp_path))
    assert code == 0, output[-3000:]
    process = start([*overrides, f"hydra.run.dir={tmp_path / 'run'}"], tmp_path)
    wait_for_step(process, tmp_path / "run/csv/metrics.csv", steps_per_epoch + 2)
    process.send_signal(signal.SIGTERM)
    code, output = finish(process)
    assert code == 128 + signal.SIGTERM, output[-3000:]
    checkpoint = last_checkpoint(tmp_path / "run")
    step = checkpoint["global_step"]
    assert steps_per_epoch < step < 2 * steps_per_epoch and len(checkpoint["lstmlab_rng"]) == 2
    code, output = finish(start([*overrides, f"hydra.run.dir={tmp_path / 'run'}",
                                 f"ckpt_path={tmp_path / 'run/checkpoints/last.ckpt'}"], tmp_path))
    assert code == 0, output[-3000:]
    assert same_weights(tmp_path / "straight", tmp_path / "run")


def test_slurm_requeue_signal_saves_requeues_and_the_requeued_job_resumes_in_its_folder(straight_tagger, tiny_ewt,
                                                                                       tiny_vectors, tmp_path):
    """`#SBATCH --signal=SIGUSR1@90`: the run saves last.ckpt at the end of the batch, calls `scontrol requeue
    <job>` and stops; SLURM runs the same command again, which finds its folder (named after the job, not the
    start time) and resumes. Lightning's own handler (hpc_ckpt_<n>.ckpt, saved mid-step) stays out."""
    straight, metrics = straight_tagger
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    scontrol = bin_dir / "scontrol"
    scontrol.write_text(f'#!/bin/sh\necho "$@" >> {tmp_path / "scontrol.log"}\n', encoding="utf-8")
    scontrol.chmod(0o755)
    job = {"SLURM_JOB_ID": "4242", "SLURM_JOB_NAME": "pos", "SLURM_NTASKS": "1", "SLURM_NTASKS_PER_NODE": "1",
           "SLURM_PROCID": "0", "SLURM_LOCALID": "0", "SLURM_NODEID": "0", "SLURM_NNODES": "1",
           "SLURM_NODELIST": "localhost", "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    command = tagger_overrides(tiny_ewt, tiny_vectors)  # run from tmp_path: its logs land in tmp_path/logs
    process = start(command, tmp_path, **job)
    runs = tmp_path / "logs/pos_quick/runs"
    while not runs.is_dir() or not any(runs.iterdir()):
        assert process.poll() is None, process.stdout.read()
        time.sleep(0.05)
    (run,) = runs.iterdir()
    assert run.name.startswith("slurm-4242-")
    wait_for_step(process, run / "csv/metrics.csv", 19)
    process.send_signal(signal.SIGUSR1)
    code, output = finish(process)
    assert code == 128 + signal.SIGUSR1, output[-3000:]
    assert (tmp_path / "scontrol.log").read_text() == "requeue 4242\n"
    step = last_checkpoint(run)["global_step"]
    assert STEPS_PER_EPOCH < step < 2 * STEPS_PER_EPOCH
    assert not list(tmp_path.rglob("hpc_ckpt_*.ckpt"))

    code, output = finish(start(command, tmp_path, **job))  # the requeued job: the same command
    assert code == 0, output[-3000:]
    assert [p.name for p in runs.iterdir()] == [run.name] and f"Restoring states from the checkpoint path at {run}" \
        in output
    assert same_weights(straight, run)
    assert json.loads((run / "metrics.json").read_text())["test/acc"] == metrics["test/acc"]


def test_resuming_a_format_1_checkpoint_of_an_old_last_state_encoder(tiny_snli, tiny_vectors, tmp_path):
    """`ckpt_path=` of a checkpoint written before the recurrent-layer rename (`encoder.forward_rnn.*_l<k>`, payload
    format 1) goes through Lightning: the task upgrades it as `load_model_file` does, and the run ends as the one
    resumed from the same checkpoint in today's format."""
    base = [*tiny_nli_overrides(tiny_snli, tiny_vectors), "model.net.encoder=lstm", "model.net.num_layers=2",
            "trainer.limit_train_batches=4", "test=false"]
    train(compose_config("train.yaml", [*base, "trainer.max_epochs=1"], tmp_path / "first"))
    checkpoint = last_checkpoint(tmp_path / "first")
    net = {k.removeprefix("net."): v for k, v in checkpoint["state_dict"].items() if k.startswith("net.")}
    checkpoint["state_dict"] = {**{k: v for k, v in checkpoint["state_dict"].items() if not k.startswith("net.")},
                                **{f"net.{k}": v for k, v in old_layout(net).items()}}
    assert "net.encoder.forward_rnn.weight_ih_l1" in checkpoint["state_dict"]
    checkpoint["lstmlab"] = {k: v for k, v in checkpoint["lstmlab"].items() if k != "lstmlab_version"} | {
        "format_version": 1}
    for name in ("today", "old"):
        shutil.copytree(tmp_path / "first", tmp_path / name)
    torch.save(checkpoint, tmp_path / "old/checkpoints/last.ckpt")
    for name in ("today", "old"):
        resume([*base, "trainer.max_epochs=2"], tmp_path / name)
    assert same_weights(tmp_path / "today", tmp_path / "old")
    assert last_checkpoint(tmp_path / "old")["lstmlab"]["format_version"] == 2
