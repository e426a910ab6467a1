"""Shared fixtures: tiny real data cut from the bundled UD English EWT, and real Hydra composition."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, open_dict

from lstmlab.cli.hydra_app import expose_plugins, register_resolvers
from lstmlab.data.readers.conllu import read_conllu
from lstmlab.utils.cpu import bf16_lstm_supported, cpu_model

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
register_resolvers()
expose_plugins()  # as lstmlab-train does: Hydra finds hydra/sweeper=optuna

ROOT = Path(__file__).resolve().parents[1]
CONF_DIR = ROOT / "conf"
BUNDLED_EWT = ROOT / "data" / "ud_english_ewt"
FULL_DATA = Path(os.environ.get("LSTMLAB_DATA_DIR") or ROOT / "missing")

needs_bf16 = pytest.mark.skipif(not bf16_lstm_supported(),
                                reason=f"this CPU ({cpu_model()}) has no native bf16: oneDNN builds no bf16 LSTM")
needs_full_data = pytest.mark.skipif(not (FULL_DATA / "ud_english_gum").is_dir(),
                                     reason="needs the full corpora: set LSTMLAB_DATA_DIR (not in a user's clone)")


def _write_conllu(upos: list[dict], xpos: list[dict], path: Path) -> Path:
    with path.open("w", encoding="utf-8") as out:
        for number, (u, x) in enumerate(zip(upos, xpos, strict=True), start=1):
            out.write(f"# sent_id = {number}\n")
            for index, (token, tag, ptb) in enumerate(zip(u["tokens"], u["tags"], x["tags"], strict=True), start=1):
                out.write(f"{index}\t{token}\t_\t{tag}\t{ptb}\t_\t_\t_\t_\t_\n")
            out.write("\n")
    return path


@pytest.fixture(scope="session")
def tiny_ewt(tmp_path_factory) -> dict[str, Path]:
    """Train/dev/test of the first 300/60/60 real EWT sentences (UPOS and XPOS; train has all 17 UPOS tags)."""
    folder = tmp_path_factory.mktemp("tiny_ewt")
    splits = {}
    for split, count in (("train", 300), ("dev", 60), ("test", 60)):
        source = BUNDLED_EWT / f"en_ewt-ud-{split}.conllu.gz"
        upos, xpos = read_conllu(source), read_conllu(source, tag_column="xpos")
        chosen = [(next(upos), next(xpos)) for _ in range(count)]
        splits[split] = _write_conllu([u for u, _ in chosen], [x for _, x in chosen], folder / f"{split}.conllu")
    return splits


@pytest.fixture(scope="session")
def tiny_vectors(tmp_path_factory) -> Path:
    """The first 2,000 lines of the bundled GloVe subset."""
    import gzip

    path = tmp_path_factory.mktemp("vectors") / "glove.tiny.txt"
    with gzip.open(ROOT / "data" / "glove" / "glove.6B.50d.subset.txt.gz", "rt", encoding="utf-8") as source:
        path.write_text("".join(next(source) for _ in range(2000)), encoding="utf-8")
    return path


TINY_MODEL = [
    "model.net.hidden_size=16", "model.net.num_layers=1", "model.net.char_filters=[[3,8]]",
    "data.batch_size=16", "data.eval_batch_size=32", "extras.print_config=false",
    "callbacks.progress_bar=null", "callbacks.model_summary=null",
]


def tiny_data_overrides(tiny: dict[str, Path], vectors: Path) -> list[str]:
    return [
        f"data.train_path={tiny['train']}", f"data.val_path={tiny['dev']}", f"data.test_path={tiny['test']}",
        f"data.vectors.path={vectors}", "data.val_split=0.0",
    ]


def compose_config(config_name: str, overrides: list[str], output_dir: Path) -> DictConfig:
    """Compose the real config from conf/ as `lstmlab-train` would, with the run directory in `output_dir`."""
    # again here: pytest puts each test folder on sys.path, and a namespace package's path is recomputed from
    # sys.path when that changes, dropping the folder expose_plugins added
    expose_plugins()
    GlobalHydra.instance().clear()
    with initialize_config_dir(version_base="1.3", config_dir=str(CONF_DIR)):
        cfg = compose(config_name=config_name, overrides=overrides, return_hydra_config=True)
    with open_dict(cfg):
        cfg.paths.output_dir = str(output_dir)
        cfg.paths.log_dir = str(output_dir / "logs")
        cfg.hydra.runtime.output_dir = str(output_dir)
        cfg.hydra.job.num = 0
    HydraConfig().set_config(cfg)
    return cfg


def evaluate_as_command(overrides: list[str], output_dir: Path) -> dict:
    """`lstmlab-eval` with these overrides, in this process: inside an initialised Hydra, as the command runs, since
    without data=... it composes the data config of the model's kind."""
    from lstmlab.cli.eval import evaluate

    cfg = compose_config("eval.yaml", overrides, output_dir)
    with initialize_config_dir(version_base="1.3", config_dir=str(CONF_DIR)):
        return evaluate(cfg)


