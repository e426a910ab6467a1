"""A full disk and a SIGTERM never leave a broken or a hidden file: a write that fails with ENOSPC leaves the
previous checkpoint, model folder or embeddings file byte for byte and no temporary file, and the error names the
file; `lstmlab-embed` and `lstmlab-elmo` stopped by SIGTERM (or Ctrl-C) remove their temporary file and exit 143
(130) with one line.

The full disk is simulated at the OS boundary only: files opened for writing in a folder get a file object whose
`write` stores what still fits, then raises OSError(ENOSPC), as a real full disk does; every lstmlab writer writes
through Python file objects, and everything else runs for real."""

from __future__ import annotations

import builtins
import errno
import io
import os
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import ROOT, TINY_MODEL, compose_config, tiny_data_overrides
from helpers import FORMATS, SENTENCES, leftovers

from lstmlab.cli.command import text_output
from lstmlab.cli.embed import main as embed_main
from lstmlab.cli.train import train
from lstmlab.io.elmo_hdf5 import ElmoHdf5Writer
from lstmlab.io.embedding_writers import open_writer
from lstmlab.io.model_folder import load_model_file, save_model_folder
from lstmlab.utils.atomic_checkpoint_io import AtomicCheckpointIO

NO_SPACE = os.strerror(errno.ENOSPC)


class FullDiskFile:
    """A file object on a disk with `disk.room` bytes left: a write stores what fits, then fails with ENOSPC."""

    def __init__(self, file: io.IOBase, disk: FullDisk) -> None:
        self._file = file
        self._disk = disk

    def write(self, data: bytes | str) -> int:
        size = len(data.encode()) if isinstance(data, str) else memoryview(data).nbytes
        fits = min(size, self._disk.room)
        self._disk.room -= fits
        if fits < size:
            self._file.write(data[:fits] if isinstance(data, str) else memoryview(data).cast("B")[:fits])
            raise OSError(errno.ENOSPC, NO_SPACE)  # what write(2) gives Python: an errno, no file name
        return self._file.write(data)

    def __getattr__(self, name: str) -> object:
        return getattr(self._file, name)

    def __enter__(self) -> FullDiskFile:
        return self

    def __exit__(self, *exception: object) -> None:
        self._file.__exit__(*exception)


class FullDisk:
    """Files opened for writing under `folder` (the first `spare` of them written in full) share `room` bytes."""

    def __init__(self, folder: Path, room: int, spare: int) -> None:
        self.folder, self.room, self.spare = folder, room, spare
        self.files_failed = 0

    def wrap(self, file: object, mode: str, handle: io.IOBase) -> io.IOBase | FullDiskFile:
        if not isinstance(file, str | os.PathLike) or not set(mode) & set("wax+"):
            return handle
        if self.folder not in Path(file).resolve().parents:
            return handle
        if self.spare:
            self.spare -= 1
            return handle
        self.files_failed += 1
        return FullDiskFile(handle, self)


@contextmanager
def full_disk(folder: Path, room: int = 0, spare: int = 0) -> Iterator[FullDisk]:
    """`open` (built-in and `io.open`, which pathlib uses) on a disk that is full under `folder`."""
    disk = FullDisk(folder.resolve(), room, spare)
    real_open = io.open

    def open_on_full_disk(file: object, mode: str = "r", *args: object, **kwargs: object) -> object:
        return disk.wrap(file, mode, real_open(file, mode, *args, **kwargs))

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(io, "open", open_on_full_disk)
        patch.setattr(builtins, "open", open_on_full_disk)
        yield disk


def assert_no_space_naming(error: pytest.ExceptionInfo[OSError], path: Path) -> None:
    assert error.value.errno == errno.ENOSPC and error.value.filename == str(path), repr(error.value)


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# --- each writer, its write failing mid-file --------------------------------------------------------------------

def test_a_full_disk_keeps_the_previous_checkpoint(tmp_path):
    path = tmp_path / "last.ckpt"
    AtomicCheckpointIO().save_checkpoint({"epoch": 0, "weights": torch.arange(4096.0)}, path)
    before = path.read_bytes()
    with full_disk(tmp_path, room=1000) as disk, pytest.raises(OSError) as error:
        AtomicCheckpointIO().save_checkpoint({"epoch": 1, "weights": torch.zeros(4096)}, path)
    assert disk.files_failed == 1
    assert_no_space_naming(error, path)
    assert path.read_bytes() == before and leftovers(tmp_path, path.name) == []


