"""What an ONNX export must match before it is written: its fp32 graph the PyTorch model (parity), its int8 graph
the fp32 one's accuracy. Each kind is checked through the public calls users make (`Tagger.predict`,
`SentenceEncoder.encode`, `Elmo(...)`), PyTorch's and the runtime's, on the same sentences.

- tagger: fp32 tags identical on at least 99.95% of tokens; int8 accuracy at most 0.2 points below fp32's
- nli: fp32 vectors within 1e-4 (max abs); int8 NLI accuracy (the trained classifier over the int8 vectors) at most
  0.5 points below fp32's, and with STS pairs (`--check-similarity`) Spearman at most 0.01 below
- bilm: fp32 layers within 1e-4; int8: the layers' difference is reported (no accuracy to keep)
- classifier: fp32 scores within 1e-4; int8 accuracy at most 0.5 points below fp32's
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from lstmlab.export.check_data import CheckData
from lstmlab.export.onnx_graphs import ExportRefused
from lstmlab.models.bilm import BiLanguageModel
from lstmlab.models.bilstm_tagger import BiLSTMTagger
from lstmlab.models.nli_classifier import NLIClassifier
from lstmlab.models.sequence_classifier import SequenceClassifier

FP32_TAG_AGREEMENT = 0.9995
FP32_MAX_ABS = 1e-4
INT8_ACCURACY_DROP = {BiLSTMTagger.kind: 0.002, NLIClassifier.kind: 0.005, SequenceClassifier.kind: 0.005}
INT8_SPEARMAN_DROP = 0.01


@dataclass
class CheckResult:
    figures: dict[str, float | int | str] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    def require(self, passed: bool, failure: str) -> None:
        if not passed:
            self.failures.append(failure)


def _accuracy(predicted: list, gold: list) -> float:
    return float(np.mean([p == g for p, g in zip(predicted, gold, strict=True)])) if gold else float("nan")


def check_tagger(task, reference, fp32, int8, data: CheckData) -> CheckResult:
    result = CheckResult()
    predicted = {name: [tag for sentence in api.predict(data.sentences) for tag in sentence.tags]
                 for name, api in (("pytorch", reference), ("fp32", fp32), ("int8", int8)) if api is not None}
    same = np.mean([a == b for a, b in zip(predicted["pytorch"], predicted["fp32"], strict=True)])
    result.figures.update(tokens=len(predicted["fp32"]), fp32_tags_identical=float(same))
    result.require(same >= FP32_TAG_AGREEMENT, f"fp32 tags identical on {same:.4%} of tokens, expected at least "
                                               f"{FP32_TAG_AGREEMENT:.2%}")
    if data.labels is not None:
        gold = [tag for tags in data.labels for tag in tags]
        for name, tags in predicted.items():
            result.figures[f"{name}_acc"] = _accuracy(tags, gold)
    if int8 is not None:
        result.figures["int8_tags_identical"] = float(np.mean(
            [a == b for a, b in zip(predicted["fp32"], predicted["int8"], strict=True)]))
        require_int8_accuracy(result, BiLSTMTagger.kind)
    return result


def require_int8_accuracy(result: CheckResult, kind: str) -> None:
    """int8 accuracy within the kind's allowance of fp32's; without gold labels it cannot be checked: refused."""
    if "fp32_acc" not in result.figures:
        result.failures.append("int8 needs held-out data with gold labels to check its accuracy: give --check-data "
                               "FILE (a validation file in the model's training format)")
        return
    drop = result.figures["fp32_acc"] - result.figures["int8_acc"]
    result.figures["int8_acc_drop_points"] = 100 * drop
    allowed = INT8_ACCURACY_DROP[kind]
    result.require(drop <= allowed, f"int8 accuracy {result.figures['int8_acc']:.2%} is {100 * drop:.2f} points "
                                    f"below fp32's {result.figures['fp32_acc']:.2%}; at most {100 * allowed:.1f} "
                                    "allowed")


def _max_abs(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)).max(initial=0.0))


def check_encoder(task, reference, fp32, int8, data: CheckData) -> CheckResult:
    result = CheckResult()
    vectors = {name: np.asarray(api.encode(data.sentences))
               for name, api in (("pytorch", reference), ("fp32", fp32), ("int8", int8)) if api is not None}
    difference = _max_abs(vectors["pytorch"], vectors["fp32"])
    result.figures.update(sentences=len(data.sentences), fp32_max_abs_difference=difference)
    result.require(difference <= FP32_MAX_ABS, f"fp32 vectors differ from PyTorch's by {difference:.2e} (max abs), "
                                                f"expected at most {FP32_MAX_ABS:.0e}")
    if int8 is not None:
        result.figures["int8_max_abs_difference"] = _max_abs(vectors["fp32"], vectors["int8"])
    labels = task.vocabs.labels
    if data.labels is not None and labels is not None:
        known = [i for i, label in enumerate(data.labels) if label in labels.stoi]
        result.figures["pairs_without_known_label"] = len(data.labels) - len(known)
        gold = [labels.stoi[data.labels[i]] for i in known]
        for name, array in vectors.items():
            u, v = torch.from_numpy(array[0::2][known]), torch.from_numpy(array[1::2][known])
            with torch.no_grad():
                scores = task.net.classifier(torch.cat([u, v, (u - v).abs(), u * v], dim=-1))
            result.figures[f"{name}_acc"] = _accuracy(scores.argmax(dim=1).tolist(), gold)
    if data.similarity is not None:
        _similarity(result, {name: api for name, api in (("pytorch", reference), ("fp32", fp32), ("int8", int8))
                             if api is not None}, data)
    if int8 is not None:
        require_int8_accuracy(result, NLIClassifier.kind)
    return result


def _similarity(result: CheckResult, encoders: dict, data: CheckData) -> None:
    """STS Spearman of each encoder's cosine similarities; int8 within `INT8_SPEARMAN_DROP` of fp32."""
    from scipy.stats import spearmanr

    pairs = data.similarity
    for name, encoder in encoders.items():
        u = encoder.encode(pairs.first, normalize_embeddings=True)
        v = encoder.encode(pairs.second, normalize_embeddings=True)
        cosine = np.sum(np.asarray(u) * np.asarray(v), axis=1)
        result.figures[f"{name}_sts_spearman"] = float(spearmanr(cosine, pairs.labels).statistic)
    if "int8" in encoders:
        drop = result.figures["fp32_sts_spearman"] - result.figures["int8_sts_spearman"]
        result.require(drop <= INT8_SPEARMAN_DROP, f"int8 STS Spearman {result.figures['int8_sts_spearman']:.4f} "
                                                   f"is {drop:.4f} below fp32's; at most {INT8_SPEARMAN_DROP} allowed")


