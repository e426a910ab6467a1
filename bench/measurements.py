"""The rows of the benchmark tables: each function measures one thing of a family (bench/training_tasks.py) and
returns it as table rows (bench/report.py): training, lstmlab against a plain PyTorch loop of the same network on
the same batches (bench/harness.py) in fp32 and bf16-mixed, the cost of the divergence check, inference and export.
Inference runs untrained networks: speed does not depend on the weights.
"""

from __future__ import annotations

import functools
import gzip
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import lightning as L
import torch
from harness import NO_BF16, SKIPPED, compare, measure_variants, median_ratio, padding, rate, round_batches
from report import Row
from training_tasks import Prepared

from lstmlab.callbacks.divergence_stop import DivergenceStop

ROOT = Path(__file__).resolve().parents[1]
DIVERGENCE_STOP_OFF = "divergence_stop off"
ENCODED_SHARE = 8  # encode() reads every 8th SNLI test sentence
EXPORTED_PARAGRAPHS = 24  # the ELMo export reads the first 24 paragraphs of the inaugural test text


class StepTailTimer(L.Callback):
    """Seconds from the end of backward to the end of the optimizer step (the gradient check, clipping and the
    update; no forward or backward, whose noise would drown a difference of a few percent). Placed before every
    other callback, so its hook runs first."""

    def __init__(self) -> None:
        super().__init__()
        self.seconds = 0.0
        self.steps = 0
        self._started = 0.0

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        trainer.optimizers[0].register_step_post_hook(self._stopped)

    def on_before_optimizer_step(self, trainer: L.Trainer, pl_module: L.LightningModule,
                                 optimizer: torch.optim.Optimizer) -> None:
        self._started = time.perf_counter()

    def _stopped(self, optimizer: torch.optim.Optimizer, args: object, kwargs: object) -> None:
        self.seconds += time.perf_counter() - self._started
        self.steps += 1

    @property
    def per_step(self) -> float:
        return self.seconds / self.steps


def training_rows(prepared: Prepared, batches: int, rounds: int, bf16: bool, divergence_off: bool = False,
                  family: str | None = None) -> list[Row]:
    """Plain loop and lstmlab rows in fp32 and bf16-mixed (n/a where the CPU cannot), with the padding of the timed
    batches; with `divergence_off`, lstmlab without callbacks.divergence_stop too, and the check's cost per step.
    `family` names the rows (default: the family's name)."""
    bench = prepared.bench
    family = family or bench.name
    steps = min(SKIPPED + batches, len(prepared.datamodule.train_dataloader()))
    timed = round_batches(prepared.datamodule, steps)[SKIPPED:]
    items, unit = sum(bench.count(b) for b in timed), f"{bench.unit}/s"
    rows, fp32_plain = [], 0.0
    for precision in ("fp32", "bf16-mixed") if bf16 else ("fp32",):
        tails = {"lstmlab": StepTailTimer(), DIVERGENCE_STOP_OFF: StepTailTimer()}
        lightning = {"lstmlab": lambda tail=tails["lstmlab"]: [tail, DivergenceStop()]}
        if divergence_off and precision == "fp32":
            lightning[DIVERGENCE_STOP_OFF] = lambda tail=tails[DIVERGENCE_STOP_OFF]: [tail]
        results = measure_variants(prepared.make_task, prepared.datamodule, steps, rounds, precision != "fp32",
                                   items, bench.step, prepared.optimizer, prepared.clip, lightning)
        plain, on = results["plain"]["rate"], results["lstmlab"]
        fp32_plain = fp32_plain or plain
        rows += [{"family": family, "what": f"train: plain PyTorch loop ({len(timed)} batches x {rounds})",
                  "precision": precision, "speed": f"{rate(plain)} {unit}", "ratio": f"{plain / fp32_plain:.2f}x fp32",
                  "padding": f"{100 * padding(timed):.1f}%"},
                 {"family": family, "what": "train: lstmlab (the task under the Lightning Trainer)",
                  "precision": precision, "speed": f"{rate(on['rate'])} {unit}",
                  "ratio": f"**{on['ratio']:.2f}x** plain"}]
        if DIVERGENCE_STOP_OFF in results:
            off = results[DIVERGENCE_STOP_OFF]
            rows.append({"family": family, "what": "train: lstmlab with callbacks.divergence_stop=null",
                         "precision": precision, "speed": f"{rate(off['rate'])} {unit}",
                         "ratio": f"on/off: {median_ratio(off['seconds'], on['seconds']):.3f}x a round"})
            with_check, without = tails["lstmlab"].per_step, tails[DIVERGENCE_STOP_OFF].per_step
            share = (with_check - without) / (statistics.median(on["seconds"]) / len(timed))
            rows.append({"family": family, "what": "train: gradient check + clipping + Adam step, "
                                                       "divergence_stop on / off",
                         "precision": precision, "speed": f"{1000 * with_check:.2f} / {1000 * without:.2f} ms",
                         "ratio": f"the check: {100 * share:+.1f}% of a step", "check_share": share})
    if not bf16:
        rows.append({"family": family, "what": "train: plain loop and lstmlab", "precision": "bf16-mixed",
                     "speed": NO_BF16})
    return rows


