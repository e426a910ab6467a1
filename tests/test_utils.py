"""Run helpers: where runs go, how resumed runs find their directory, malloc tuning."""

from __future__ import annotations

import platform

import pytest
import torch
from conftest import ROOT

from lstmlab.utils.malloc_tuning import tune_malloc
from lstmlab.utils.run_helpers import project_root, resume_dir


def test_project_root_is_the_checkout():
    assert project_root() == str(ROOT)


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


def test_exports_get_the_usual_file_modes_not_mkdtemp_private_ones(tmp_path):
    import os

    from lstmlab.serialization import save_model_folder
    from lstmlab.utils.atomic_file import umask

    folder = save_model_folder(tmp_path / "model", {"kind": "x"}, {"w": torch.zeros(2)})
    mask = umask()
    assert os.stat(folder).st_mode & 0o777 == 0o777 & ~mask
    assert os.stat(folder / "model.safetensors").st_mode & 0o777 == 0o666 & ~mask
