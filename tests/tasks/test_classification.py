"""Sentence classification (SST-2, MR, TREC, TSV files), the long-memory task, the cell choice at composition,
and the sweep and gradient-flow tools."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import torch
from conftest import CONF_DIR, FULL_DATA, compose_config

from lstmlab.cli.grad_flow import main as grad_flow_main
from lstmlab.cli.train import train
from lstmlab.data.classification.datamodule import ClassificationDataModule
from lstmlab.data.classification.labelled_sentences import LabelledSentences
from lstmlab.data.classification.long_memory import LongMemoryDataModule, generate_sequences
from lstmlab.data.classification.sources import load_classification_split
from lstmlab.data.errors import DataFormatError
from lstmlab.models.sequence_classifier import ClassifierConfig, SequenceClassifier

CLASSIFY_EXPERIMENTS = sorted(p.stem for p in (CONF_DIR / "experiment").glob("classify_*.yaml"))
CELL_PRESETS = sorted(p.stem for p in (CONF_DIR / "cell").glob("*.yaml"))
SENTEVAL = FULL_DATA / "senteval"
needs_senteval = pytest.mark.skipif(not SENTEVAL.is_dir(), reason="needs SentEval's data: set LSTMLAB_DATA_DIR")
TINY = ["extras.print_config=false", "callbacks.progress_bar=null", "callbacks.model_summary=null"]


@pytest.fixture(scope="module")
def hypotheses(tiny_snli, tmp_path_factory) -> dict[str, object]:
    """Hypothesis-only NLI (Gururangan et al. 2018) as `text<TAB>label` files: real sentences, real labels."""
    folder = tmp_path_factory.mktemp("hypotheses")
    files = {}
    for split in ("train", "dev", "test"):
        rows = [json.loads(line) for line in tiny_snli[split].read_text(encoding="utf-8").splitlines()]
        files[split] = folder / f"{split}.tsv"
        files[split].write_text("".join(f"{row['sentence2']}\t{row['gold_label']}\n" for row in rows
                                        if row["gold_label"] != "-"), encoding="utf-8")
    return files


def test_tsv_split_keeps_tokens_labels_and_lines(hypotheses):
    dataset = load_classification_split(str(hypotheses["train"]), "train", tokenizer="whitespace")
    first = hypotheses["train"].read_text(encoding="utf-8").splitlines()[0].split("\t")
    assert dataset[0] == {"tokens": first[0].split(), "label": first[1], "line": 1}
    assert set(dataset["label"]) == {"entailment", "neutral", "contradiction"}


@pytest.mark.parametrize(("content", "message"), [
    ("a good film\tpos\nno tab here\n", r":2: expected 'text<TAB>label', found 1 tab-separated field\(s\)"),
    ("a\tpos\n \tneg\n", r":2: empty text"),
    ("a\tpos\nb\t\n", r":2: empty label"),
    ("a\tb\tc\n", r":1: expected 'text<TAB>label', found 3"),
])
def test_malformed_tsv_names_file_and_line(content, message, tmp_path):
    path = tmp_path / "bad.tsv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DataFormatError, match=message) as error:
        load_classification_split(str(path), "train")
    assert error.value.path == str(path)


def test_a_label_the_model_does_not_know_names_file_and_line(hypotheses, tmp_path):
    data = ClassificationDataModule(train_path=str(hypotheses["train"]), test_path=str(hypotheses["test"]),
                                    label_names=["entailment", "neutral", "contradiction"])
    data.setup("fit")
    foreign = tmp_path / "foreign.tsv"
    foreign.write_text("a dog\tentailment\nsome cats\tunrelated\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match=r"foreign.tsv:2: label 'unrelated' is not one of the model's 3 "):
        LabelledSentences.from_dataset(load_classification_split(str(foreign), "test"), data.vocabs, str(foreign))
    assert sorted(data.vocabs.labels.itos) == ["contradiction", "entailment", "neutral"]


def test_batches_pad_and_keep_each_label(hypotheses):
    data = ClassificationDataModule(train_path=str(hypotheses["train"]), batch_size=8)
    data.setup("fit")
    split = data.splits["train"]
    batch = split.__getitems__([0, 1, 2])
    lengths = batch["mask"].sum(dim=1)
    assert batch["words"].shape == batch["mask"].shape and lengths.tolist() == split.lengths[:3].tolist()
    assert batch["words"][~batch["mask"]].eq(0).all() and batch["num_tokens"] == int(lengths.sum())
    assert data.vocabs.labels.itos == ["contradiction", "entailment", "neutral"]  # sorted when not given
    labels = [data.vocabs.labels.itos[i] for i in batch["labels"]]
    assert labels == [line.split("\t")[1] for line in hypotheses["train"].read_text().splitlines()[:3]]


def test_classifier_reads_the_last_real_token_whatever_the_padding():
    """A sequence's scores alone equal its scores padded in a batch (the encoder's state at its last token)."""
    torch.manual_seed(0)
    for encoder, cell in (("lstm", "rnn"), ("bilstm_last", "gru"), ("bilstm_max", "lstm")):
        net = SequenceClassifier(ClassifierConfig(num_words=20, num_classes=3, word_dim=8, encoder=encoder,
                                                  hidden_size=6, cell=cell)).eval()
        words = torch.tensor([[5, 6, 7, 8, 9], [3, 4, 0, 0, 0], [2, 9, 11, 0, 0]])
        mask = words != 0
        batched = net(words, mask)
        for row in range(3):
            length = int(mask[row].sum())
            alone = net(words[row : row + 1, :length], mask[row : row + 1, :length])
            torch.testing.assert_close(batched[row], alone[0], atol=1e-6, rtol=0)


def test_long_memory_sequences_are_seeded_and_the_answer_is_their_start():
    symbols, labels = generate_sequences(500, lag=30, memory_length=2, num_symbols=4, num_noise_symbols=3, seed=7)
    again, same_labels = generate_sequences(500, lag=30, memory_length=2, num_symbols=4, num_noise_symbols=3, seed=7)
    other, _ = generate_sequences(500, lag=30, memory_length=2, num_symbols=4, num_noise_symbols=3, seed=8)
    assert np.array_equal(symbols, again) and np.array_equal(labels, same_labels) and not np.array_equal(symbols, other)
    assert symbols.shape == (500, 2 + 30 + 1)
    assert np.array_equal(labels, symbols[:, 0] * 4 + symbols[:, 1])  # recoverable from the first two symbols
    assert symbols[:, :2].max() < 4 and (symbols[:, 2:-1] >= 4).all() and (symbols[:, 2:-1] < 7).all()
    assert (symbols[:, -1] == 7).all()  # the query
    assert len(set(labels.tolist())) == 16


def test_long_memory_batches_name_their_first_symbols():
    data = LongMemoryDataModule(lag=12, train_size=64, val_size=32, test_size=32, seed=3)
    data.setup()
    vocabs = data.vocabs
    batch = data.splits["train"].__getitems__(list(range(10)))
    assert batch["words"].shape == (10, 15) and batch["mask"].all()
    for words, label in zip(batch["words"], batch["labels"], strict=True):
        tokens = [vocabs.words.itos[i] for i in words]
        assert vocabs.labels.itos[label] == " ".join(tokens[:2]) and tokens[-1] == "?"
        assert all(token.startswith("x") for token in tokens[2:-1])
    other_seed = LongMemoryDataModule(lag=12, train_size=64, val_size=32, test_size=32, seed=4)
    other_seed.setup()
    assert torch.equal(other_seed.splits["test"].__getitems__([0, 1])["words"],
                       data.splits["test"].__getitems__([0, 1])["words"])  # one test set for every seed
    assert not torch.equal(other_seed.splits["train"].__getitems__([0, 1])["words"], batch["words"][:2])


@pytest.mark.parametrize("preset", CELL_PRESETS)
def test_long_memory_fast_dev_run_with_each_cell(preset, tmp_path):
    overrides = ["experiment=long_memory", f"cell={preset}", "debug=fast_dev_run", "data.lag=10", *TINY]
    cfg = compose_config("train.yaml", overrides, tmp_path)
    assert cfg.model.net.cell == ("lstm" if preset.startswith("lstm") else preset)
    assert cfg.model.net.peephole == ("peephole" in preset) and cfg.model.net.coupled_gates == ("coupled" in preset)
    metrics = train(cfg)
    assert 0.0 <= metrics["test/acc"] <= 1.0
    assert json.loads((tmp_path / "metrics.json").read_text())["test/acc"] == metrics["test/acc"]


def test_long_memory_learns_a_short_lag_and_lstmlab_eval_reports_it(tmp_path):
    """A real fit: at lag 3 the LSTM learns to name the two symbols (chance is 1/16); lstmlab-eval tests the saved
    model on the same generated test set, with a per-class report."""
    from lstmlab.cli.eval import evaluate

    run = tmp_path / "run"
    overrides = ["experiment=long_memory", "data.lag=3", "data.train_size=3000", "trainer.max_epochs=4",
                 "model.optimizer.lr=0.01", *TINY]
    metrics = train(compose_config("train.yaml", overrides, run))
    assert metrics["test/acc"] > 0.9
    report = evaluate(compose_config("eval.yaml", [f"ckpt_path={run}", "data=long_memory", "data.lag=3",
                                                   "extras.print_config=false"], tmp_path / "eval"))
    assert report["accuracy"] == pytest.approx(metrics["test/acc"], abs=1e-6)
    assert len(report["per_tag"]) == 16 and report["test_path"] == "LongMemoryDataModule"


@pytest.mark.parametrize(("override", "message"), [
    ("model.net.cell=lstn", r"model.net.cell: unknown cell 'lstn'; allowed values: rnn, gru, lstm"),
    ("model.net.peephole=true", r"model.net.peephole: LSTM variants, impossible with cell='gru'; allowed: "
                                r"cell=lstm, or peephole=false"),
    ("model.net.chrono_init=1", r"model.net.chrono_init: the longest memory in steps, at least 2; got 1"),
])
def test_an_impossible_cell_stops_the_run_before_any_data_is_read(override, message, tmp_path):
    cfg = compose_config("train.yaml", ["experiment=long_memory", "cell=gru", override,
                                        "data.train_size=-1"], tmp_path)  # reading the data would fail otherwise
    with pytest.raises(ValueError, match=message):
        train(cfg)


def test_an_unknown_cell_preset_names_the_choices(tmp_path):
    from hydra.errors import ConfigCompositionException

    with pytest.raises(ConfigCompositionException, match=r"(?s)cell/lstn.*lstm_peephole"):
        compose_config("train.yaml", ["experiment=long_memory", "cell=lstn"], tmp_path)


@pytest.mark.parametrize("experiment", CLASSIFY_EXPERIMENTS)
def test_classify_experiment_fast_dev_run_on_a_tsv_file(experiment, hypotheses, tiny_vectors, tmp_path):
    overrides = [f"experiment={experiment}", "debug=fast_dev_run", "data.format=tsv",
                 f"data.train_path={hypotheses['train']}", f"data.val_path={hypotheses['dev']}",
                 f"data.test_path={hypotheses['test']}", "data.val_split=0.0", "data.test_split=0.0",
                 f"data.vectors.path={tiny_vectors}", "model.net.hidden_size=8", *TINY]
    metrics = train(compose_config("train.yaml", overrides, tmp_path))
    assert 0.0 <= metrics["test/acc"] <= 1.0 and (tmp_path / "model" / "model.safetensors").is_file()


def test_bag_of_vectors_baseline_is_a_frozen_mean_and_a_linear_layer(hypotheses, tiny_vectors, tmp_path):
    """`model=classifier_bov` replaces the experiment's BiLSTM: nothing but the output layer trains."""
    from lstmlab.io.model_folder import load_model_file
    from lstmlab.models.sequence_classifier import SequenceClassifier

    overrides = ["experiment=classify_sst2", "model=classifier_bov", "debug=fast_dev_run", "data.format=tsv",
                 f"data.train_path={hypotheses['train']}", f"data.val_path={hypotheses['dev']}",
                 f"data.test_path={hypotheses['test']}", f"data.vectors.path={tiny_vectors}", *TINY]
    cfg = compose_config("train.yaml", overrides, tmp_path)
    assert cfg.model.net.encoder == "bag_of_vectors" and cfg.data.task == "sst2"
    train(cfg)
    payload, state = load_model_file(tmp_path / "model", SequenceClassifier.kind)
    net = SequenceClassifier.from_saved(payload["net_config"], state)
    trainable = {name for name, parameter in net.named_parameters() if parameter.requires_grad}
    assert trainable == {"output.weight", "output.bias"}


