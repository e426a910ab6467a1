"""Transfer evaluation: readers on tiny files in SentEval's formats, the protocol on answers known by construction,
and `lstmlab-eval-transfer` end to end on a tiny data folder, all with the bag-of-vectors `SentenceEncoder`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import FULL_DATA, needs_bf16, needs_full_data
from scipy.stats import pearsonr, spearmanr

from lstmlab.cli.eval_transfer import main
from lstmlab.data.errors import DataFormatError
from lstmlab.data.readers.senteval import (
    TASKS,
    SentencePairs,
    Sentences,
    TaskData,
    load_stsb,
    read_class_files,
    read_mrpc_file,
    read_sick_file,
    read_sst_file,
    read_stsb_file,
    read_trec_file,
)
from lstmlab.inference.sentence_encoder import SentenceEncoder
from lstmlab.transfer.evaluate import EvaluationSettings, cosine_similarities, evaluate_task
from lstmlab.transfer.report import make_report, markdown

DIM = 8
FILLERS = [f"w{i}" for i in range(30)]
QUICK = EvaluationSettings(folds=3, inner_folds=3)


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return path


@pytest.fixture(scope="module")
def word_vectors() -> dict[str, np.ndarray]:
    """"good" and "bad" far apart on the first axis; fillers random, and 0 on it."""
    rng = np.random.default_rng(0)
    rows = {"good": np.eye(DIM)[0] * 3, "bad": -np.eye(DIM)[0] * 3}
    for word in FILLERS:
        rows[word] = np.concatenate([[0.0], rng.standard_normal(DIM - 1)])
    return {word: np.round(vector, 6) for word, vector in rows.items()}


@pytest.fixture(scope="module")
def vectors_file(tmp_path_factory, word_vectors) -> Path:
    lines = [f"{word} " + " ".join(f"{x:.6f}" for x in vector) for word, vector in word_vectors.items()]
    return write(tmp_path_factory.mktemp("vectors") / "tiny.txt", "\n".join(lines) + "\n")


@pytest.fixture(scope="module")
def encoder(vectors_file) -> SentenceEncoder:
    return SentenceEncoder.from_vectors(vectors_file)


class Recording:
    """An encoder that records the sentences it is asked to embed."""

    def __init__(self, encoder: SentenceEncoder) -> None:
        self.encoder = encoder
        self.dim = encoder.dim
        self.calls: list[list[str]] = []

    def encode(self, sentences: list[str], batch_size: int = 64) -> np.ndarray:
        self.calls.append(list(sentences))
        return self.encoder.encode(sentences, batch_size=batch_size)


def sentence(polarity: str, index: int) -> str:
    return f"{polarity} {FILLERS[index % 30]} {FILLERS[(7 * index + 3) % 30]}"


def polar_sentences(count: int, start: int = 0) -> Sentences:
    """`count` sentences of each polarity, labelled by it: separable on the first embedding axis."""
    texts = [sentence(p, start + i) for p in ("good", "bad") for i in range(count)]
    return Sentences(texts, ["pos"] * count + ["neg"] * count)


# --- the protocol ---------------------------------------------------------------------------------------------


def test_similarity_equals_scipy_on_hand_computed_cosines(encoder, word_vectors):
    words = FILLERS[:12]
    first, second = words, words[3:] + words[:3]
    gold = [float(i % 5) for i in range(len(words))]
    task = TaskData("similarity", {"test": SentencePairs(first, second, gold)})
    result = evaluate_task(encoder, task, QUICK)
    u, v = (np.stack([word_vectors[word] for word in words]) for words in (first, second))
    cosines = (u * v).sum(axis=1) / np.linalg.norm(u, axis=1) / np.linalg.norm(v, axis=1)
    assert result.metrics["pearson"] == pytest.approx(pearsonr(cosines, gold).statistic, abs=1e-6)
    assert result.metrics["spearman"] == pytest.approx(spearmanr(cosines, gold).statistic, abs=1e-6)
    assert result.sizes == {"test": 12} and result.chosen_c == []


def test_cosine_of_an_all_zero_embedding_is_zero():
    u = np.array([[1.0, 0.0], [0.0, 0.0]])
    v = np.array([[1.0, 1.0], [1.0, 0.0]])
    np.testing.assert_allclose(cosine_similarities(u, v), [np.sqrt(0.5), 0.0])


def test_separable_labels_give_accuracy_100_and_shuffled_labels_chance(encoder):
    split = polar_sentences(60)
    result = evaluate_task(encoder, TaskData("classification", {"all": split}), QUICK)
    assert result.metrics == {"accuracy": 100.0}
    assert result.sizes == {"all": 120} and len(result.chosen_c) == 3

    shuffled = Sentences(split.texts, list(np.random.default_rng(1).permutation(split.labels)))
    chance = evaluate_task(encoder, TaskData("classification", {"all": shuffled}), QUICK)
    assert 30 <= chance.metrics["accuracy"] <= 70


def test_a_c_on_the_grids_edge_is_counted_and_noted_in_the_report(encoder):
    """Separable sentences score 100 with every C of a moderate grid, so the tie goes to the smallest: the grid's
    lowest edge in each outer fold, which the report must say (the best C may lie below the grid); a similarity
    task chooses none."""
    settings = EvaluationSettings(folds=3, inner_folds=3, c_grid=(0.25, 1.0, 4.0))
    split = polar_sentences(60)
    results = {"mr": evaluate_task(encoder, TaskData("classification", {"all": split}), settings),
               "trec": evaluate_task(encoder, TaskData("classification", {"train": split, "test": split}), settings),
               "stsb": evaluate_task(encoder, TaskData("similarity", {"test": SentencePairs(
                   split.texts, split.texts[::-1], [float(i % 5) for i in range(120)])}), settings)}
    assert results["mr"].c_at_grid_edge == {"lowest": 3, "highest": 0}
    assert not any(results["stsb"].c_at_grid_edge.values())
    notes = [line for line in markdown(make_report("m", {}, DIM, settings, results, 1.0)).splitlines()
             if "grid's edge" in line]
    assert notes == ["- MR: C at the grid's edge in 3 of 3 folds (3 at its lowest, 0.25): the best C may lie beyond "
                     "the grid",
                     "- TREC: C at the grid's edge in 1 of 1 choices (1 at its lowest, 0.25): the best C may lie "
                     "beyond the grid"]


@pytest.mark.parametrize("splits", [("train", "dev", "test"), ("train", "test")])
def test_given_splits_choose_c_on_dev_or_by_cv_on_train(encoder, splits):
    data = {name: polar_sentences(20, start=10 * index) for index, name in enumerate(splits)}
    result = evaluate_task(encoder, TaskData("classification", data), QUICK)
    assert result.metrics == {"accuracy": 100.0}
    assert result.sizes == dict.fromkeys(splits, 40) and len(result.chosen_c) == 1


def test_pair_classification_uses_both_sentences_and_reports_f1(encoder):
    """A pair is "1" when both sentences have the same polarity: only [u, v, |u-v|, u*v] together tell."""
    def pairs(count: int, start: int) -> SentencePairs:
        first, second, labels = [], [], []
        for i in range(start, start + count):
            a, b = ("good", "bad")[i % 2], ("good", "bad")[(i // 2) % 2]
            first.append(sentence(a, i))
            second.append(sentence(b, i + 11))
            labels.append("1" if a == b else "0")
        return SentencePairs(first, second, labels)

    task = TaskData("classification", {"train": pairs(80, 0), "test": pairs(40, 200)}, positive_label="1")
    result = evaluate_task(encoder, task, QUICK)
    assert result.metrics == {"accuracy": 100.0, "f1": 100.0}


def test_each_distinct_sentence_is_encoded_once(encoder):
    recording = Recording(encoder)
    train = SentencePairs(["good w1", "bad w2", "good w1"], ["bad w2", "good w3", "bad w4"], [1.0, 2.0, 3.0])
    test = SentencePairs(["good w3", "good w1"], ["bad w4", "bad w9"], [1.0, 4.0])
    evaluate_task(recording, TaskData("similarity", {"train": train, "test": test}), QUICK)
    assert len(recording.calls) == 1
    assert sorted(recording.calls[0]) == sorted({"good w1", "bad w2", "good w3", "bad w4", "bad w9"})


# --- readers --------------------------------------------------------------------------------------------------


def test_class_files_keep_order_and_labels_and_report_blank_lines(tmp_path):
    positive = write(tmp_path / "x.pos", "fine film .\nsecond good one\n\n")
    negative = write(tmp_path / "x.neg", "dull .\n")
    split = read_class_files({"pos": positive, "neg": negative})
    assert split.texts == ["fine film .", "second good one", "dull ."]
    assert split.labels == ["pos", "pos", "neg"]
    assert [(s.path, s.line, s.reason) for s in split.skipped] == [(str(positive), 3, "blank line")]


def test_trec_is_latin1_and_labelled_by_coarse_class(tmp_path):
    path = write(tmp_path / "trec.label", b"NUM:dist How far is it ?\nLOC:city Which sister\xf0city ?\n")
    split = read_trec_file(path)
    assert split.labels == ["NUM", "LOC"]
    assert split.texts == ["How far is it ?", "Which sister\u00f0city ?"]


@pytest.mark.parametrize("text, message", [
    ("NUM:dist How far ?\nWhat is this ?\n", "expected 'COARSE:fine question'"),
    ("NUM:dist How far ?\nSIZE:big What ?\n", "label 'SIZE' is not one of ABBR"),
    ("NUM:dist How far ?\nNUM:dist \n", "the question is empty"),
])
def test_a_bad_trec_line_names_file_and_line(tmp_path, text, message):
    path = write(tmp_path / "trec.label", text)
    with pytest.raises(DataFormatError, match=f"{path}:2: {message}"):
        read_trec_file(path)


def test_sst_reads_sentence_and_label_and_rejects_a_third_label(tmp_path):
    split = read_sst_file(write(tmp_path / "sentiment-dev", "a good film . \t1\nbad \t0\n"))
    assert (split.texts, split.labels) == (["a good film .", "bad"], ["1", "0"])
    path = write(tmp_path / "sentiment-test", "a good film . \t1\nmeh\t2\n")
    with pytest.raises(DataFormatError, match=f"{path}:2: label '2' is not one of 0, 1"):
        read_sst_file(path)


def test_mrpc_skips_its_bom_header_and_requires_it(tmp_path):
    header = "\ufeffQuality\t#1 ID\t#2 ID\t#1 String\t#2 String\n"
    path = write(tmp_path / "m.txt", header + "1\t1\t2\tA café opened .\tA café has opened .\n0\t3\t4\tNo .\tYes .\n")
    split = read_mrpc_file(path)
    assert split.first == ["A café opened .", "No ."] and split.second == ["A café has opened .", "Yes ."]
    assert split.labels == ["1", "0"]
    headless = write(tmp_path / "n.txt", "1\t1\t2\tA .\tB .\n")
    with pytest.raises(DataFormatError, match=f"{headless}:1: expected the header line"):
        read_mrpc_file(headless)


def test_stsb_keeps_quotes_accepts_extra_columns_and_checks_scores(tmp_path):
    lines = ['main-news\tMSRpar\t2012test\t0001\t4.25\tHe said "no.\tHe said no.\tsrc1\tsrc2\n',
             "main-forum\tdeft\t2014\t0002\t0.0\tA .\tB .\n"]
    split = read_stsb_file(write(tmp_path / "sts-test.csv", "".join(lines)))
    assert split.first == ['He said "no.', "A ."] and split.labels == [4.25, 0.0]
    bad = write(tmp_path / "bad.csv", lines[1] + "main-news\tx\t2012\t3\t5.5\tA .\tB .\n")
    with pytest.raises(DataFormatError, match=f"{bad}:2: score 5.5 is outside 0.0-5.0"):
        read_stsb_file(bad)
    short = write(tmp_path / "short.csv", "main-news\tx\t2012\t3\t2.0\tA .\n")
    with pytest.raises(DataFormatError, match=f"{short}:1: expected at least 7 tab-separated fields, found 6"):
        read_stsb_file(short)


def test_sick_gives_relatedness_or_entailment(tmp_path):
    header = "pair_ID\tsentence_A\tsentence_B\trelatedness_score\tentailment_judgment\n"
    path = write(tmp_path / "SICK_train.txt", header + "1\tA dog runs\tA dog is running\t4.5\tENTAILMENT\n"
                                                        "2\tA cat sleeps\tNo cat sleeps\t3.6\tCONTRADICTION\n")
    assert read_sick_file(path, "relatedness").labels == [4.5, 3.6]
    pairs = read_sick_file(path, "entailment")
    assert pairs.labels == ["ENTAILMENT", "CONTRADICTION"] and pairs.second == ["A dog is running", "No cat sleeps"]
    bad = write(tmp_path / "SICK_trial.txt", header + "3\tA\tB\t2.0\tUNKNOWN\n")
    with pytest.raises(DataFormatError, match=f"{bad}:2: label 'UNKNOWN' is not one of CONTRADICTION"):
        read_sick_file(bad, "entailment")


def test_a_similarity_task_reads_its_test_file_given_directly_or_in_its_folder(tmp_path):
    path = write(tmp_path / "stsbenchmark" / "sts-test.csv", "g\tf\ty\t1\t3.0\tA .\tB .\n")
    assert load_stsb(path).splits["test"].labels == load_stsb(path.parent).splits["test"].labels == [3.0]
    with pytest.raises(FileNotFoundError, match="is a file: this task needs the folder that holds rt-polarity.pos"):
        TASKS["mr"].load(path)
    with pytest.raises(FileNotFoundError, match=r"rt-polarity.pos not found \(nor rt-polarity.pos.gz\)"):
        TASKS["mr"].load(tmp_path)


# --- the command ----------------------------------------------------------------------------------------------


def write_tiny_data(root: Path) -> Path:
    """All ten tasks in SentEval's layout and formats, a few dozen examples each."""
    def lines(texts: list[str]) -> str:
        return "".join(f"{text}\n" for text in texts)

    for folder, (first, second) in {"MR": ("rt-polarity.pos", "rt-polarity.neg"),
                                    "CR": ("custrev.pos", "custrev.neg"),
                                    "SUBJ": ("subj.subjective", "subj.objective"),
                                    "MPQA": ("mpqa.pos", "mpqa.neg")}.items():
        write(root / "senteval" / folder / first, lines([sentence("good", i) for i in range(12)]) + "\n")
        write(root / "senteval" / folder / second, lines([sentence("bad", i) for i in range(12)]))
    classes = ("ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM")
    for name, count in (("train_5500.label", 6), ("TREC_10.label", 2)):
        write(root / "senteval" / "TREC" / name,
              lines([f"{label}:x what {sentence('good', i + n)} ?" for n, label in enumerate(classes)
                     for i in range(count)]).encode("latin-1"))
    for split, count in (("train", 12), ("dev", 6), ("test", 6)):
        texts = [f"{sentence(p, i)}\t{label}" for p, label in (("good", 1), ("bad", 0)) for i in range(count)]
        write(root / "senteval" / "SST" / "binary" / f"sentiment-{split}", lines(texts))
    for split, count in (("train", 16), ("test", 8)):
        rows = [f"{i % 2}\t{i}\t{i + 1}\t{sentence('good', i)}\t{sentence(('good', 'bad')[i % 2], i + 5)}"
                for i in range(count)]
        write(root / "senteval" / "MRPC" / f"msr_paraphrase_{split}.txt",
              "\ufeffQuality\t#1 ID\t#2 ID\t#1 String\t#2 String\n" + lines(rows))
    judgments = ("NEUTRAL", "ENTAILMENT", "CONTRADICTION")
    for name, count in (("SICK_train.txt", 18), ("SICK_trial.txt", 6), ("SICK_test_annotated.txt", 9)):
        rows = [f"{i}\t{sentence('good', i)}\t{sentence('bad', i + 2)}\t{1 + i % 5}\t{judgments[i % 3]}"
                for i in range(count)]
        write(root / "sick" / name, "pair_ID\tsentence_A\tsentence_B\trelatedness_score\tentailment_judgment\n"
              + lines(rows))
    write(root / "stsbenchmark" / "sts-test.csv",
          lines([f"main-news\tx\t2012\t{i}\t{i % 6}\t{sentence('good', i)}\t{sentence('bad', 2 * i)}"
                 for i in range(10)]))
    return root