def alternated(variants: dict[str, Callable[[], object]], rounds: int) -> dict[str, float]:
    """Median seconds per call of each variant after one untimed call each, taking turns (ABBA)."""
    return {name: statistics.median(times) for name, times in alternated_rounds(variants, rounds).items()}


def alternated_rounds(variants: dict[str, Callable[[], object]], rounds: int) -> dict[str, list[float]]:
    """Seconds of each round of each variant after one untimed call each, taking turns (ABBA)."""
    for run in variants.values():
        run()
    return compare({name: functools.partial(_seconds, run) for name, run in variants.items()}, rounds)


def _seconds(run: Callable[[], object]) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def by_precision(run: Callable[[bool], object], bf16: bool, rounds: int) -> dict[str, float]:
    """Median seconds of `run(bf16=False)` and, where the CPU has a bf16 LSTM, of `run(bf16=True)`, alternated."""
    variants = {"fp32": functools.partial(run, False)}
    if bf16:
        variants["bf16"] = functools.partial(run, True)
    return alternated(variants, rounds)


def inference_rows(family: str, what: str, unit: str, amount: int, seconds: dict[str, float]) -> list[Row]:
    """One row per precision of an inference pass over `amount` units; the bf16 row as a ratio to fp32."""
    rows = [{"family": family, "what": what, "precision": precision, "speed": f"{rate(amount / median)} {unit}/s",
             "ratio": f"{seconds['fp32'] / median:.2f}x fp32" if precision != "fp32" else ""}
            for precision, median in seconds.items()]
    if "bf16" not in seconds:
        rows.append({"family": family, "what": what, "precision": "bf16", "speed": NO_BF16})
    return rows


def tagger_inference(prepared: Prepared, rounds: int, bf16: bool) -> list[Row]:
    from lstmlab import Tagger
    from lstmlab.data.readers.conllu import read_conllu

    sentences = [s["tokens"] for s in read_conllu(ROOT / "data/ud_english_ewt/en_ewt-ud-test.conllu.gz")]
    tagger = Tagger(prepared.make_task().net, prepared.datamodule.vocabs)
    amount = sum(len(s) for s in sentences)
    seconds = by_precision(lambda bf16: tagger.predict(sentences, bf16=bf16), bf16, rounds)
    return inference_rows("tagger", f"inference: Tagger.predict, EWT test ({amount:,} tokens)", "tokens", amount,
                          seconds)


def encoder_inference(prepared: Prepared, rounds: int, bf16: bool) -> list[Row]:
    from encode_speed import test_sentences

    from lstmlab.inference.sentence_encoder import SentenceEncoder

    sentences = test_sentences()[::ENCODED_SHARE]
    encoder = SentenceEncoder(prepared.make_task().net, prepared.datamodule.vocabs)
    seconds = by_precision(lambda bf16: encoder.encode(sentences, bf16=bf16), bf16, rounds)
    return inference_rows("nli", f"inference: SentenceEncoder.encode, every {ENCODED_SHARE}th SNLI test sentence "
                                 f"({len(sentences):,}), batch 64", "sentences", len(sentences), seconds)


def elmo_export(prepared: Prepared, rounds: int, bf16: bool) -> list[Row]:
    from lstmlab.cli.elmo import export
    from lstmlab.inference.elmo import Elmo

    with gzip.open(ROOT / "data/inaugural/test.txt.gz", "rb") as source:
        lines = [line for line in source if line.strip()][:EXPORTED_PARAGRAPHS]  # the command refuses blank lines
    elmo = Elmo(prepared.make_task().net, prepared.datamodule.vocabs)
    counted: list[int] = []
    with tempfile.TemporaryDirectory() as folder:
        def run(bf16: bool) -> None:
            _, tokens, _ = export(elmo, lines, "test.txt", Path(folder) / "elmo.h5", layers="all", tokenized=False,
                                  bf16=bf16, progress=False)
            counted.append(tokens)

        seconds = by_precision(run, bf16, rounds)
    what = (f"export: lstmlab-elmo --layers all, the first {len(lines)} paragraphs of the inaugural test text "
            f"({counted[0]:,} tokens)")
    return inference_rows("bilm", what, "tokens", counted[0], seconds)


INFERENCE: dict[str, Callable[[Prepared, int, bool], list[Row]]] = {
    "tagger": tagger_inference, "nli": encoder_inference, "bilm": elmo_export}
