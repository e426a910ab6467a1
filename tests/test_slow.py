"""Long runs: `make test-full` (pytest -m ""). DDP on CPU and the quick start's accuracy bar."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from conftest import ROOT, TINY_MODEL, tiny_data_overrides

pytestmark = pytest.mark.slow


def run_train(*overrides: str, timeout: int) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-m", "lstmlab.train", *overrides], capture_output=True, text=True,
                          env=env, timeout=timeout, cwd=ROOT)


def test_ddp_on_two_cpu_processes(tiny_ewt, tiny_vectors, tmp_path):
    result = run_train("trainer=ddp", "trainer.accelerator=cpu", "trainer.devices=2", "trainer.max_epochs=2",
                       *TINY_MODEL, *tiny_data_overrides(tiny_ewt, tiny_vectors), f"hydra.run.dir={tmp_path}",
                       timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    output = result.stdout + result.stderr
    assert "distributed_backend=gloo" in output and "Starting with 2 processes" in output
    assert re.search(r"test/acc:\s+0\.\d+", output)
    assert (tmp_path / "model" / "model.safetensors").is_file()


def test_quick_start_reaches_95_percent_on_ewt(tmp_path):
    result = run_train("experiment=pos_quick", f"hydra.run.dir={tmp_path}", "callbacks.progress_bar=null",
                       timeout=1800)
    assert result.returncode == 0, result.stderr[-3000:]
    accuracy = float(re.search(r"test/acc:\s+([0-9.]+)", result.stdout + result.stderr).group(1))
    assert accuracy >= 0.95