@needs_senteval
def test_senteval_splits_as_published():
    """SST-2: SentEval's three files; TREC: train_5500 and TREC 10; MR: a fixed 10% test share, disjoint from
    train whatever the run's seed."""
    sizes = {}
    for task, folder in (("sst2", "SST/binary"), ("trec", "TREC"), ("mr", "MR")):
        for split in ("train", "test"):
            sizes[task, split] = len(load_classification_split(str(SENTEVAL / folder), split, "senteval", task,
                                                               test_share=0.1 if task == "mr" else 0.0))
    assert sizes == {("sst2", "train"): 67_349, ("sst2", "test"): 1_821, ("trec", "train"): 5_452,
                     ("trec", "test"): 500, ("mr", "train"): 9_596, ("mr", "test"): 1_066}
    train_part = load_classification_split(str(SENTEVAL / "MR"), "train", "senteval", "mr", test_share=0.1)
    test_part = load_classification_split(str(SENTEVAL / "MR"), "test", "senteval", "mr", test_share=0.1)
    assert not {(row["label"], row["line"]) for row in train_part} & {(row["label"], row["line"]) for row in test_part}
    with pytest.raises(ValueError, match="trec has no dev split: set data.val_path=null"):
        load_classification_split(str(SENTEVAL / "TREC"), "val", "senteval", "trec")
    with pytest.raises(ValueError, match="allowed values: mr, cr, subj, mpqa, sst2, trec"):
        load_classification_split(str(SENTEVAL / "MRPC"), "train", "senteval", "mrpc")