@pytest.mark.parametrize("fails_in", ["model.safetensors", "config.json"])
def test_a_full_disk_keeps_the_previous_model_folder(tmp_path, fails_in):
    folder = tmp_path / "model"
    save_model_folder(folder, {"kind": "tagger", "format_version": 2, "version": 0}, {"w": torch.ones(64, 64)})
    before = snapshot(folder)
    weights = len(before["model.safetensors"])  # the new export's are as long: same shapes, same payload length
    room = weights // 2 if fails_in == "model.safetensors" else weights + 10
    with full_disk(tmp_path, room=room), pytest.raises(OSError) as error:
        save_model_folder(folder, {"kind": "tagger", "format_version": 2, "version": 1}, {"w": torch.zeros(64, 64)})
    assert_no_space_naming(error, folder)
    assert snapshot(folder) == before and leftovers(tmp_path, "model") == []
    assert load_model_file(folder, "tagger")[0]["version"] == 0


@pytest.mark.parametrize("suffix", FORMATS)
def test_a_full_disk_keeps_the_previous_embeddings_file(tmp_path, suffix):
    path = tmp_path / f"emb{suffix}"
    with open_writer(path, 8) as writer:
        writer.write(np.ones((3, 8), np.float32), ["old"] * 3, np.zeros(3, bool))
        writer.commit()
    before = path.read_bytes()
    batch = np.random.default_rng(0).standard_normal((512, 8)).astype(np.float32)  # 16 KiB
    with full_disk(tmp_path, room=40_000) as disk, pytest.raises(OSError) as error, open_writer(path, 8) as writer:
        for _ in range(8):  # 128 KiB of rows: the disk fills up mid-way (where HDF5 writes is its own choice)
            writer.write(batch, ["new"] * len(batch), np.zeros(len(batch), bool))
        writer.commit()
    assert disk.room == 0
    assert_no_space_naming(error, path)
    assert path.read_bytes() == before and leftovers(tmp_path, path.name) == []


def test_a_full_disk_keeps_the_previous_elmo_file(tmp_path):
    path = tmp_path / "elmo.h5"
    with ElmoHdf5Writer(path, "all", 16, 2) as writer:
        writer.write(0, ["old"], np.ones((2, 1, 16), np.float32))
    before = path.read_bytes()
    with full_disk(tmp_path, room=50_000), pytest.raises(OSError) as error, \
            ElmoHdf5Writer(path, "all", 16, 2) as writer:
        for index in range(200):  # 200 sentences of 20 tokens x 2 layers x 16 floats: 500 KiB
            writer.write(index, ["new"] * 20, np.zeros((2, 20, 16), np.float32))
    assert_no_space_naming(error, path)
    assert path.read_bytes() == before and leftovers(tmp_path, path.name) == []


def test_a_full_disk_keeps_the_previous_text_output(tmp_path):
    path = tmp_path / "tags.txt"
    path.write_text("old\n", encoding="utf-8")
    with full_disk(tmp_path, room=10), pytest.raises(OSError) as error, text_output(path) as out:
        out.write("new tags\n" * 100_000)  # past the text layer's buffer
    assert_no_space_naming(error, path)
    assert path.read_text(encoding="utf-8") == "old\n" and leftovers(tmp_path, path.name) == []


def test_a_write_error_of_another_file_is_not_given_the_outputs_name(tmp_path):
    path = tmp_path / "out.txt"
    with pytest.raises(FileNotFoundError) as error, text_output(path):
        (tmp_path / "missing.txt").read_text()
    assert error.value.filename == str(tmp_path / "missing.txt") and leftovers(tmp_path) == []


