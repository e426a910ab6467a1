"""`lstmlab-export --format onnx` and the runtime that reads its folders: every family exported from a real (tiny)
training run, loaded through the calls users know, compared with the PyTorch model on held-out sentences; the
int8 gate; refusals that write nothing."""

from __future__ import annotations

import json
import shutil
from collections import Counter

import numpy as np
import pytest

from lstmlab.cli.embed import main as embed
from lstmlab.cli.export import main as export
from lstmlab.cli.tag import main as tag
from lstmlab.data.readers.conllu import read_conllu
from lstmlab.data.readers.nli import read_nli_jsonl
from lstmlab.export.onnx_export import export_onnx
from lstmlab.export.onnx_graphs import ExportRefused
from lstmlab.inference.elmo import Elmo
from lstmlab.inference.sentence_encoder import SentenceEncoder
from lstmlab.inference.tagger import Tagger
from lstmlab.io.model_errors import ModelFileError, NotAnExportFolder, WrongModelKind
from lstmlab.runtime import Elmo as OnnxElmo
from lstmlab.runtime import SentenceEncoder as OnnxSentenceEncoder
from lstmlab.runtime import Tagger as OnnxTagger
from lstmlab.runtime.viterbi import viterbi

pytest.importorskip("onnxruntime", reason="the export extra: pip install 'lstmlab[export]'")


@pytest.fixture(scope="module")
def tagger_export(trained, tmp_path_factory):
    run, _ = trained
    folder = tmp_path_factory.mktemp("exports") / "tagger-onnx"
    assert export(["--model", str(run), "--format", "onnx", "-o", str(folder)]) == 0
    return run, folder


def test_a_tagger_exports_and_tags_as_the_pytorch_model_does(tagger_export, tiny_ewt):
    run, folder = tagger_export
    assert sorted(path.name for path in folder.iterdir()) == ["README.md", "config.json", "model.onnx"]
    manifest = json.loads((folder / "config.json").read_text())
    assert (manifest["format"], manifest["kind"], manifest["precision"]) == ("lstmlab-onnx", "tagger", "fp32")
    assert manifest["checked_on"] == str(tiny_ewt["dev"])  # the run's validation file, from its model card
    assert manifest["checks"]["fp32_tags_identical"] == 1.0
    assert "## ONNX export (fp32)" in (folder / "README.md").read_text()

    onnx_tagger = Tagger.load(folder)  # PyTorch's class hands an ONNX export to the runtime
    assert isinstance(onnx_tagger, OnnxTagger)
    sentences = [sentence["tokens"] for sentence in read_conllu(tiny_ewt["test"])]
    got, want = onnx_tagger.predict(sentences), Tagger.load(run).predict(sentences)
    assert [s.tags for s in got] == [s.tags for s in want]
    assert onnx_tagger.predict("The cat sat on the mat .").tokens == ["The", "cat", "sat", "on", "the", "mat", "."]
    assert onnx_tagger.tags == Tagger.load(run).tags


def graph_operators(folder) -> Counter:
    import onnx

    return Counter(node.op_type for node in onnx.load(str(folder / "model.onnx")).graph.node)


def test_each_recurrent_layer_is_one_onnx_operator_over_the_real_lengths(tagger_export):
    """No reversal machinery around the layers: ONNX's LSTM reads each sentence within its length (sequence_lens)."""
    operators = graph_operators(tagger_export[1])
    assert operators["LSTM"] == 1 and "GatherElements" not in operators


def test_lstmlab_tag_runs_an_export_as_it_runs_a_run(tagger_export, tmp_path):
    run, folder = tagger_export
    raw = tmp_path / "raw.txt"
    raw.write_text("The quick brown fox jumps over the lazy dog.\nI love it!\n", encoding="utf-8")
    assert tag(["--model", str(folder), str(raw), "-o", str(tmp_path / "onnx.conllu")]) == 0
    assert tag(["--model", str(run), str(raw), "-o", str(tmp_path / "torch.conllu")]) == 0
    assert (tmp_path / "onnx.conllu").read_text() == (tmp_path / "torch.conllu").read_text()