@needs_senteval
@pytest.mark.parametrize("experiment", CLASSIFY_EXPERIMENTS)
def test_classify_experiment_fast_dev_run_on_senteval(experiment, tmp_path):
    metrics = train(compose_config("train.yaml", [f"experiment={experiment}", "debug=fast_dev_run", *TINY],
                                   tmp_path))
    assert 0.0 <= metrics["test/acc"] <= 1.0


def test_gradient_flow_writes_one_finite_norm_per_step(tmp_path, capsys):
    prefix = tmp_path / "flow"
    assert grad_flow_main(["--cells", "rnn,lstm_peephole", "--lag", "20", "-o", str(prefix)]) == 0
    rows = list(csv.reader(prefix.with_suffix(".csv").open()))
    assert rows[0] == ["step", "rnn", "lstm_peephole"] and len(rows) == 1 + 2 + 20 + 1
    norms = np.array([[float(value) for value in row[1:]] for row in rows[1:]])
    assert np.isfinite(norms).all() and (norms > 0).all()
    assert (norms[0] < norms[-1]).all()  # untrained, both vanish towards the start
    assert prefix.with_suffix(".png").read_bytes()[:4] == b"\x89PNG"
    assert grad_flow_main(["--cells", "gru_peephole", "-o", str(prefix)]) == 2
    assert "unknown cell 'gru_peephole'" in capsys.readouterr().err


