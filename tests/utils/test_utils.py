"""Run helpers: where runs go, how resumed runs find their directory, malloc tuning."""

from __future__ import annotations

import os
import platform

import pytest
import torch
from conftest import ROOT

from lstmlab.cli.hydra_app import resume_dir
from lstmlab.data import locations
from lstmlab.utils.malloc_tuning import tune_malloc
from lstmlab.utils.onednn_cache import CAPACITY_VARIABLE, bound_primitive_cache


def test_samples_are_the_checkouts_data_folder_from_any_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(locations.DATA_DIR_VARIABLE, raising=False)
    assert locations.checkout_root() == ROOT
    assert locations.samples_dir() == ROOT / "data" == locations.data_dir()


def test_sample_files_are_looked_for_in_the_data_dir_first(tmp_path, monkeypatch):
    corpora = tmp_path / "corpora"
    (corpora / "glove").mkdir(parents=True)
    monkeypatch.setenv(locations.DATA_DIR_VARIABLE, str(corpora))
    assert locations.data_dir() == corpora
    # not in LSTMLAB_DATA_DIR: the bundled sample
    glove = "glove/glove.6B.50d.subset.txt.gz"
    assert locations.sample_file(glove) == str(ROOT / "data" / glove)
    (corpora / glove).write_bytes(b"")
    assert locations.sample_file(glove) == str(corpora / glove)
    (corpora / "inaugural").mkdir()
    (corpora / "inaugural" / "train.txt.gz").write_bytes(b"")  # found by its gzipped copy
    assert locations.sample_file("inaugural/train.txt") == str(corpora / "inaugural/train.txt")


def test_resume_dir(tmp_path):
    run = tmp_path / "logs/pos_ewt/runs/2026-01-01_00-00-00"
    assert resume_dir(str(run / "checkpoints/last.ckpt"), "new") == str(run)
    assert resume_dir(str(tmp_path / "downloaded.ckpt"), "new") == "new"
    assert resume_dir(None, "new") == "new"


def test_tune_malloc_respects_user_settings(monkeypatch):
    monkeypatch.setenv("MALLOC_MMAP_MAX_", "65536")
    assert tune_malloc() is False
    monkeypatch.delenv("MALLOC_MMAP_MAX_")
    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        pytest.skip("mallopt tuning is for glibc")
    assert tune_malloc() is True


def test_bound_primitive_cache_respects_user_settings(monkeypatch):
    monkeypatch.setenv(CAPACITY_VARIABLE, "512")
    assert bound_primitive_cache() is False and os.environ[CAPACITY_VARIABLE] == "512"
    monkeypatch.delenv(CAPACITY_VARIABLE)
    assert bound_primitive_cache(8) is True and os.environ[CAPACITY_VARIABLE] == "8"


CACHE_GROWTH = """
import os, sys, torch
from lstmlab.utils.onednn_cache import bound_primitive_cache
if sys.argv[1] == "bounded":
    bound_primitive_cache(8)
torch.set_num_threads(1)
lstm = torch.nn.LSTM(128, 256, batch_first=True)
def rss_mib():
    return int(open("/proc/self/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
with torch.inference_mode():
    lstm(torch.randn(8, 1, 128))
    start = rss_mib()
    for length in range(2, 200):   # a new shape each call, as in an export of sentences sorted by length
        lstm(torch.randn(8, length, 128))
print(rss_mib() - start)
"""


def test_a_bounded_kernel_cache_keeps_memory_from_growing_with_each_new_shape():
    """oneDNN keeps a kernel per input shape (1,024 by default): memory grows over an export's many shapes unless
    the export commands bound the cache. 52 MiB against 16 here, on a Zen 4."""
    import subprocess
    import sys

    env = {key: value for key, value in os.environ.items() if key != CAPACITY_VARIABLE}
    growth = {kind: float(subprocess.run([sys.executable, "-c", CACHE_GROWTH, kind], capture_output=True, text=True,
                                         env=env, check=True).stdout)
              for kind in ("default", "bounded")}
    assert growth["bounded"] < growth["default"] / 2, growth


def test_exports_get_the_usual_file_modes_not_mkdtemp_private_ones(tmp_path):
    from lstmlab.io.model_folder import save_model_folder
    from lstmlab.utils.atomic_file import umask

    folder = save_model_folder(tmp_path / "model", {"kind": "x"}, {"w": torch.zeros(2)})
    mask = umask()
    assert os.stat(folder).st_mode & 0o777 == 0o777 & ~mask
    assert os.stat(folder / "model.safetensors").st_mode & 0o777 == 0o666 & ~mask