def check_elmo(task, reference, fp32, int8, data: CheckData) -> CheckResult:
    result = CheckResult()
    worst = {"fp32": 0.0, "int8": 0.0}
    for start in range(0, len(data.sentences), 64):
        batch = data.sentences[start : start + 64]
        want = reference(batch).layers.numpy()
        got = fp32(batch).layers
        worst["fp32"] = max(worst["fp32"], _max_abs(want, got))
        if int8 is not None:
            worst["int8"] = max(worst["int8"], _max_abs(got, int8(batch).layers))
    result.figures.update(sentences=len(data.sentences), fp32_max_abs_difference=worst["fp32"])
    if int8 is not None:
        result.figures["int8_max_abs_difference"] = worst["int8"]
    result.require(worst["fp32"] <= FP32_MAX_ABS, f"fp32 layers differ from PyTorch's by {worst['fp32']:.2e} (max "
                                                  f"abs), expected at most {FP32_MAX_ABS:.0e}")
    return result


def check_classifier(task, reference, fp32, int8, data: CheckData) -> CheckResult:
    result = CheckResult()
    encoded = task.vocabs.encode_tokens(data.sentences, with_chars=False)
    padded = encoded.padded_arrays(range(len(data.sentences)), with_chars=False)
    with torch.no_grad():
        scores = {"pytorch": task.net(torch.from_numpy(padded["words"]), torch.from_numpy(padded["mask"])).numpy()}
    for name, model in (("fp32", fp32), ("int8", int8)):
        if model is not None:
            scores[name] = model.run(**padded)[0]
    difference = _max_abs(scores["pytorch"], scores["fp32"])
    result.figures.update(sentences=len(data.sentences), fp32_max_abs_difference=difference)
    result.require(difference <= FP32_MAX_ABS, f"fp32 scores differ from PyTorch's by {difference:.2e} (max abs), "
                                                f"expected at most {FP32_MAX_ABS:.0e}")
    if data.labels is not None:
        gold = [task.vocabs.labels.stoi.get(label, -1) for label in data.labels]
        for name, array in scores.items():
            result.figures[f"{name}_acc"] = _accuracy(array.argmax(axis=1).tolist(), gold)
    if int8 is not None:
        require_int8_accuracy(result, SequenceClassifier.kind)
    return result


CHECKS = {BiLSTMTagger.kind: check_tagger, NLIClassifier.kind: check_encoder, BiLanguageModel.kind: check_elmo,
          SequenceClassifier.kind: check_classifier}


def check_for(kind: str):
    """The check of a model kind's export; a kind without one is refused in one line."""
    if kind not in CHECKS:
        raise ExportRefused(f"a {kind!r} model has no ONNX export check in this lstmlab (it exports {sorted(CHECKS)})")
    return CHECKS[kind]
