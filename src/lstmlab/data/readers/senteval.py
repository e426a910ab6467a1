"""Readers for the ten transfer tasks, in SentEval's `data/downstream` file formats; plain dataclasses out.

Sentences are kept as raw text, since the encoder under test tokenizes them itself. Every line is checked: a
malformed one raises `DataFormatError` naming the file and line; only blank lines are skipped, and each one is
recorded in its split's `skipped`, so that reports can say what was left out (SentEval keeps the blank lines of
CR and MPQA as empty sentences).

Encodings follow the bytes of the files: all are strict UTF-8 (MR, CR, SUBJ and MPQA are ASCII, their few
non-ASCII letters written in `cat -v` notation by SentEval's preparation script), except TREC, read as Latin-1
like its original release and SentEval's reader (train_5500.label has one byte that is not UTF-8).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from lstmlab.data.errors import DataFormatError
from lstmlab.data.text_files import read_lines, resolve_data_file

TaskKind = Literal["similarity", "classification"]


@dataclass
class SkippedLine:
    path: str
    line: int
    reason: str


@dataclass
class Sentences:
    """One split of a single-sentence classification task."""

    texts: list[str]
    labels: list[str]
    skipped: list[SkippedLine] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)  # each sentence's line in its file (from the readers)


@dataclass
class SentencePairs:
    """One split of a sentence-pair task; labels are class names, or gold similarity scores for STS tasks."""

    first: list[str]
    second: list[str]
    labels: list[str] | list[float]
    skipped: list[SkippedLine] = field(default_factory=list)


@dataclass
class TaskData:
    """What the protocol needs of a task. Splits are "all" (evaluated by cross-validation), or "train", "test" and
    optionally "dev" (which, when present, chooses the regularisation); similarity tasks have "test" only."""

    kind: TaskKind
    splits: dict[str, Sentences | SentencePairs]
    positive_label: str | None = None  # the class whose F1 is reported too (MRPC's paraphrases)

    @property
    def skipped(self) -> list[SkippedLine]:
        return [line for split in self.splits.values() for line in split.skipped]


def _content_lines(path: Path, skipped: list[SkippedLine], encoding: str = "utf-8") -> Iterator[tuple[int, str]]:
    """The non-blank numbered lines; each blank one is recorded in `skipped`."""
    for number, line in read_lines(path, encoding):
        if line.strip():
            yield number, line
        else:
            skipped.append(SkippedLine(str(path), number, "blank line"))


def _fields(path: Path, number: int, line: str, count: int, extra_allowed: bool = False) -> list[str]:
    """The tab-separated fields of a line, split as csv's QUOTE_NONE would (the STS files have unbalanced quotes)."""
    fields = line.split("\t")
    if len(fields) < count or (len(fields) > count and not extra_allowed):
        expected = f"at least {count}" if extra_allowed else str(count)
        raise DataFormatError(path, number, f"expected {expected} tab-separated fields, found {len(fields)}")
    return fields


def _text(path: Path, number: int, value: str, what: str) -> str:
    text = value.strip()
    if not text:
        raise DataFormatError(path, number, f"{what} is empty")
    return text