def eval_command(ckpt_path: Path | str, folder: Path) -> tuple[dict, str]:
    """The real `python -m lstmlab.cli.eval ckpt_path=...` (no data=...), offline, run from `folder`, its logs in
    `folder/logs`: (report.json, the run's log)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    result = subprocess.run([sys.executable, "-m", "lstmlab.cli.eval", f"ckpt_path={ckpt_path}"],
                            capture_output=True, text=True, timeout=300, cwd=folder, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    (report_file,) = (folder / "logs/eval/runs").glob("*/report.json")
    return json.loads(report_file.read_text()), (report_file.parent / "eval.log").read_text()


def train_command(*overrides: str, cwd: Path, multirun: bool = False,
                  timeout: int = 600) -> subprocess.CompletedProcess:
    """The real `python -m lstmlab.cli.train` (`-m` with `multirun`) on the quick-start experiment, offline, run
    from `cwd` as a user would: its runs land in `cwd/logs`."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-m", "lstmlab.cli.train", *(["-m"] if multirun else []),
                           "experiment=pos_quick", *overrides], capture_output=True, text=True, env=env,
                          timeout=timeout, cwd=cwd)


def only_sweep(cwd: Path, task: str = "pos_quick") -> Path:
    """The one multirun folder a sweep started in `cwd` left under `cwd/logs/<task>/multiruns/`."""
    (folder,) = (cwd / "logs" / task / "multiruns").iterdir()
    return folder


def train_tiny(tiny: dict[str, Path], vectors: Path, output_dir: Path, *extra: str) -> dict:
    """The quick-start experiment, tiny and short, on the tiny EWT cut."""
    from lstmlab.cli.train import train

    overrides = ["experiment=pos_quick", *TINY_MODEL, *tiny_data_overrides(tiny, vectors),
                 "trainer.max_epochs=3", "model.optimizer.lr=0.01", *extra]
    return train(compose_config("train.yaml", overrides, output_dir))


@pytest.fixture(scope="session")
def trained(tiny_ewt, tiny_vectors, tmp_path_factory) -> tuple[Path, dict]:
    """(run directory, metrics) of one tiny training run shared by the tests that use a trained model."""
    run = tmp_path_factory.mktemp("run")
    return run, train_tiny(tiny_ewt, tiny_vectors, run)


BUNDLED_SNLI = ROOT / "data" / "snli"


