"""Tagging outside English, as a user meets it: one `lstmlab-train -m experiment=pos_ud` over the bundled Korean
(Hangul) and Marathi (Devanagari) samples, typed as the docs show it, run from a fresh folder of a clone with no
corpora; its sweep report; each model saved, loaded and tagging its own script, knowing its language."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from conftest import ROOT

from lstmlab import Tagger
from lstmlab.cli.sweep_report import main as sweep_report
from lstmlab.data.readers.conllu import read_conllu

SMOKE = ["trainer.max_epochs=1", "model.net.hidden_size=32", "model.net.num_layers=1", "extras.print_config=false",
         "callbacks.progress_bar=null", "callbacks.model_summary=null"]
SAMPLES = ROOT / "data" / "ud_multilingual" / "ko_gsd"
SENTENCES = {"ko_gsd": (["한국어", "문장을", "태깅한다", "."], "ko"), "mr_ufal": (["एक", "होता", "राजा", "."], "mr")}


def lstmlab_train(cwd: Path, *arguments: str) -> None:
    """`lstmlab-train ...` run in `cwd` as a user of a clone runs it: no corpora, the bundled samples."""
    env = {key: value for key, value in os.environ.items() if key != "LSTMLAB_DATA_DIR"}
    env |= {"PYTHONPATH": str(ROOT / "src"), "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    result = subprocess.run([sys.executable, "-m", "lstmlab.cli.train", *arguments], capture_output=True, text=True,
                            env=env, timeout=600, cwd=cwd)
    assert result.returncode == 0, result.stderr[-3000:]


@pytest.fixture(scope="module")
def sweep(tmp_path_factory) -> Path:
    """The multirun folder of `lstmlab-train -m experiment=pos_ud data.treebank=ko_gsd,mr_ufal` (1 epoch, small)."""
    cwd = tmp_path_factory.mktemp("user")
    lstmlab_train(cwd, "-m", "experiment=pos_ud", "data.treebank=ko_gsd,mr_ufal", *SMOKE)
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
    from lstmlab.runtime import Tagger as OnnxTagger

    assert Tagger.load(sweep / "0").net.config.char_boundaries  # the recipe's char CNN, begin/end vectors and all
    folder = tmp_path / "ko-onnx"
    assert export(["--model", str(sweep / "0"), "--format", "onnx", "-o", str(folder)]) == 0
    manifest = json.loads((folder / "config.json").read_text())
    assert manifest["checks"]["fp32_tags_identical"] == 1.0 and manifest["vocabs"]["language"] == "ko"
    sentences = [sentence["tokens"] for sentence in read_conllu(SAMPLES / "ko_gsd-ud-test.conllu.gz")]
    got, want = OnnxTagger.load(folder).predict(sentences), Tagger.load(sweep / "0").predict(sentences)
    assert len(got) == 20 and [s.tags for s in got] == [s.tags for s in want]


def test_a_bilm_on_a_treebanks_own_text_gives_its_tagger_elmo_features(tmp_path):
    """experiment=bilm_ud reads the Korean sample's words (CoNLL-U, case kept), then experiment=pos_ud_elmo tags
    with its layers: the two commands of conf/experiment/pos_ud_elmo.yaml."""
    from lstmlab import Elmo

    small_bilm = ["model.net.char_dim=8", "model.net.char_filters=[[1,8],[2,8],[3,16]]", "model.net.hidden_size=16",
                  "data.batch_size=4", "data.window=10"]
    lstmlab_train(tmp_path, "experiment=bilm_ud", "data.treebank=ko_gsd", *small_bilm, *SMOKE[:1], *SMOKE[3:])
    (bilm_run,) = (tmp_path / "logs" / "bilm_ud_ko_gsd" / "runs").iterdir()
    elmo = Elmo.load(bilm_run)
    counts = Counter(word for sentence in read_conllu(SAMPLES / "ko_gsd-ud-train.conllu.gz")
                     for word in sentence["tokens"])
    twice = {word for word, count in counts.items() if count >= 2}  # min_word_freq: 2
    assert elmo.vocabs.language == "ko" and not elmo.vocabs.lowercase and len(twice) > 40
    assert set(elmo.vocabs.words.itos) - {"<pad>", "<unk>", "<eos>"} == twice

    lstmlab_train(tmp_path, "experiment=pos_ud_elmo", "data.treebank=ko_gsd", f"model.bilm={bilm_run}", *SMOKE)
    (tagger_run,) = (tmp_path / "logs" / "pos_ud_elmo_ko_gsd" / "runs").iterdir()
    tagger = Tagger.load(tagger_run)
    assert tagger.net.bilm is not None and tagger.vocabs.language == "ko"
    tokens = SENTENCES["ko_gsd"][0]
    assert tagger.predict([tokens])[0].tokens == tokens


def test_feats_as_an_auxiliary_target_train_with_the_tags_and_stay_out_of_tagging(tmp_path):
    """`data.aux_columns=[feats]`: the FEATS head trains (its loss logged) and is saved with the tagger, sized by the
    training split's FEATS values; the saved tagger loads and tags."""
    lstmlab_train(tmp_path, "experiment=pos_ud", "data.treebank=mr_ufal", "data.aux_columns=[feats]",
                  "model.net.aux_weight=0.5", *SMOKE)
    (run,) = (tmp_path / "logs" / "pos_ud_mr_ufal" / "runs").iterdir()
    feats = {value for sentence in read_conllu(ROOT / "data" / "ud_multilingual" / "mr_ufal" /
                                               "mr_ufal-ud-train.conllu.gz", extra_columns=["feats"])
             for value in sentence["feats"]}
    tagger = Tagger.load(run)
    assert tagger.net.config.aux_tags == {"feats": len(feats)} and tagger.net.config.aux_weight == 0.5
    assert tagger.net.aux_outputs["feats"].out_features == len(feats)
    (metrics_file,) = (run / "csv").rglob("metrics.csv")
    header = metrics_file.read_text(encoding="utf-8").splitlines()[0].split(",")
    assert "train/aux_loss_epoch" in header
    tokens = SENTENCES["mr_ufal"][0]
    assert tagger.predict([tokens])[0].tokens == tokens