def _label(path: Path, number: int, value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise DataFormatError(path, number, f"label {value!r} is not one of {', '.join(allowed)}")
    return value


def _score(path: Path, number: int, value: str, low: float, high: float) -> float:
    try:
        score = float(value)
    except ValueError:
        raise DataFormatError(path, number, f"score {value!r} is not a number") from None
    if not low <= score <= high:
        raise DataFormatError(path, number, f"score {score} is outside {low}-{high}")
    return score


def _expect_header(path: Path, lines: Iterator[tuple[int, str]], header: str) -> None:
    """Consume the header line, checking it, so that a file without one is not silently read one pair short."""
    number, line = next(lines, (1, ""))
    if line.split() != header.split():
        raise DataFormatError(path, number, f"expected the header line {header!r}")


def read_class_files(files: dict[str, Path]) -> Sentences:
    """MR, CR, SUBJ, MPQA: one sentence per line, one file per class (the keys of `files`)."""
    split = Sentences([], [])
    for label, path in files.items():
        for number, line in _content_lines(path, split.skipped):
            split.texts.append(line.strip())
            split.labels.append(label)
            split.lines.append(number)
    return split


TREC_CLASSES = ("ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM")


def read_trec_file(path: Path) -> Sentences:
    """`COARSE:fine question` per line; the label is the coarse class, as in SentEval's six-way TREC."""
    split = Sentences([], [])
    for number, line in _content_lines(path, split.skipped, encoding="latin-1"):
        tag, _, question = line.partition(" ")
        coarse, colon, fine = tag.partition(":")
        if not colon or not fine:
            raise DataFormatError(path, number, f"expected 'COARSE:fine question', found {tag!r} first")
        split.labels.append(_label(path, number, coarse, TREC_CLASSES))
        split.texts.append(_text(path, number, question, "the question"))
        split.lines.append(number)
    return split


def read_sst_file(path: Path) -> Sentences:
    """SST binary: `sentence<TAB>label` per line, label 0 (negative) or 1 (positive)."""
    split = Sentences([], [])
    for number, line in _content_lines(path, split.skipped):
        text, label = _fields(path, number, line, 2)
        split.texts.append(_text(path, number, text, "the sentence"))
        split.labels.append(_label(path, number, label.strip(), ("0", "1")))
        split.lines.append(number)
    return split


MRPC_HEADER = "Quality\t#1 ID\t#2 ID\t#1 String\t#2 String"


def read_mrpc_file(path: Path) -> SentencePairs:
    """MSR paraphrase corpus: a header, then `quality id1 id2 sentence1 sentence2`; quality 1 is a paraphrase."""
    split = SentencePairs([], [], [])
    lines = _content_lines(path, split.skipped)
    _expect_header(path, lines, MRPC_HEADER)
    for number, line in lines:
        quality, _, _, first, second = _fields(path, number, line, 5)
        split.labels.append(_label(path, number, quality, ("0", "1")))
        split.first.append(_text(path, number, first, "sentence 1"))
        split.second.append(_text(path, number, second, "sentence 2"))
    return split


def read_stsb_file(path: Path) -> SentencePairs:
    """STS Benchmark: `genre file year id score sentence1 sentence2 [sources...]`, score 0-5."""
    split = SentencePairs([], [], [])
    for number, line in _content_lines(path, split.skipped):
        fields = _fields(path, number, line, 7, extra_allowed=True)
        split.labels.append(_score(path, number, fields[4], 0.0, 5.0))
        split.first.append(_text(path, number, fields[5], "sentence 1"))
        split.second.append(_text(path, number, fields[6], "sentence 2"))
    return split


SICK_HEADER = "pair_ID\tsentence_A\tsentence_B\trelatedness_score\tentailment_judgment"
SICK_CLASSES = ("CONTRADICTION", "ENTAILMENT", "NEUTRAL")


def read_sick_file(path: Path, label: Literal["relatedness", "entailment"]) -> SentencePairs:
    """SemEval-2014 SICK split: a header, then `id sentence_A sentence_B relatedness(1-5) judgment` per line."""
    split = SentencePairs([], [], [])
    lines = _content_lines(path, split.skipped)
    _expect_header(path, lines, SICK_HEADER)
    for number, line in lines:
        _, first, second, relatedness, judgment = _fields(path, number, line, 5)
        split.first.append(_text(path, number, first, "sentence_A"))
        split.second.append(_text(path, number, second, "sentence_B"))
        score = _score(path, number, relatedness, 1.0, 5.0)
        split.labels.append(score if label == "relatedness" else _label(path, number, judgment, SICK_CLASSES))
    return split


def task_file(path: Path, name: str) -> Path:
    """`name` inside the task folder `path` (plain or gzipped)."""
    if path.is_file():
        raise FileNotFoundError(f"{path} is a file: this task needs the folder that holds {name}")
    try:
        return resolve_data_file(path / name)
    except FileNotFoundError:
        raise FileNotFoundError(f"{path / name} not found (nor {name}.gz): the task folder must hold it") from None


def _test_file(path: Path, name: str) -> Path:
    """For a task that only evaluates its test split, `path` may be that file itself rather than its folder."""
    return path if path.is_file() else task_file(path, name)


def _binary_task(path: Path, files: dict[str, str]) -> TaskData:
    split = read_class_files({label: task_file(path, name) for label, name in files.items()})
    return TaskData("classification", {"all": split})


def load_mr(path: Path) -> TaskData:
    return _binary_task(path, {"pos": "rt-polarity.pos", "neg": "rt-polarity.neg"})


def load_cr(path: Path) -> TaskData:
    return _binary_task(path, {"pos": "custrev.pos", "neg": "custrev.neg"})


def load_subj(path: Path) -> TaskData:
    return _binary_task(path, {"subjective": "subj.subjective", "objective": "subj.objective"})


def load_mpqa(path: Path) -> TaskData:
    return _binary_task(path, {"pos": "mpqa.pos", "neg": "mpqa.neg"})


def load_sst2(path: Path) -> TaskData:
    splits = {split: read_sst_file(task_file(path, f"sentiment-{split}")) for split in ("train", "dev", "test")}
    return TaskData("classification", splits)


def load_trec(path: Path) -> TaskData:
    splits = {"train": read_trec_file(task_file(path, "train_5500.label")),
              "test": read_trec_file(task_file(path, "TREC_10.label"))}
    return TaskData("classification", splits)


def load_mrpc(path: Path) -> TaskData:
    splits = {"train": read_mrpc_file(task_file(path, "msr_paraphrase_train.txt")),
              "test": read_mrpc_file(task_file(path, "msr_paraphrase_test.txt"))}
    return TaskData("classification", splits, positive_label="1")


def load_sicke(path: Path) -> TaskData:
    names = {"train": "SICK_train.txt", "dev": "SICK_trial.txt", "test": "SICK_test_annotated.txt"}
    splits = {split: read_sick_file(task_file(path, name), "entailment") for split, name in names.items()}
    return TaskData("classification", splits)


def load_sickr(path: Path) -> TaskData:
    return TaskData("similarity", {"test": read_sick_file(_test_file(path, "SICK_test_annotated.txt"), "relatedness")})


def load_stsb(path: Path) -> TaskData:
    return TaskData("similarity", {"test": read_stsb_file(_test_file(path, "sts-test.csv"))})


@dataclass(frozen=True)
class TaskSpec:
    name: str  # as given to --tasks and --path
    title: str  # the column heading, as in the InferSent paper's Table 4
    folder: str  # where the task lives under the data directory
    load: Callable[[Path], TaskData]


# in the column order of the InferSent paper's Table 4 (with STS-B where the paper has STS14)
TASKS: dict[str, TaskSpec] = {spec.name: spec for spec in (
    TaskSpec("mr", "MR", "senteval/MR", load_mr),
    TaskSpec("cr", "CR", "senteval/CR", load_cr),
    TaskSpec("subj", "SUBJ", "senteval/SUBJ", load_subj),
    TaskSpec("mpqa", "MPQA", "senteval/MPQA", load_mpqa),
    TaskSpec("sst2", "SST2", "senteval/SST/binary", load_sst2),
    TaskSpec("trec", "TREC", "senteval/TREC", load_trec),
    TaskSpec("mrpc", "MRPC", "senteval/MRPC", load_mrpc),
    TaskSpec("sickr", "SICK-R", "sick", load_sickr),
    TaskSpec("sicke", "SICK-E", "sick", load_sicke),
    TaskSpec("stsb", "STS-B", "stsbenchmark", load_stsb),
)}
