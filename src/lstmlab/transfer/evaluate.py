"""The transfer protocol (docs/transfer_protocol.md): what is computed from the sentence embeddings of a task.

Two kinds of task, and classification has three ways of choosing the regularisation C:
- similarity (STS-B, SICK-R): cosine of the two embeddings against the gold score, Pearson and Spearman;
- classification of one sentence (its embedding) or of a pair ([u, v, |u-v|, u*v]) by logistic regression, with C
  chosen on the dev split when there is one (SST2, SICK-E), else by k-fold cross-validation on train (TREC, MRPC),
  and tasks without splits (MR, CR, SUBJ, MPQA) scored by an outer cross-validation with that inner choice of C.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from scipy.stats import pearsonr, spearmanr
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from lstmlab.data.readers.senteval import SentencePairs, Sentences, SkippedLine, TaskData

log = logging.getLogger(__name__)

# SentEval's grid for its scikit-learn classifier is 2^-2 .. 2^3; on standardised features of trained encoders
# (512-4096 dimensions) the choice fell on its lower edge for most tasks. For an nli_cpu encoder, CR's inner
# cross-validation peaks at 2^-8 and SICK-E's dev accuracy at 2^-11 (pair features are 4x wider): down to 2^-14
C_GRID = tuple(2.0**power for power in range(-14, 4))
MAX_ITER = 1000  # lbfgs iterations; standardised features converge in far fewer


class Encoder(Protocol):
    """What is evaluated: `lstmlab.SentenceEncoder`, or anything else that embeds raw sentences."""

    dim: int

    def encode(self, sentences: list[str], batch_size: int = ...) -> np.ndarray: ...


@dataclass(frozen=True)
class EvaluationSettings:
    seed: int = 1111  # SentEval's: fold assignment and the classifier's random state
    folds: int = 10  # the cross-validation that scores MR, CR, SUBJ and MPQA
    inner_folds: int = 10  # the cross-validation that chooses C (inside each of those folds; on train for TREC, MRPC)
    batch_size: int = 64  # sentences per encoder call
    c_grid: tuple[float, ...] = C_GRID


@dataclass
class TaskResult:
    metrics: dict[str, float]  # accuracy and f1 in percent; pearson and spearman as correlations
    sizes: dict[str, int]  # examples per split
    chosen_c: list[float]  # one per outer fold, or the one C of a task with a test split
    unconverged_fits: int  # classifier fits that stopped at MAX_ITER
    seconds: float
    skipped: list[SkippedLine] = field(default_factory=list)
    c_at_grid_edge: dict[str, int] = field(default_factory=dict)  # chosen C on the grid's lowest / highest value


def _split_texts(split: Sentences | SentencePairs) -> list[str]:
    return split.texts if isinstance(split, Sentences) else split.first + split.second


def encode_once(encoder: Encoder, task: TaskData, batch_size: int) -> Callable[[list[str]], np.ndarray]:
    """Embed each distinct sentence of the task once; returns the lookup from sentences to their embedding rows."""
    unique = list(dict.fromkeys(text for split in task.splits.values() for text in _split_texts(split)))
    vectors = np.asarray(encoder.encode(unique, batch_size=batch_size), dtype=np.float32)
    if vectors.shape != (len(unique), encoder.dim):
        raise ValueError(f"the encoder returned an array of shape {vectors.shape} for {len(unique)} sentences "
                         f"(expected {(len(unique), encoder.dim)})")
    row = {text: index for index, text in enumerate(unique)}
    return lambda texts: vectors[[row[text] for text in texts]]


def features(split: Sentences | SentencePairs, lookup: Callable[[list[str]], np.ndarray]) -> np.ndarray:
    """A sentence's embedding, or [u, v, |u-v|, u*v] for a pair (InferSent's NLI classifier input)."""
    if isinstance(split, Sentences):
        return lookup(split.texts)
    u, v = lookup(split.first), lookup(split.second)
    return np.hstack([u, v, np.abs(u - v), u * v])


def cosine_similarities(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Row-wise cosine; 0 where either embedding is all zeros (a sentence with no known word in a bag of vectors)."""
    u, v = u.astype(np.float64), v.astype(np.float64)
    norms = np.linalg.norm(u, axis=1) * np.linalg.norm(v, axis=1)
    return np.divide((u * v).sum(axis=1), norms, out=np.zeros(len(u)), where=norms > 0)


def similarity_metrics(u: np.ndarray, v: np.ndarray, gold: list[float]) -> dict[str, float]:
    cosines = cosine_similarities(u, v)
    return {"pearson": float(pearsonr(cosines, gold).statistic), "spearman": float(spearmanr(cosines, gold).statistic)}