def test_an_export_is_refused_where_the_pytorch_model_is_needed_or_another_kind_expected(tagger_export):
    _, folder = tagger_export
    with pytest.raises(WrongModelKind, match="'tagger' model, expected a 'nli'"):
        SentenceEncoder.load(folder)
    with pytest.raises(ModelFileError, match="an ONNX export.*needs the PyTorch model"):
        export_onnx(str(folder), folder.parent / "again")


def test_int8_is_checked_against_fp32_accuracy_and_refused_without_gold_labels(trained, tmp_path):
    run, _ = trained
    folder = tmp_path / "int8"
    report = export_onnx(str(run), folder, int8=True)
    figures = report.check.figures
    assert report.precision == "int8" and json.loads((folder / "config.json").read_text())["precision"] == "int8"
    assert figures["fp32_acc"] - figures["int8_acc"] <= 0.002  # the gate it passed
    assert OnnxTagger.load(folder).predict("A sentence .").tags  # it runs
    # each recurrent layer is one operator reading within lengths, and int8 quantizes it (not only the products)
    assert graph_operators(folder)["DynamicQuantizeLSTM"] == 1 and "LSTM" not in graph_operators(folder)
    # a model folder without its run's card names no validation data: int8 cannot be checked, nothing is written
    plain = tmp_path / "plain"
    shutil.copytree(run / "model", plain)
    (plain / "README.md").unlink()
    with pytest.raises(ExportRefused, match="int8 needs held-out data with gold labels.*--check-data FILE"):
        export_onnx(str(plain), tmp_path / "refused", int8=True)
    assert not (tmp_path / "refused").exists()


def test_an_export_never_writes_into_a_folder_of_other_files(trained, tmp_path):
    run, _ = trained
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me", encoding="utf-8")
    assert export(["--model", str(run), "-o", str(folder)]) == 2
    assert sorted(path.name for path in folder.iterdir()) == ["notes.txt"]
    with pytest.raises(NotAnExportFolder):
        export_onnx(str(run), folder)


def test_a_sentence_encoder_exports_with_vectors_within_1e4(trained_nli, tmp_path, tiny_snli):
    run, _ = trained_nli
    folder = tmp_path / "encoder-onnx"
    report = export_onnx(str(run), folder)
    assert report.check.figures["fp32_max_abs_difference"] <= 1e-4
    assert report.check.figures["pytorch_acc"] == report.check.figures["fp32_acc"]
    sentences = [" ".join(pair["premise"]) for pair in read_nli_jsonl(tiny_snli["test"])]
    onnx_encoder = SentenceEncoder.load(folder)
    assert isinstance(onnx_encoder, OnnxSentenceEncoder)
    got = onnx_encoder.encode(sentences, normalize_embeddings=True)
    want = SentenceEncoder.load(run).encode(sentences, normalize_embeddings=True)
    assert got.shape == want.shape and np.abs(got - want).max() < 1e-5
    assert onnx_encoder.encode("A man plays.").shape == (onnx_encoder.dim,)
    with pytest.raises(ValueError, match="sentence 1 is empty"):
        onnx_encoder.encode(["A man plays.", " "])
    output = tmp_path / "vectors.npy"
    source = tmp_path / "sentences.txt"
    source.write_text("\n".join(sentences[:20]) + "\n", encoding="utf-8")
    assert embed(["--model", str(folder), str(source), "-o", str(output)]) == 0
    assert np.abs(np.load(output) - SentenceEncoder.load(run).encode(sentences[:20])).max() < 1e-5


def test_an_encoder_export_is_checked_on_sts_pairs_when_given(trained_nli, tmp_path, tiny_snli, trained):
    """STS Benchmark's format, its pairs made of SNLI test pairs scored by label (entailment 5, neutral 2.5,
    contradiction 0)."""
    scores = {"entailment": 5.0, "neutral": 2.5, "contradiction": 0.0}
    lines = [f"main-captions\tsnli\t2015\t{n}\t{scores[pair['label']]}\t{' '.join(pair['premise'])}\t"
             f"{' '.join(pair['hypothesis'])}" for n, pair in enumerate(read_nli_jsonl(tiny_snli["test"]))
             if pair["label"] in scores]
    sts = tmp_path / "sts-test.csv"
    sts.write_text("\n".join(lines) + "\n", encoding="utf-8")
    figures = export_onnx(str(trained_nli[0]), tmp_path / "encoder", check_similarity=str(sts)).check.figures
    assert abs(figures["fp32_sts_spearman"] - figures["pytorch_sts_spearman"]) < 1e-6
    assert -1 <= figures["fp32_sts_spearman"] <= 1
    with pytest.raises(ValueError, match="--check-similarity is for sentence encoders"):
        export_onnx(str(trained[0]), tmp_path / "tagger", check_similarity=str(sts))