@pytest.fixture(scope="session")
def tiny_snli(tmp_path_factory) -> dict[str, Path]:
    """Train/dev/test of 400/80/80 real SNLI pairs (tokenized dev, the bundled file's first 560 lines)."""
    import gzip

    folder = tmp_path_factory.mktemp("tiny_snli")
    with gzip.open(BUNDLED_SNLI / "snli_1.0_dev.tok.jsonl.gz", "rt", encoding="utf-8") as source:
        lines = [next(source) for _ in range(560)]
    splits = {}
    for split, (start, stop) in {"train": (0, 400), "dev": (400, 480), "test": (480, 560)}.items():
        splits[split] = folder / f"{split}.jsonl"
        splits[split].write_text("".join(lines[start:stop]), encoding="utf-8")
    return splits


TINY_NLI = [
    "experiment=nli_cpu", "model.net.hidden_size=16", "model.net.classifier_hidden=16", "data.batch_size=32",
    "data.eval_batch_size=64", "extras.print_config=false", "callbacks.progress_bar=null",
    "callbacks.model_summary=null",
]


def tiny_nli_overrides(tiny: dict[str, Path], vectors: Path) -> list[str]:
    return [*TINY_NLI, f"data.train_path={tiny['train']}", f"data.val_path={tiny['dev']}",
            f"data.test_path={tiny['test']}", "data.val_split=0.0", f"data.vectors.path={vectors}"]


@pytest.fixture(scope="session")
def trained_nli(tiny_snli, tiny_vectors, tmp_path_factory) -> tuple[Path, dict]:
    """(run directory, metrics) of one tiny NLI run (BiLSTM-max, H=16) shared by the tests that need an encoder."""
    from lstmlab.cli.train import train

    run = tmp_path_factory.mktemp("nli_run")
    overrides = [*tiny_nli_overrides(tiny_snli, tiny_vectors), "trainer.max_epochs=2"]
    return run, train(compose_config("train.yaml", overrides, run))


BUNDLED_TEXT = ROOT / "data" / "inaugural"


@pytest.fixture(scope="session")
def tiny_text(tmp_path_factory) -> dict[str, Path]:
    """Train/dev/test text cut from the bundled inaugural addresses: raw paragraphs with blank lines between."""
    import gzip

    folder = tmp_path_factory.mktemp("tiny_text")
    splits = {}
    for split, lines in {"train": 240, "valid": 40, "test": 40}.items():
        with gzip.open(BUNDLED_TEXT / f"{split}.txt.gz", "rt", encoding="utf-8") as source:
            text = [next(source) for _ in range(lines)]
        splits[split] = folder / f"{split}.txt"
        splits[split].write_text("".join(text), encoding="utf-8")
    return splits


TINY_BILM = [
    "experiment=bilm_text", "model.net.char_dim=8", "model.net.char_filters=[[1,8],[2,8],[3,16]]",
    "model.net.hidden_size=16", "model.net.projection_dim=16", "data.batch_size=4", "data.eval_batch_size=4",
    "data.window=10", "extras.print_config=false", "callbacks.progress_bar=null", "callbacks.model_summary=null",
]


def tiny_bilm_overrides(tiny: dict[str, Path]) -> list[str]:
    return [*TINY_BILM, f"data.train_path={tiny['train']}", f"data.val_path={tiny['valid']}",
            f"data.test_path={tiny['test']}"]


@pytest.fixture(scope="session")
def trained_bilm(tiny_text, tmp_path_factory) -> tuple[Path, dict]:
    """(run directory, metrics) of one tiny biLM run (char CNN of 32 filters, 2 layers of 16 per direction)."""
    from lstmlab.cli.train import train

    run = tmp_path_factory.mktemp("bilm_run")
    overrides = [*tiny_bilm_overrides(tiny_text), "trainer.max_epochs=2"]
    return run, train(compose_config("train.yaml", overrides, run))


@pytest.fixture(scope="module")
def vectors_model(tiny_vectors, tmp_path_factory) -> Path:
    """An export folder of the bag-of-vectors encoder: a real `--model`, made in a moment instead of trained."""
    from lstmlab.inference.sentence_encoder import SentenceEncoder

    return SentenceEncoder.from_vectors(tiny_vectors).save(tmp_path_factory.mktemp("model") / "model")
