"""Tagging outside English, as a user meets it: one `lstmlab-train -m experiment=pos_ud` over the bundled Korean
(Hangul) and Marathi (Devanagari) samples, typed as the docs show it, run from a fresh folder of a clone with no
corpora; its sweep report; each model saved, loaded and tagging its own script, knowing its language."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

from lstmlab import Tagger
from lstmlab.cli.sweep_report import main as sweep_report

SMOKE = ["trainer.max_epochs=1", "model.net.hidden_size=32", "model.net.num_layers=1", "extras.print_config=false",
         "callbacks.progress_bar=null", "callbacks.model_summary=null"]
SENTENCES = {"ko_gsd": (["한국어", "문장을", "태깅한다", "."], "ko"), "mr_ufal": (["एक", "होता", "राजा", "."], "mr")}


@pytest.fixture(scope="module")
def sweep(tmp_path_factory) -> Path:
    """The multirun folder of `lstmlab-train -m experiment=pos_ud data.treebank=ko_gsd,mr_ufal` (1 epoch, small)."""
    cwd = tmp_path_factory.mktemp("user")
    env = {key: value for key, value in os.environ.items() if key != "LSTMLAB_DATA_DIR"}  # a clone: the samples
    env |= {"PYTHONPATH": str(ROOT / "src"), "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    result = subprocess.run([sys.executable, "-m", "lstmlab.cli.train", "-m", "experiment=pos_ud",
                             "data.treebank=ko_gsd,mr_ufal", *SMOKE], capture_output=True, text=True, env=env,
                            timeout=600, cwd=cwd)
    assert result.returncode == 0, result.stderr[-3000:]
    (folder,) = (cwd / "logs" / "pos_ud" / "multiruns").iterdir()
    return folder


@pytest.mark.parametrize("job", [0, 1])
def test_each_treebank_trains_saves_and_its_model_tags_its_own_script(sweep, job):
    treebank = ("ko_gsd", "mr_ufal")[job]
    tokens, language = SENTENCES[treebank]
    metrics = json.loads((sweep / str(job) / "metrics.json").read_text())
    assert metrics["train_sentences"] == 60 and 0 <= metrics["test/acc"] <= 1
    tagger = Tagger.load(sweep / str(job))
    assert tagger.vocabs.language == language and len(tagger.tags) == 17
    assert not tagger.vocabs.lowercase
    tagged = tagger.predict([tokens])[0]
    assert tagged.tokens == tokens and set(tagged.tags) <= set(tagger.tags)
    card = (sweep / str(job) / "model" / "README.md").read_text(encoding="utf-8")
    assert f"language:\n- {language}\n" in card


def test_the_sweep_report_shows_each_treebank_with_its_training_size(sweep, capsys):
    assert sweep_report([str(sweep)]) == 0
    with (sweep / "sweep.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0])[:3] == ["job", "data.treebank", "train_sentences"]
    assert sorted((row["data.treebank"], row["train_sentences"], row["status"]) for row in rows) == [
        ("ko_gsd", "60", "finished"), ("mr_ufal", "60", "finished")]


def test_a_treebank_model_exports_to_onnx_and_the_runtime_tags_as_pytorch_does(sweep, tmp_path):
    pytest.importorskip("onnxruntime", reason="the export extra: pip install 'lstmlab[export]'")
    from lstmlab.cli.export import main as export
    from lstmlab.data.readers.conllu import read_conllu
    from lstmlab.runtime import Tagger as OnnxTagger

    assert Tagger.load(sweep / "0").net.config.char_boundaries  # the recipe's char CNN, begin/end vectors and all
    folder = tmp_path / "ko-onnx"
    assert export(["--model", str(sweep / "0"), "--format", "onnx", "-o", str(folder)]) == 0
    manifest = json.loads((folder / "config.json").read_text())
    assert manifest["checks"]["fp32_tags_identical"] == 1.0 and manifest["vocabs"]["language"] == "ko"
    test_split = ROOT / "data" / "ud_multilingual" / "ko_gsd" / "ko_gsd-ud-test.conllu.gz"
    sentences = [sentence["tokens"] for sentence in read_conllu(test_split)]
    got, want = OnnxTagger.load(folder).predict(sentences), Tagger.load(sweep / "0").predict(sentences)
    assert len(got) == 20 and [s.tags for s in got] == [s.tags for s in want]