def test_a_bilm_exports_as_elmo_with_every_layer_within_1e4(trained_bilm, tmp_path):
    run, _ = trained_bilm
    folder = tmp_path / "elmo-onnx"
    report = export_onnx(str(run), folder)
    assert report.check.figures["fp32_max_abs_difference"] <= 1e-4
    sentences = [["Fellow", "citizens", "of", "the", "Senate", "."], ["We", "observe", "today", "."]]
    onnx_elmo = Elmo.load(folder)
    assert isinstance(onnx_elmo, OnnxElmo)
    got, want = onnx_elmo(sentences), Elmo.load(run)(sentences)
    assert got.layers.shape == tuple(want.layers.shape) and onnx_elmo.num_layers == want.layers.shape[0]
    assert np.abs(got.layers - want.layers.numpy()).max() < 1e-4
    assert (got.mask == want.mask.numpy()).all()


def test_numpy_viterbi_decodes_as_the_crf_does():
    import torch

    from lstmlab.modules.crf import CRF

    torch.manual_seed(0)
    crf = CRF(5)
    for parameter in crf.parameters():
        torch.nn.init.normal_(parameter)
    emissions = torch.randn(4, 9, 5)
    mask = torch.arange(9).expand(4, 9) < torch.tensor([[9], [5], [1], [7]])
    want = crf.decode(emissions, mask).numpy()
    got = viterbi(emissions.numpy(), mask.numpy(), crf.transitions.detach().numpy(), crf.start.detach().numpy(),
                  crf.end.detach().numpy())
    assert (got == want).all()


def test_int8_that_loses_more_than_the_kind_allows_is_refused_with_the_figures():
    """The gate `export_onnx` applies: a tagger may lose 0.2 points, an encoder 0.5 points and 0.01 STS Spearman."""
    from lstmlab.export.onnx_checks import CheckResult, require_int8_accuracy

    kept = CheckResult({"fp32_acc": 0.9159, "int8_acc": 0.9140})
    require_int8_accuracy(kept, "tagger")
    assert kept.failures == [] and round(kept.figures["int8_acc_drop_points"], 2) == 0.19
    lost = CheckResult({"fp32_acc": 0.9159, "int8_acc": 0.9130})
    require_int8_accuracy(lost, "tagger")
    assert lost.failures == ["int8 accuracy 91.30% is 0.29 points below fp32's 91.59%; at most 0.2 allowed"]
    require_int8_accuracy(encoder := CheckResult({"fp32_acc": 0.616, "int8_acc": 0.612}), "nli")
    assert encoder.failures == []


