"""The runtime without torch, as `pip install lstmlab-runtime` gives it: exports of all three families loaded and
run through the calls and commands users know, where `import torch` fails.

The fast test blocks torch in a subprocess of this interpreter (`sys.modules["torch"] = None`, so that importing it
raises). The slow one builds the runtime's wheel, installs it with its dependencies into a new virtualenv, which
has no torch at all, and compares its outputs with the PyTorch models' (CI runs it: `make test-install`)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT
from helpers import user_env

from lstmlab.data.readers.conllu import read_conllu
from lstmlab.export.onnx_export import export_onnx
from lstmlab.inference.elmo import Elmo
from lstmlab.inference.sentence_encoder import SentenceEncoder
from lstmlab.inference.tagger import Tagger

pytest.importorskip("onnxruntime", reason="the export extra: pip install 'lstmlab[export]'")

SENTENCES = ["The quick brown fox jumps over the lazy dog.", "I love it!", "Where is the station?"]
# what a user runs without torch: each family through its Python call, printed as JSON
USE_EXPORTS = """
import json, sys
sys.modules.setdefault("torch", None) if "--block-torch" in sys.argv else None
from lstmlab import Elmo, SentenceEncoder, Tagger
tagger, encoder, elmo = (cls.load(path) for cls, path in zip((Tagger, SentenceEncoder, Elmo), sys.argv[1:4]))
sentences = json.loads(sys.argv[4])
print(json.dumps({
    "tags": [sentence.tags for sentence in tagger.predict(sentences)],
    "vectors": encoder.encode(sentences).tolist(),
    "layers": elmo([s.split() for s in sentences]).layers.tolist(),
    "classes": [type(obj).__module__ for obj in (tagger, encoder, elmo)],
    "torch_loaded": any(name == "torch" or name.startswith("torch.") for name, module in sys.modules.items()
                        if module is not None),
}))
"""


@pytest.fixture(scope="module")
def exports(trained, trained_nli, trained_bilm, tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("onnx_exports")
    runs = {"tagger": trained[0], "encoder": trained_nli[0], "elmo": trained_bilm[0]}
    return {name: export_onnx(str(run), folder / name).folder for name, run in runs.items()}


def pytorch_outputs(trained, trained_nli, trained_bilm) -> dict:
    return {"tags": [s.tags for s in Tagger.load(trained[0]).predict(SENTENCES)],
            "vectors": SentenceEncoder.load(trained_nli[0]).encode(SENTENCES),
            "layers": Elmo.load(trained_bilm[0])([s.split() for s in SENTENCES]).layers.numpy()}


def check_outputs(printed: str, want: dict) -> None:
    got = json.loads(printed)
    assert not got["torch_loaded"]
    assert got["classes"] == ["lstmlab.runtime.tagger", "lstmlab.runtime.sentence_encoder", "lstmlab.runtime.elmo"]
    assert got["tags"] == want["tags"]
    assert np.abs(np.array(got["vectors"]) - want["vectors"]).max() < 1e-4
    assert np.abs(np.array(got["layers"]) - want["layers"]).max() < 1e-4


def test_exports_run_where_torch_cannot_be_imported(exports, trained, trained_nli, trained_bilm, tmp_path):
    script = tmp_path / "use_exports.py"
    script.write_text(USE_EXPORTS, encoding="utf-8")
    result = subprocess.run([sys.executable, str(script), str(exports["tagger"]), str(exports["encoder"]),
                             str(exports["elmo"]), json.dumps(SENTENCES), "--block-torch"],
                            capture_output=True, text=True, cwd=tmp_path, env=user_env(PYTHONPATH=str(ROOT / "src")))
    assert result.returncode == 0, result.stderr[-3000:]
    check_outputs(result.stdout, pytorch_outputs(trained, trained_nli, trained_bilm))


def build_runtime_wheel(folder: Path) -> Path:
    """`make wheel-runtime`'s steps: the sources copied beside the runtime's pyproject, built into a wheel."""
    source = folder / "source"
    shutil.copytree(ROOT / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    for path in (ROOT / "packaging" / "runtime" / "pyproject.toml", ROOT / "packaging" / "runtime" / "README.md",
                 ROOT / "LICENSE"):
        shutil.copy2(path, source / path.name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(folder),
                    str(source)], check=True, capture_output=True)
    (wheel,) = folder.glob("lstmlab_runtime-*.whl")
    return wheel


def test_the_runtime_has_lstmlabs_version():
    tomllib = pytest.importorskip("tomllib", reason="tomllib is in the standard library from Python 3.11")
    runtime = tomllib.loads((ROOT / "packaging" / "runtime" / "pyproject.toml").read_text())["project"]
    main = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert runtime["version"] == main["version"]
    assert set(runtime["scripts"]) == {"lstmlab-tag", "lstmlab-embed", "lstmlab-elmo"}


@pytest.mark.slow
def test_pip_install_of_the_runtime_runs_exports_without_torch(exports, trained, trained_nli, trained_bilm, tmp_path,
                                                                tiny_ewt):
    wheel = build_runtime_wheel(tmp_path / "dist")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", str(wheel)], check=True,
                   env=user_env())
    python = str(venv / "bin" / "python")
    assert subprocess.run([python, "-c", "import torch"], capture_output=True).returncode != 0
    script = tmp_path / "use_exports.py"
    script.write_text(USE_EXPORTS, encoding="utf-8")
    result = subprocess.run([python, str(script), str(exports["tagger"]), str(exports["encoder"]),
                             str(exports["elmo"]), json.dumps(SENTENCES)], capture_output=True, text=True,
                            cwd=tmp_path, env=user_env())
    assert result.returncode == 0, result.stderr[-3000:]
    check_outputs(result.stdout, pytorch_outputs(trained, trained_nli, trained_bilm))
    # the commands, on a real test file: the same output as the PyTorch model's command
    raw = tmp_path / "raw.txt"
    raw.write_text("\n".join(" ".join(s["tokens"]) for s in read_conllu(tiny_ewt["test"])) + "\n", encoding="utf-8")
    for command, model, output in (("lstmlab-tag", exports["tagger"], "tagged.conllu"),
                                   ("lstmlab-embed", exports["encoder"], "vectors.npy"),
                                   ("lstmlab-elmo", exports["elmo"], "elmo.h5")):
        done = subprocess.run([str(venv / "bin" / command), "--model", str(model), str(raw), "-o", output],
                              capture_output=True, text=True, cwd=tmp_path, env=user_env())
        assert done.returncode == 0, done.stderr[-3000:]
        assert (tmp_path / output).stat().st_size > 0
    torch_tagged = tmp_path / "torch.conllu"
    from lstmlab.cli.tag import main as tag

    assert tag(["--model", str(trained[0]), str(raw), "-o", str(torch_tagged)]) == 0
    assert (tmp_path / "tagged.conllu").read_text() == torch_tagged.read_text()