def test_command_scores_every_task_and_writes_json_and_markdown(tmp_path, vectors_file, capsys):
    data = write_tiny_data(tmp_path / "data")
    output = tmp_path / "report"
    assert main(["--vectors", str(vectors_file), "--data-dir", str(data), "--folds", "3", "--inner-folds", "3",
                 "-o", str(output)]) == 0
    assert sorted(p.name for p in output.iterdir()) == ["transfer.json", "transfer.md"]
    report = json.loads((output / "transfer.json").read_text())
    assert set(report) >= {"model", "source", "dim", "settings", "tasks", "seconds"}
    assert report["source"] == {"vectors": str(vectors_file)} and report["dim"] == DIM
    assert list(report["tasks"]) == list(TASKS)
    for name, task in report["tasks"].items():
        expected = {"sickr": {"pearson", "spearman"}, "stsb": {"pearson", "spearman"}, "mrpc": {"accuracy", "f1"}}
        assert set(task["metrics"]) == expected.get(name, {"accuracy"}), name
    assert report["tasks"]["mr"]["metrics"]["accuracy"] == 100.0
    assert report["tasks"]["cr"]["sizes"] == {"all": 24}
    assert report["tasks"]["cr"]["skipped"] == [
        {"path": str(data / "senteval" / "CR" / "custrev.pos"), "line": 13, "reason": "blank line"}]
    assert report["tasks"]["trec"]["sizes"] == {"train": 36, "test": 12}
    markdown = (output / "transfer.md").read_text()
    titles = [TASKS[name].title for name in TASKS]
    assert "| Model | " + " | ".join(titles) + " |" in markdown
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == ["Model", *titles] and "100.0" in out


