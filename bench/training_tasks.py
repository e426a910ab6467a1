"""The four trained families as the training benchmarks see them: each an experiment config composed as
`lstmlab-train` composes it (the same data module, network and optimizer), and its training step written out as a
plain PyTorch loss for `harness.plain_round`.

    tagger      experiment=pos_quick: 1-layer BiLSTM 256 + char CNN over GloVe 50d, bundled EWT train, batch 32
    nli         experiment=nli_cpu: BiLSTM-max 256 + MLP, bundled SNLI dev as train, batch 64 pairs
    bilm        experiment=bilm_text: bilm_small (char CNN, 2 LSTM layers of 512 per direction, full softmax),
                bundled inaugural addresses, 20 rows x 35 tokens
    classifier  experiment=classify_sst2's network (BiLSTM last state 150) on hypothesis-only NLI: the bundled SNLI
                dev hypotheses and their labels as a text<TAB>label file (SST-2 itself is not bundled), batch 64
"""

from __future__ import annotations

import functools
import gzip
import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hydra
import lightning as L
import torch
from harness import Batch, PlainStep
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig
from torch import nn

from lstmlab.cli.hydra_app import register_resolvers
from lstmlab.data.language_model.batches import DIRECTIONS
from lstmlab.modules.recurrent_stack import LayerState, detach_state

ROOT = Path(__file__).resolve().parents[1]
SNLI_DEV = ROOT / "data" / "snli" / "snli_1.0_dev.tok.jsonl.gz"


def tagger_loss() -> Callable[[nn.Module, Batch], torch.Tensor]:
    def loss(net: nn.Module, batch: Batch) -> torch.Tensor:
        return net.loss(net(batch["words"], batch["chars"], batch["mask"]), batch["tags"], batch["mask"])
    return loss


def nli_loss() -> Callable[[nn.Module, Batch], torch.Tensor]:
    def loss(net: nn.Module, batch: Batch) -> torch.Tensor:
        scores = net(batch["premise_words"], batch["premise_mask"], batch["hypothesis_words"], batch["hypothesis_mask"])
        return net.loss(scores, batch["labels"])
    return loss


def classifier_loss() -> Callable[[nn.Module, Batch], torch.Tensor]:
    def loss(net: nn.Module, batch: Batch) -> torch.Tensor:
        return net.loss(net(batch["words"], batch["mask"]), batch["labels"])
    return loss


def bilm_loss() -> Callable[[nn.Module, Batch], torch.Tensor]:
    """LanguageModelTask's training step: each distinct word through the character CNN once, both LMs from the
    state the previous window left (detached; zeros at window 0), the row-sum loss."""
    states: dict[str, list[LayerState]] = {}

    def loss(net: nn.Module, batch: Batch) -> torch.Tensor:
        words = net.embed_tokens(batch["chars"])
        means = []
        for direction in DIRECTIONS:
            layers, final = net.run_direction(direction, words[batch[f"{direction}_tokens"]], states.get(direction))
            states[direction] = detach_state(final)
            means.append(net.token_nll(layers[-1], batch[f"{direction}_targets"]).mean())
        return (means[0] + means[1]) * batch["forward_targets"].shape[1]  # row_sum: per-row sums, averaged

    return loss


def tokens(batch: Batch) -> int:
    return int(batch["num_tokens"])


def pairs(batch: Batch) -> int:
    return len(batch["labels"])


@functools.cache
def hypotheses_tsv() -> Path:
    """SNLI dev's hypotheses with their gold labels as `text<TAB>label` lines (Gururangan et al.'s
    hypothesis-only baseline): real sentences and labels for the sequence classifier."""
    path = Path(tempfile.mkdtemp(prefix="lstmlab-bench-")) / "snli_hypotheses.tsv"
    with gzip.open(SNLI_DEV, "rt", encoding="utf-8") as lines:
        rows = [json.loads(line) for line in lines]
    path.write_text("".join(f"{row['sentence2']}\t{row['gold_label']}\n" for row in rows), encoding="utf-8")
    return path


@dataclass(frozen=True)
class TrainingBench:
    """One family: its experiment (and overrides), the plain loop's loss, and what its speed counts."""

    name: str
    experiment: str
    step: PlainStep
    count: Callable[[Batch], int]
    unit: str
    overrides: Callable[[], list[str]] = list

    def config(self, extra: list[str] = ()) -> DictConfig:
        """The composed training config, without a learning-rate schedule (it needs validation, which is off)."""
        register_resolvers()
        with initialize_config_dir(version_base="1.3", config_dir=str(ROOT / "conf")):
            return compose("train.yaml", [f"experiment={self.experiment}", "model.scheduler=null",
                                          *self.overrides(), *extra])


@dataclass
class Prepared:
    """A family ready to measure: its data module (set up) and what builds identical tasks."""

    bench: TrainingBench
    cfg: DictConfig
    datamodule: L.LightningDataModule

    @classmethod
    def build(cls, bench: TrainingBench, extra: list[str] = ()) -> Prepared:
        cfg = bench.config(list(extra))
        datamodule = hydra.utils.instantiate(cfg.data)
        datamodule.setup("fit")
        return cls(bench, cfg, datamodule)

    def make_task(self) -> L.LightningModule:
        """The same initial weights on every call (seeded), so every variant trains the same network."""
        torch.manual_seed(0)
        # called, not passed to instantiate: OmegaConf would turn the data module's vocabularies into a config
        return hydra.utils.instantiate(self.cfg.model, _partial_=True)(datamodule=self.datamodule)

    def optimizer(self, params: Any) -> torch.optim.Optimizer:
        return hydra.utils.instantiate(self.cfg.model.optimizer)(params)

    @property
    def clip(self) -> float:
        return float(self.cfg.trainer.gradient_clip_val)


TAGGER = TrainingBench("tagger", "pos_quick", tagger_loss, tokens, "tokens")
NLI = TrainingBench("nli", "nli_cpu", nli_loss, pairs, "pairs")
BILM = TrainingBench("bilm", "bilm_text", bilm_loss, tokens, "tokens")
CLASSIFIER = TrainingBench(
    "classifier", "classify_sst2", classifier_loss, tokens, "tokens",
    overrides=lambda: ["data.format=tsv", "data.task=null", f"data.train_path={hypotheses_tsv()}",
                       "data.val_path=null", "data.test_path=null", "data.val_split=0.0",
                       "data.vectors.path=${sample:glove/glove.6B.50d.subset.txt.gz}"],
)
FAMILIES = {bench.name: bench for bench in (TAGGER, NLI, BILM, CLASSIFIER)}