def test_tagger_and_sentence_encoder_take_their_cell_from_the_config(tiny_ewt, tiny_snli, tiny_vectors, tmp_path):
    from conftest import TINY_MODEL, tiny_data_overrides, tiny_nli_overrides

    from lstmlab import SentenceEncoder, Tagger
    from lstmlab.modules.recurrent_cells import UnrolledRecurrentLayer

    tagger_run, nli_run = tmp_path / "tagger", tmp_path / "nli"
    train(compose_config("train.yaml", ["experiment=pos_quick", "cell=gru", "model.net.bidirectional=false",
                                        "debug=fast_dev_run", *TINY_MODEL,
                                        *tiny_data_overrides(tiny_ewt, tiny_vectors)], tagger_run))
    encoder = Tagger.load(tagger_run).net.encoder
    assert isinstance(encoder.forward_layers[0], torch.nn.GRU) and not encoder.backward_layers
    train(compose_config("train.yaml", [*tiny_nli_overrides(tiny_snli, tiny_vectors), "cell=lstm_peephole",
                                        "debug=fast_dev_run"], nli_run))
    layer = SentenceEncoder.load(nli_run).net.encoder.bilstm.forward_layers[0]
    assert isinstance(layer, UnrolledRecurrentLayer) and layer.options.peephole
