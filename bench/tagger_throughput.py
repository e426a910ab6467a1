"""Tagger throughput: Lightning training vs a plain PyTorch loop of the same network on the same batches,
and inference speed of `Tagger.predict` and of the `lstmlab-tag` command. Prints a Markdown table headed by the CPU
it ran on (`describe_cpu()`): the figures differ several-fold between machines. The bf16 row runs only where oneDNN
has a bf16 LSTM (AVX-512 bf16 or AMX); elsewhere it reads n/a instead of crashing the run.

    make bench                      # 1-layer tagger (the quick start's), 200 timed batches
    make bench ARGS="--layers 2 --crf"
"""

from __future__ import annotations

import argparse
import functools
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import lightning as L
import torch

from lstmlab import Tagger
from lstmlab.data.conllu_reader import read_conllu
from lstmlab.data.tagging_datamodule import TaggingDataModule
from lstmlab.io.model_folder import save_model_folder
from lstmlab.models.bilstm_tagger import BiLSTMTagger
from lstmlab.tasks.tagging import TaggingTask
from lstmlab.utils.cpu import bf16_lstm_supported, describe_cpu

ROOT = Path(__file__).resolve().parents[1]
EWT = ROOT / "data" / "ud_english_ewt"
WARMUP = 10
NO_BF16 = "n/a (this CPU has no bf16 LSTM in oneDNN)"


def make_net(datamodule: TaggingDataModule, args: argparse.Namespace) -> BiLSTMTagger:
    torch.manual_seed(0)
    return TaggingTask.build(datamodule, functools.partial(BiLSTMTagger.from_options, num_layers=args.layers,
                                                           use_crf=args.crf)).net


def adam(params) -> torch.optim.Optimizer:
    """The optimizer of conf/model/tagger.yaml."""
    return torch.optim.Adam(params, lr=2e-3, betas=(0.9, 0.9), fused=True)


def tokens_in(batches: list[dict]) -> int:
    return sum(int(b["mask"].sum()) for b in batches)


def plain_loop(net: BiLSTMTagger, batches: list[dict], autocast: bool = False) -> float:
    """tokens/s of forward + backward + clip + Adam step, after WARMUP batches."""
    optimizer = adam(net.parameters())
    net.train()
    started = 0.0
    for index, batch in enumerate(batches):
        if index == WARMUP:
            started = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
            emissions = net(batch["words"], batch["chars"], batch["mask"])
        loss = net.loss(emissions, batch["tags"], batch["mask"])
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 5.0)
        optimizer.step()
    return tokens_in(batches[WARMUP:]) / (time.perf_counter() - started)


class _Timer(L.Callback):
    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if batch_idx == WARMUP:
            self.started = time.perf_counter()

    def on_train_end(self, trainer, pl_module) -> None:
        self.seconds = time.perf_counter() - self.started


def lightning_loop(net: BiLSTMTagger, datamodule: TaggingDataModule, batches: list[dict]) -> float:
    """tokens/s of the same steps through TaggingTask + Trainer (metrics and logging included)."""
    task = TaggingTask(net, datamodule.vocabs, optimizer=adam)
    timer = _Timer()
    trainer = L.Trainer(accelerator="cpu", max_epochs=1, logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False, limit_val_batches=0,
                        gradient_clip_val=5.0, callbacks=[timer])
    loader = torch.utils.data.DataLoader(batches, batch_size=None, shuffle=False)
    trainer.fit(task, train_dataloaders=loader)
    return tokens_in(batches[WARMUP:]) / timer.seconds


def inference(net: BiLSTMTagger, datamodule: TaggingDataModule) -> tuple[float, float, int]:
    """(Tagger.predict tokens/s, lstmlab-tag tokens/s including start-up and model loading, tokens)."""
    sentences = [s["tokens"] for s in read_conllu(EWT / "en_ewt-ud-test.conllu.gz")]
    tokens = sum(len(s) for s in sentences)
    with tempfile.TemporaryDirectory() as folder:
        model_dir = Path(folder) / "model"
        save_model_folder(model_dir, TaggingTask(net, datamodule.vocabs).payload(), net.state_dict())
        tagger = Tagger.load(model_dir)
        tagger.predict(sentences[:200])
        started = time.perf_counter()
        tagger.predict(sentences)
        predict_rate = tokens / (time.perf_counter() - started)
        text = Path(folder) / "test.txt"
        text.write_text("\n".join(" ".join(s) for s in sentences) + "\n", encoding="utf-8")
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "lstmlab.cli.tag", "--model", str(model_dir), "--tokenized", str(text)],
                       check=True, stdout=subprocess.DEVNULL)
        command_rate = tokens / (time.perf_counter() - started)
    return predict_rate, command_rate, tokens


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batches", type=int, default=200, help="timed training batches (after 10 warm-up)")
    parser.add_argument("--layers", type=int, default=1)
    parser.add_argument("--crf", action="store_true")
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()

    datamodule = TaggingDataModule(
        train_path=str(EWT / "en_ewt-ud-train.conllu"), batch_size=args.batch_size,
        vectors={"path": str(ROOT / "data/glove/glove.6B.50d.subset.txt.gz")},
    )
    datamodule.setup("fit")
    loader = iter(datamodule.train_dataloader())
    batches = [next(loader) for _ in range(WARMUP + args.batches)]
    padding = 1 - tokens_in(batches) / sum(b["mask"].numel() for b in batches)

    # plain runs before and after Lightning, so drift in machine speed does not favour either
    plain_before = plain_loop(make_net(datamodule, args), batches)
    lightning = lightning_loop(make_net(datamodule, args), datamodule, batches)
    plain = (plain_before + plain_loop(make_net(datamodule, args), batches)) / 2
    bf16 = plain_loop(make_net(datamodule, args), batches, autocast=True) if bf16_lstm_supported() else None
    predict_rate, command_rate, test_tokens = inference(make_net(datamodule, args), datamodule)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    network = f"{args.layers}-layer BiLSTM 256{' + CRF' if args.crf else ''}, batch {args.batch_size}"
    bf16_cells = (f"{bf16:,.0f}", f"{bf16 / plain:.2f}x") if bf16 is not None else (NO_BF16, "")
    rows = [
        ("train: plain PyTorch loop (fp32)", f"{plain:,.0f}", "1.00x"),
        ("train: lstmlab Lightning TaggingTask (fp32)", f"{lightning:,.0f}", f"{lightning / plain:.2f}x"),
        ("train: plain loop, bf16 autocast", *bf16_cells),
        (f"inference: Tagger.predict ({test_tokens:,} EWT test tokens)", f"{predict_rate:,.0f}", ""),
        ("inference: lstmlab-tag command, incl. start-up", f"{command_rate:,.0f}", ""),
    ]
    print(f"\n{network}; {args.batches} timed batches of EWT train; padding {100 * padding:.1f}%; "
          f"peak RSS {peak_mb:,.0f} MB; {date.today()}\nCPU: {describe_cpu()}\n")
    print("| what | tokens/s | vs plain |\n|---|---:|---:|")
    for row in rows:
        print(f"| {row[0]} | {row[1]} | {row[2]} |")
    if bf16 is None:
        print("\nbf16 row not run: oneDNN on this CPU cannot build a bf16 LSTM (that needs AVX-512 bf16 or AMX); "
              "train with trainer.precision=32-true here.")
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / f"tagger_throughput_{args.layers}l{'_crf' if args.crf else ''}.json").write_text(
        json.dumps({"network": network, "padding": padding, "rows": rows, "date": str(date.today()),
                    "cpu": describe_cpu()}, indent=1)
    )


if __name__ == "__main__":
    main()
