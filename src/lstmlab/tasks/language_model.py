"""Bidirectional language modelling: both LMs trained together on running text with truncated backpropagation
through time, perplexity with the full softmax for each direction and their geometric mean.

Lightning 2 has no `truncated_bptt_steps`, so the task carries the state itself: each LM's final state after a
window is detached and fed into the next window of the same rows; it starts from zeros at window 0 (every epoch,
every validation). The training state is saved in checkpoints, per DDP rank, together with the loader's position
(`StreamWindows.state_dict`), so a run resumed mid-epoch continues exactly where it stopped.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn
from torchmetrics import MeanMetric

from lstmlab.data.language_model.batches import DIRECTIONS
from lstmlab.data.language_model.datamodule import BOUNDARY, LanguageModelDataModule
from lstmlab.data.vocab.text_vocabs import TextVocabs
from lstmlab.io.model_card import CardDetails
from lstmlab.models.bilm import BiLanguageModel
from lstmlab.modules.recurrent_stack import LayerState, detach_state
from lstmlab.tasks.base import Task
from lstmlab.utils.ddp import gather_from_ranks

SHORT = {"forward": "fwd", "backward": "bwd"}
# what is minimised: row_sum, each direction's NLL summed along each row (window or sentence) and averaged over
# rows, as Zaremba et al.'s and Kim et al.'s code do (their SGD at lr 1 and clipping at norm 5 are tuned for a
# gradient 35x the per-token mean); token_mean, the mean NLL per token (for Adam/Adagrad). Logged losses and
# perplexities are per token either way.
LOSS_REDUCTIONS = ("row_sum", "token_mean")
STAGES = ("train", "val", "test")


class LanguageModelTask(Task):
    kind = BiLanguageModel.kind
    datamodule_type = LanguageModelDataModule
    example_data = "ptb_lm"
    validate_best = True  # train.py reports val/ppl_fwd, val/ppl_bwd of the best checkpoint too
    card = CardDetails(
        "bidirectional language model (ELMo)", ("language-model", "elmo", "contextual-embeddings"),
        "feature-extraction", "text-generation",
        'from lstmlab import Elmo\nelmo = Elmo.load("{model}")\n'
        'out = elmo([["The", "cat", "sat", "."]])  # out.layers: [layers, 1, 4, dim]',
        "lstmlab-elmo --model {model} tokenized.txt -o elmo.h5")

    def __init__(self, net: BiLanguageModel, vocabs: TextVocabs, loss_reduction: str = "row_sum",
                 **options: Any) -> None:
        options.setdefault("monitor", "val/ppl")
        options.setdefault("mode", "min")
        super().__init__(net, vocabs, **options)
        if loss_reduction not in LOSS_REDUCTIONS:
            raise ValueError(f"loss_reduction must be one of {LOSS_REDUCTIONS}, got {loss_reduction!r}")
        self.loss_reduction = loss_reduction
        # mean negative log-likelihood per predicted token, per stage and direction
        self.nll = nn.ModuleDict({f"{stage}_{d}": MeanMetric() for stage in STAGES for d in DIRECTIONS})
        self.carried: dict[str, dict[str, list[LayerState]]] = {stage: {} for stage in STAGES}

    @classmethod
    def build(cls, datamodule: LanguageModelDataModule, net: Callable[..., BiLanguageModel], **options: Any
              ) -> LanguageModelTask:
        vocabs = datamodule.vocabs
        boundary = vocabs.chars.encode(BOUNDARY[: vocabs.max_word_length])
        return cls(net(num_words=len(vocabs.words), num_chars=len(vocabs.chars), boundary_chars=boundary), vocabs,
                   **options)

    @classmethod
    def from_payload(cls, payload: dict, state: dict[str, torch.Tensor]) -> LanguageModelTask:
        return cls(BiLanguageModel.from_saved(payload["net_config"], state), TextVocabs.from_dict(payload["vocabs"]))

    def _shared_step(self, batch: dict[str, Any], stage: str) -> torch.Tensor:
        stream = "window" in batch
        states = self.carried[stage]
        if stream and batch["window"] == 0:
            states.clear()  # a new pass over the text starts from zeros
        mask = batch.get("mask")
        words = self.net.embed_tokens(batch["chars"])  # each distinct word of the batch once
        losses = []
        for direction in DIRECTIONS:
            tokens = words[batch[f"{direction}_tokens"]]
            layers, final = self.net.run_direction(direction, tokens, states.get(direction))
            if stream:
                states[direction] = detach_state(final)
            nll = self.net.token_nll(layers[-1], batch[f"{direction}_targets"])
            if mask is not None:
                nll = nll[mask]
            losses.append(nll.mean())
            self.nll[f"{stage}_{direction}"].update(losses[-1].detach(), weight=nll.numel())
        loss = (losses[0] + losses[1]) / 2
        if stage == "train" and stream:
            self.trainer.train_dataloader.mark_trained(batch["window"])
        self.log(f"{stage}/loss", loss, on_step=stage == "train", on_epoch=True, prog_bar=True,
                 batch_size=batch["num_tokens"])
        if self.loss_reduction == "token_mean":
            return loss
        rows = batch[f"{DIRECTIONS[0]}_targets"].shape[0]
        return 2 * loss * batch["num_tokens"] / rows  # both directions' sums, per row

    def _log_perplexity(self, stage: str) -> None:
        nll = {d: self.nll[f"{stage}_{d}"].compute() for d in DIRECTIONS}
        for direction in DIRECTIONS:
            self.log(f"{stage}/ppl_{SHORT[direction]}", nll[direction].exp())
            self.nll[f"{stage}_{direction}"].reset()
        # geometric mean of the two perplexities
        self.log(f"{stage}/ppl", ((nll["forward"] + nll["backward"]) / 2).exp(), prog_bar=stage != "train")

    def on_train_epoch_end(self) -> None:
        super().on_train_epoch_end()
        self._log_perplexity("train")

    def on_validation_epoch_end(self) -> None:
        self._log_perplexity("val")

    def on_test_epoch_end(self) -> None:
        self._log_perplexity("test")

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        super().on_save_checkpoint(checkpoint)
        checkpoint["lstmlab_carried_state"] = gather_from_ranks(self.carried["train"])

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        super().on_load_checkpoint(checkpoint)
        per_rank = checkpoint.get("lstmlab_carried_state") or []
        if len(per_rank) > self.global_rank:
            self.carried["train"] = {d: [tuple(s) for s in state] for d, state in per_rank[self.global_rank].items()}