def test_command_scores_an_exported_model_as_its_vectors(tmp_path, encoder, vectors_file, capsys):
    """The bag of vectors saved as a model folder goes through --model, and scores what --vectors scores."""
    data = write_tiny_data(tmp_path / "data")
    model = encoder.save(tmp_path / "model")
    common = ["--data-dir", str(data), "--tasks", "stsb,mr", "--folds", "3", "--inner-folds", "3"]
    assert main(["--model", str(model), *common, "-o", str(tmp_path / "m")]) == 0
    assert main(["--vectors", str(vectors_file), *common, "-o", str(tmp_path / "v")]) == 0
    by_model, by_vectors = (json.loads((tmp_path / run / "transfer.json").read_text()) for run in ("m", "v"))
    assert by_model["source"] == {"model": str(model)} and list(by_model["tasks"]) == ["mr", "stsb"]
    for name, task in by_model["tasks"].items():
        assert task["metrics"] == pytest.approx(by_vectors["tasks"][name]["metrics"]), name
    assert "report in " in capsys.readouterr().err  # the summary line of each run
    assert main(["--model", str(tmp_path / "missing"), *common]) == 2
    assert capsys.readouterr().err.startswith(f"lstmlab-eval-transfer: error: {tmp_path / 'missing'}: no such file")