class _Classifiers:
    """Fits standardised logistic regressions with one seed, counting the fits that did not converge."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.unconverged = 0

    def fit(self, x: np.ndarray, y: np.ndarray, c: float) -> Pipeline:
        model = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=MAX_ITER, random_state=self.seed))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            model.fit(x, y)
        self.unconverged += any(issubclass(w.category, ConvergenceWarning) for w in caught)
        return model


def _best(grid: tuple[float, ...], score: Callable[[float], float]) -> float:
    """The C of the highest score; the smallest such C on a tie, as SentEval's argmax picks."""
    scores = [score(c) for c in grid]
    return grid[int(np.argmax(scores))]


def grid_edge_counts(chosen: list[float], grid: tuple[float, ...]) -> dict[str, int]:
    """How many chosen C sit on the grid's lowest and on its highest value: there the best C may lie beyond the
    grid, and the score would rise with a wider one."""
    return {"lowest": chosen.count(min(grid)), "highest": chosen.count(max(grid))}


def choose_c_by_cv(x: np.ndarray, y: np.ndarray, settings: EvaluationSettings, classifiers: _Classifiers) -> float:
    folds = list(StratifiedKFold(settings.inner_folds, shuffle=True, random_state=settings.seed).split(x, y))

    def mean_accuracy(c: float) -> float:
        return float(np.mean([classifiers.fit(x[fit], y[fit], c).score(x[held], y[held]) for fit, held in folds]))

    return _best(settings.c_grid, mean_accuracy)


def choose_c_on_dev(train: tuple[np.ndarray, np.ndarray], dev: tuple[np.ndarray, np.ndarray],
                    settings: EvaluationSettings, classifiers: _Classifiers) -> float:
    return _best(settings.c_grid, lambda c: classifiers.fit(*train, c).score(*dev))


def classify(x: dict[str, np.ndarray], y: dict[str, np.ndarray], settings: EvaluationSettings,
             classifiers: _Classifiers) -> tuple[np.ndarray, np.ndarray, list[float]]:
    """(gold labels, predictions, chosen C per fit) on the test split, or out of fold for a task with "all" only."""
    if "all" in x:
        inputs, labels = x["all"], y["all"]
        predictions = np.empty_like(labels)
        chosen = []
        outer = StratifiedKFold(settings.folds, shuffle=True, random_state=settings.seed)
        for train, test in outer.split(inputs, labels):
            c = choose_c_by_cv(inputs[train], labels[train], settings, classifiers)
            predictions[test] = classifiers.fit(inputs[train], labels[train], c).predict(inputs[test])
            chosen.append(c)
        return labels, predictions, chosen
    if "dev" in x:
        c = choose_c_on_dev((x["train"], y["train"]), (x["dev"], y["dev"]), settings, classifiers)
    else:
        c = choose_c_by_cv(x["train"], y["train"], settings, classifiers)
    return y["test"], classifiers.fit(x["train"], y["train"], c).predict(x["test"]), [c]


def evaluate_task(encoder: Encoder, task: TaskData, settings: EvaluationSettings) -> TaskResult:
    start = time.perf_counter()
    lookup = encode_once(encoder, task, settings.batch_size)
    sizes = {name: len(split.labels) for name, split in task.splits.items()}
    if task.kind == "similarity":
        test = task.splits["test"]
        metrics = similarity_metrics(lookup(test.first), lookup(test.second), test.labels)
        return TaskResult(metrics, sizes, [], 0, time.perf_counter() - start, task.skipped)
    classifiers = _Classifiers(settings.seed)
    x = {name: features(split, lookup) for name, split in task.splits.items()}
    y = {name: np.asarray(split.labels) for name, split in task.splits.items()}
    with threadpool_limits(limits=1):  # small fits: one BLAS thread is far faster on a shared CPU
        gold, predictions, chosen = classify(x, y, settings, classifiers)
    metrics = {"accuracy": 100 * float(np.mean(predictions == gold))}
    if task.positive_label is not None:
        metrics["f1"] = 100 * float(f1_score(gold, predictions, pos_label=task.positive_label))
    if classifiers.unconverged:
        log.warning("%d classifier fits stopped at %d iterations before converging", classifiers.unconverged,
                    MAX_ITER)
    edges = grid_edge_counts(chosen, settings.c_grid)
    if any(edges.values()):
        log.warning("C at the grid's edge in %d of %d choices (%d lowest, %d highest)", sum(edges.values()),
                    len(chosen), edges["lowest"], edges["highest"])
    return TaskResult(metrics, sizes, chosen, classifiers.unconverged, time.perf_counter() - start, task.skipped,
                      edges)