def test_lstmlab_embed_on_a_full_disk_names_the_output_and_keeps_the_old_one(tmp_path, vectors_model, capsys):
    source = tmp_path / "in.txt"
    source.write_text("".join(f"{line}\n" for line in SENTENCES * 400), encoding="utf-8")
    output = tmp_path / "emb.npy"
    assert embed_main(["--model", str(vectors_model), str(source), "-o", str(output), "--quiet"]) == 0
    before = output.read_bytes()
    with full_disk(tmp_path, room=len(before) // 2):
        assert embed_main(["--model", str(vectors_model), str(source), "-o", str(output), "--quiet"]) == 2
    assert capsys.readouterr().err.splitlines()[-1] == f"lstmlab-embed: error: {output}: {NO_SPACE}"
    assert output.read_bytes() == before and leftovers(tmp_path, source.name, output.name) == []


def run_limited(command: list[str], file_size_limit: int) -> subprocess.CompletedProcess:
    """`python -m <command>` whose files cannot grow past `file_size_limit` bytes (RLIMIT_FSIZE): a write past it
    fails in the kernel with EFBIG, as one on a full disk does with ENOSPC, under every library's own writer."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (file_size_limit, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))

    return subprocess.run([sys.executable, "-m", *command], env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
                          preexec_fn=limit, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("suffix", [".h5", ".parquet"])
def test_lstmlab_embed_past_a_real_file_size_limit_reports_it_and_keeps_the_old_file(tmp_path, vectors_model,
                                                                                      suffix):
    """HDF5 crashed the process (a segmentation fault, the temporary file left) when its write failed."""
    output = tmp_path / f"emb{suffix}"
    command = ["lstmlab.cli.embed", "--model", str(vectors_model), "-o", str(output), "--quiet"]
    assert embed_main([*command[1:], str(write_lines(tmp_path / "old.txt", SENTENCES, 1))]) == 0
    before = output.read_bytes()
    done = run_limited([*command, str(write_lines(tmp_path / "in.txt", SENTENCES, 2000))], 64 << 10)
    assert done.returncode == 2, done.stderr[-2000:]
    assert done.stderr.splitlines()[-1] == f"lstmlab-embed: error: {output}: {os.strerror(errno.EFBIG)}"
    assert output.read_bytes() == before and leftovers(tmp_path, "old.txt", "in.txt", output.name) == []


def test_lstmlab_elmo_past_a_real_file_size_limit_reports_it(tmp_path, trained_bilm):
    output = tmp_path / "elmo.h5"
    source = write_lines(tmp_path / "in.txt", ["The people of this nation .", "Thank you ."], 2000)
    done = run_limited(["lstmlab.cli.elmo", "--model", str(trained_bilm[0]), str(source), "-o", str(output),
                        "--quiet"], 64 << 10)
    assert done.returncode == 2, done.stderr[-2000:]
    assert done.stderr.splitlines()[-1] == f"lstmlab-elmo: error: {output}: {os.strerror(errno.EFBIG)}"
    assert leftovers(tmp_path, "in.txt") == []


# --- a real training run whose disk fills up ----------------------------------------------------------------------

def test_a_run_whose_disk_fills_up_at_epoch_2_stops_and_resumes_from_epoch_1(tiny_ewt, tiny_vectors, tmp_path):
    """Epoch 1 writes best.ckpt and last.ckpt; then the disk is full, so epoch 2's first checkpoint write fails.
    The run stops with the error in FAILED, both checkpoints still hold epoch 1, and last.ckpt resumes."""
    overrides = ["experiment=pos_quick", *TINY_MODEL, *tiny_data_overrides(tiny_ewt, tiny_vectors), "test=false",
                 "trainer.limit_train_batches=4", "trainer.limit_val_batches=1"]
    checkpoints = tmp_path / "checkpoints"
    with full_disk(checkpoints, room=0, spare=2) as disk, pytest.raises(OSError) as error:
        train(compose_config("train.yaml", [*overrides, "trainer.max_epochs=3"], tmp_path))
    assert disk.files_failed == 1 and error.value.errno == errno.ENOSPC
    assert Path(error.value.filename).parent == checkpoints
    recorded = f"OSError: [Errno {errno.ENOSPC}] {NO_SPACE}: '{error.value.filename}'\n"
    assert (tmp_path / "FAILED").read_text() == recorded
    assert sorted(p.name for p in checkpoints.iterdir()) == ["best.ckpt", "last.ckpt"]  # no temporary file
    for path in checkpoints.iterdir():
        assert torch.load(path, map_location="cpu", weights_only=True)["epoch"] == 0
    assert not (tmp_path / "model").exists()

    (tmp_path / "FAILED").unlink()
    resumed = [*overrides, "trainer.max_epochs=2", f"ckpt_path={checkpoints / 'last.ckpt'}"]
    metrics = train(compose_config("train.yaml", resumed, tmp_path))
    assert np.isfinite(metrics["val/acc"])
    assert torch.load(checkpoints / "last.ckpt", map_location="cpu", weights_only=True)["epoch"] == 1
    assert (tmp_path / "model").is_dir() and leftovers(checkpoints, "best.ckpt", "last.ckpt") == []


# --- SIGTERM and Ctrl-C in lstmlab-embed and lstmlab-elmo -------------------------------------------------------------

def stop_mid_write(command: list[str], folder: Path, output: Path, stop: signal.Signals) -> subprocess.CompletedProcess:
    """Run `python -m <command>` in `folder`; once its hidden temporary output exists, send `stop`."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    process = subprocess.Popen([sys.executable, "-m", *command], cwd=folder, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not list(folder.glob(f".{output.name}.*.part")):
        assert process.poll() is None, f"ended before writing (status {process.returncode}): {process.stderr.read()}"
        assert time.monotonic() < deadline, "no temporary output after 120 s"
        time.sleep(0.005)
    time.sleep(0.2)  # well into the loop that encodes and writes
    assert process.poll() is None, "finished before the signal: make the input longer"
    process.send_signal(stop)
    stdout, stderr = process.communicate(timeout=60)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def write_lines(path: Path, lines: list[str], times: int) -> Path:
    path.write_text("".join(f"{line}\n" for line in lines) * times, encoding="utf-8")
    return path


@pytest.mark.parametrize(("stop", "status", "message"), [(signal.SIGTERM, 143, "terminated"),
                                                         (signal.SIGINT, 130, "interrupted")], ids=["TERM", "INT"])
def test_lstmlab_embed_stopped_mid_write_leaves_no_file(tmp_path, vectors_model, stop, status, message):
    if signal.getsignal(stop) == signal.SIG_IGN:
        pytest.skip(f"{stop.name} is ignored here, so the command would be too")
    source = write_lines(tmp_path / "in.txt", SENTENCES, 100_000)  # 500,000 lines: several seconds
    output = tmp_path / "emb.npy"
    done = stop_mid_write(["lstmlab.cli.embed", "--model", str(vectors_model), str(source), "-o", str(output),
                           "--quiet"], tmp_path, output, stop)
    assert done.returncode == status, done.stderr[-2000:]
    assert done.stderr.splitlines()[-1] == f"lstmlab-embed: {message}; no output written"
    assert leftovers(tmp_path, source.name) == []


def test_lstmlab_elmo_terminated_mid_write_keeps_the_old_output(tmp_path, trained_bilm):
    sentences = ["The people of this nation .", "We will never forget .", "Thank you ."]
    model, output = str(trained_bilm[0]), tmp_path / "elmo.h5"
    command = ["lstmlab.cli.elmo", "--model", model, "-o", str(output), "--quiet"]
    old = subprocess.run([sys.executable, "-m", *command, str(write_lines(tmp_path / "old.txt", sentences, 1))],
                         env={**os.environ, "PYTHONPATH": str(ROOT / "src")}, capture_output=True, text=True)
    assert old.returncode == 0, old.stderr[-2000:]
    before = output.read_bytes()
    source = write_lines(tmp_path / "in.txt", sentences, 20_000)
    done = stop_mid_write([*command, str(source)], tmp_path, output, signal.SIGTERM)
    assert done.returncode == 143, done.stderr[-2000:]
    assert done.stderr.splitlines()[-1] == "lstmlab-elmo: terminated; no output written"
    assert output.read_bytes() == before and leftovers(tmp_path, "old.txt", source.name, output.name) == []


def test_a_command_gives_sigterm_back_its_previous_handler(tmp_path, vectors_model):
    before = signal.getsignal(signal.SIGTERM)
    source = write_lines(tmp_path / "in.txt", SENTENCES, 1)
    assert embed_main(["--model", str(vectors_model), str(source), "-o", str(tmp_path / "e.npy"), "--quiet"]) == 0
    assert signal.getsignal(signal.SIGTERM) is before