def test_a_run_on_a_hub_layout_folder_is_checked_on_its_validation_split(tiny_ewt, tiny_vectors, tmp_path):
    """The card records `data.val_path=<folder>` with `data.format=hub`: the export reads that folder's validation
    split (as docs/data.md's Parquet run, then docs/deploy.md's int8 export, do)."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from conftest import TINY_MODEL, compose_config

    from lstmlab.cli.train import train

    folder = tmp_path / "my_ud_parquet"
    folder.mkdir()
    for split, source in (("train", "train"), ("validation", "dev"), ("test", "test")):
        sentences = list(read_conllu(tiny_ewt[source]))
        table = pa.table({"tokens": [s["tokens"] for s in sentences], "upos": [s["tags"] for s in sentences]})
        pq.write_table(table, folder / f"{split}.parquet")
    run = tmp_path / "run"
    overrides = ["experiment=pos_quick", *TINY_MODEL, "data.format=hub", f"data.train_path={folder}",
                 f"data.val_path={folder}", f"data.test_path={folder}", "data.tags_field=upos",
                 f"data.vectors.path={tiny_vectors}", "trainer.max_epochs=1"]
    train(compose_config("train.yaml", overrides, run))
    report = export_onnx(str(run), tmp_path / "int8", int8=True)
    assert report.check_source == str(folder)
    assert report.check.figures["tokens"] == sum(len(s["tokens"]) for s in read_conllu(tiny_ewt["dev"]))


RAW_TEXT = 'the state-of-the-art don\'t (U.S.) 그는 "좋다"고 말했다...'  # the two rules split it differently


def with_manifest_edited(folder, target, edit) -> None:
    """A copy of the export at `folder` in `target`, its manifest (in model.onnx) changed by `edit`."""
    from lstmlab.export.onnx_export import with_manifest

    manifest = json.loads((folder / "config.json").read_text())
    edit(manifest)
    target.mkdir()
    (target / "model.onnx").write_bytes(with_manifest((folder / "model.onnx").read_bytes(), manifest))


def test_an_export_records_the_rule_of_its_models_language_and_the_runtime_splits_raw_text_by_it(
        trained, tagger_export, tmp_path):
    """A Korean model's export names the Unicode rule; an English model's names EWT's rule, as every export did."""
    from helpers import saved_with_language

    from lstmlab.data.tokenization import tokenize, unicode_rule

    korean = saved_with_language(trained[0], "ko", tmp_path / "korean")
    export_onnx(str(korean), tmp_path / "korean-onnx")
    manifest = json.loads((tmp_path / "korean-onnx" / "config.json").read_text())
    assert (manifest["tokenizer"], manifest["vocabs"]["language"]) == ("unicode_punctuation", "ko")
    onnx_tagger = OnnxTagger.load(tmp_path / "korean-onnx")
    assert onnx_tagger.predict(RAW_TEXT).tokens == unicode_rule.tokenize(RAW_TEXT)
    assert onnx_tagger.predict(RAW_TEXT).tags == Tagger.load(korean).predict(RAW_TEXT).tags
    raw = tmp_path / "raw.txt"
    raw.write_text(RAW_TEXT + "\n", encoding="utf-8")
    assert tag(["--model", str(tmp_path / "korean-onnx"), str(raw), "-o", str(tmp_path / "onnx.conllu")]) == 0
    assert tag(["--model", str(korean), str(raw), "-o", str(tmp_path / "torch.conllu")]) == 0
    assert (tmp_path / "onnx.conllu").read_text() == (tmp_path / "torch.conllu").read_text()

    _, english = tagger_export
    english_manifest = json.loads((english / "config.json").read_text())
    assert (english_manifest["tokenizer"], english_manifest["vocabs"]["language"]) == ("ud_english_ewt", "en")
    assert OnnxTagger.load(english).predict(RAW_TEXT).tokens == tokenize.tokenize(RAW_TEXT)


def test_an_export_written_before_models_had_a_language_splits_raw_text_as_english(tagger_export, tmp_path):
    from lstmlab.data.tokenization import tokenize

    def as_before(manifest: dict) -> None:
        del manifest["vocabs"]["language"]
        del manifest["tokenizer"]

    with_manifest_edited(tagger_export[1], tmp_path / "old", as_before)
    old = OnnxTagger.load(tmp_path / "old")
    assert old.vocabs.language == "en"
    assert old.predict(RAW_TEXT).tokens == tokenize.tokenize(RAW_TEXT)


def test_an_export_whose_rule_this_lstmlab_does_not_know_is_refused_naming_it(tagger_export, tmp_path):
    """A rule added by a newer lstmlab is refused at load, not replaced by another rule that splits text otherwise."""
    with_manifest_edited(tagger_export[1], tmp_path / "newer", lambda manifest: manifest.update(tokenizer="thai_v2"))
    with pytest.raises(ModelFileError, match=r"newer/model.onnx: raw text is split by the rule 'thai_v2', which this "
                                             r"lstmlab does not know \(it knows ud_english_ewt, unicode_punctuation\)"):
        OnnxTagger.load(tmp_path / "newer")