@needs_bf16
def test_command_scores_an_nli_model_in_bf16_and_notes_its_settings(tmp_path, trained_nli):
    model = str(trained_nli[0])
    common = ["--model", model, "--data-dir", str(write_tiny_data(tmp_path / "data")), "--tasks", "mr", "--folds", "3",
              "--inner-folds", "3"]
    assert main([*common, "-o", str(tmp_path / "fp32")]) == 0
    assert main([*common, "--bf16", "--tokenized", "-o", str(tmp_path / "bf16")]) == 0
    full, half = (json.loads((tmp_path / run / "transfer.json").read_text()) for run in ("fp32", "bf16"))
    assert half["source"] == {"model": model, "input": "whitespace-tokenized", "precision": "bf16"}
    assert half["tasks"]["mr"]["metrics"]["accuracy"] == pytest.approx(full["tasks"]["mr"]["metrics"]["accuracy"],
                                                                       abs=5)


def test_command_names_a_missing_task_folder_and_how_to_set_it(tmp_path, capsys):
    data = write_tiny_data(tmp_path / "data")
    assert main(["--vectors", "unused.txt", "--data-dir", str(data), "--tasks", "mr,trec",
                 "--path", f"trec={tmp_path / 'elsewhere'}"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("lstmlab-eval-transfer: error: TREC data not found: ")
    assert str(tmp_path / "elsewhere") in error
    assert all(hint in error for hint in ("--data-dir", "LSTMLAB_DATA_DIR", "--path trec=DIR"))


def test_command_rejects_an_unknown_task(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--vectors", "v.txt", "--tasks", "mr,sts14"])
    assert exit_.value.code == 2 and "unknown task sts14" in capsys.readouterr().err


# --- the real corpora -----------------------------------------------------------------------------------------


@needs_full_data
def test_real_tasks_have_the_sizes_their_sources_document():
    """Counts of senteval/, sick/ and stsbenchmark/ SOURCE.md; CR and MPQA count their blank lines too, as SentEval
    keeps them (4 in CR, 3 in MPQA, each recorded as skipped)."""
    expected = {"mr": {"all": 10662}, "cr": {"all": 3775}, "subj": {"all": 10000}, "mpqa": {"all": 10606},
                "trec": {"train": 5452, "test": 500}, "mrpc": {"train": 4076, "test": 1725},
                "sst2": {"train": 67349, "dev": 872, "test": 1821}, "sicke": {"train": 4500, "dev": 500, "test": 4927}}
    for name, sizes in expected.items():
        task = TASKS[name].load(FULL_DATA / TASKS[name].folder)
        counted = {split: len(data.labels) + len(data.skipped) for split, data in task.splits.items()}
        assert counted == sizes, name
        assert len(task.skipped) == {"cr": 4, "mpqa": 3}.get(name, 0), name
    for split, count in (("train", 5749), ("dev", 1500), ("test", 1379)):
        assert len(read_stsb_file(FULL_DATA / "stsbenchmark" / f"sts-{split}.csv").labels) == count
    assert len(TASKS["sickr"].load(FULL_DATA / "sick").splits["test"].labels) == 4927
    trec = TASKS["trec"].load(FULL_DATA / "senteval" / "TREC").splits["test"]
    assert {label: trec.labels.count(label) for label in set(trec.labels)} == {
        "NUM": 113, "LOC": 81, "HUM": 65, "DESC": 138, "ENTY": 94, "ABBR": 9}
