"""`make bench-deploy`: every family on each deployment path, in one table. PyTorch fp32 (today's `Tagger.predict`,
`SentenceEncoder.encode`, `Elmo(...)`) against the ONNX export run by lstmlab's torch-free runtime, fp32 and int8,
and OpenVINO's runtime on the same graphs where it installs; Flair's SequenceTagger beside the tagger when its
virtualenv is given (bench/peers/README.md).

Per row: per-sentence latency p50 and p99 at batch 1 and throughput at batch 64 on raw text (UD English EWT test's
`# text` lines, through the public API), the load time (and the import time of what the path needs), the peak RSS
of the process, and the LSTM part's achieved GFLOP/s (its multiply-adds over the whole call's time: a lower bound)
beside the machine's measured fp32 and int8 GEMM peak. Then the parity of each export (its `lstmlab-export` checks
on the test splits, STS-B for the encoder) and the installed size of each path's virtualenv.

The models are trained here first (one epoch each, at the experiments' shapes: the tagger at Flair's equal
configuration, 2x256 BiLSTM-CRF over [GloVe 50d; char BiLSTM 25/25]) and exported with `lstmlab-export`; all of it
is kept under --work and reused. Every back end runs in a process of its own (bench/deploy_worker.py), the ONNX
ones in a virtualenv without torch, one thread each by default; rounds alternate the back ends and the figures are
medians over rounds.

    python bench/deploy.py                    # what make bench-deploy runs
    python bench/deploy.py --rounds 3 --save  # steadier; --save writes bench/results/deploy.md
    LSTMLAB_DATA_DIR=/path/to/corpora python bench/deploy.py --flair-python /work/flair-venv/bin/python  # + Flair
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from machine import load_average
from report import report, show

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
FAMILIES = {  # family -> (experiment and overrides, test file for the export checks, relative to the data dir)
    "tagger": (["experiment=pos_ewt", "model.net.char_encoder=lstm", "model.net.char_dim=25",
                "model.net.char_hidden_size=25"], "ud_english_ewt/en_ewt-ud-test.conllu"),
    "encoder": (["experiment=nli_cpu"], "snli/snli_1.0_test.tok.jsonl"),
    "elmo": (["experiment=bilm_text"], "inaugural/test.txt"),
}
TASK_NAMES = {"tagger": "pos_ewt", "encoder": "nli_cpu", "elmo": "bilm_text"}
COLUMNS = ("family", "path", "p50 ms", "p99 ms", "batch 64 sent/s", "vs PyTorch b1", "vs PyTorch b64",
           "LSTM GFLOP/s b1", "LSTM GFLOP/s b64", "load s", "import s", "peak RSS MB")


def data_file(data_dir: Path, relative: str) -> Path:
    """The file in the data directory, else among the bundled samples; gzipped where only that exists."""
    for folder in (data_dir, ROOT / "data"):
        for path in (folder / relative, folder / f"{relative}.gz"):
            if path.is_file():
                return path
    raise FileNotFoundError(f"{relative}: neither in {data_dir} nor in {ROOT / 'data'}")


def ewt_text(data_dir: Path, folder: Path) -> Path:
    """EWT test's raw sentences (its `# text` lines), one per line."""
    path = data_file(data_dir, "ud_english_ewt/en_ewt-ud-test.conllu")
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as lines:
        texts = [line[len("# text = "):].strip() for line in lines if line.startswith("# text = ")]
    target = folder / "ewt_test_text.txt"
    target.write_text("\n".join(texts) + "\n", encoding="utf-8")
    return target


def command(python: Path, name: str) -> str:
    return str(python.parent / name)


def train(family: str, work: Path, python: Path, env: dict) -> Path:
    """The family's run (one epoch), trained once under work/ and reused."""
    runs = work / "logs" / TASK_NAMES[family] / "runs"
    done = sorted(runs.glob("*/model/model.safetensors")) if runs.is_dir() else []
    if not done:
        overrides, _ = FAMILIES[family]
        subprocess.run([command(python, "lstmlab-train"), *overrides, "trainer.max_epochs=1"], cwd=work, env=env,
                       check=True, capture_output=True)
        done = sorted(runs.glob("*/model/model.safetensors"))
    return done[-1].parent.parent


def export(family: str, run: Path, work: Path, python: Path, env: dict, data_dir: Path, int8: bool) -> dict:
    """`lstmlab-export` of the run (once), and the figures of its checks on the family's test file."""
    folder = work / "exports" / f"{family}-{'int8' if int8 else 'fp32'}"
    if not (folder / "config.json").is_file():
        check = data_file(data_dir, FAMILIES[family][1])
        result = subprocess.run([command(python, "lstmlab-export"), "--model", str(run), "-o", str(folder),
                                 "--check-data", str(check), *(["--int8"] if int8 else [])],
                                cwd=work, env=env, capture_output=True, text=True)
        if result.returncode != 0:
            return {"folder": None, "refused": result.stderr.strip().splitlines()[-1]}
    manifest = json.loads((folder / "config.json").read_text())
    return {"folder": folder, "checks": manifest["checks"], "net_config": manifest["net_config"]}


def virtualenv(path: Path, packages: list[str]) -> Path:
    """A virtualenv at `path` with `packages` pip-installed (once; the wheels among them, this checkout's, again
    every run, so that the code measured is the code checked out); its python."""
    python = path / "bin" / "python"
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    if not (path / "ready").is_file():
        shutil.rmtree(path, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
        subprocess.run([*pip, *packages], check=True, capture_output=True)
        (path / "ready").write_text("")
    wheels = [package for package in packages if package.endswith(".whl")]
    subprocess.run([*pip, "--force-reinstall", "--no-deps", *wheels], check=True, capture_output=True)
    return python


def folder_size_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink()) / 2**20


def runtime_venvs(work: Path) -> dict[str, Path]:
    """The torch-free runtime's virtualenv, one with OpenVINO added where it installs, and lstmlab's own (torch)."""
    dist = work / "dist"
    subprocess.run(["make", "-s", "wheel-runtime"], cwd=ROOT, check=True, capture_output=True)
    (wheel,) = (ROOT / "dist").glob("lstmlab_runtime-*.whl")
    venvs = {"onnx": virtualenv(work / "venvs" / "runtime", [str(wheel)])}
    try:
        venvs["openvino"] = virtualenv(work / "venvs" / "openvino", [str(wheel), "openvino"])
    except subprocess.CalledProcessError:
        print("OpenVINO did not install here: no OpenVINO rows", file=sys.stderr)
    shutil.rmtree(dist, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(dist), str(ROOT)],
                   check=True, capture_output=True)
    (full,) = dist.glob("lstmlab-*.whl")
    venvs["pytorch-install"] = virtualenv(work / "venvs" / "torch", [os.environ.get("TORCH", "torch==2.13.0"),
                                                                     str(full)])
    return venvs


def lstm_flops(family: str, net: dict, tokens: int, chars: int) -> float:
    """Floating-point operations of the recurrent layers for a sentence of `tokens` words and `chars` characters
    (2 per multiply-add): 2 * 4H * (I + H) per step, direction and layer (an LSTM projection adds 2 * H * P)."""
    def layer(inputs: int, hidden: int, projection: int = 0) -> float:
        return 2 * 4 * hidden * (inputs + (projection or hidden)) + 2 * hidden * projection

    if family == "tagger":
        char_out = 2 * net["char_hidden_size"] if net["char_encoder"] == "lstm" else 0
        char_part = 2 * layer(net["char_dim"], net["char_hidden_size"]) * chars if char_out else 0
        sizes = [net["word_dim"] + char_out] + [2 * net["hidden_size"]] * (net["num_layers"] - 1)
        return char_part + sum(2 * layer(size, net["hidden_size"]) for size in sizes) * tokens
    if family == "encoder":
        sizes = [net["word_dim"]] + [2 * net["hidden_size"]] * (net["num_layers"] - 1)
        return sum(2 * layer(size, net["hidden_size"]) for size in sizes) * tokens
    width = net["projection_dim"] or sum(count for _, count in net["char_filters"])
    out = net["proj_size"] or net["hidden_size"]
    sizes = [width] + [out] * (net["num_layers"] - 1)
    return sum(2 * layer(size, net["hidden_size"], net["proj_size"]) for size in sizes) * (tokens + 1)


def gemm_peaks() -> tuple[float, float]:
    """(fp32, int8) GFLOP/s (GOP/s) of a 1024^3 matrix product on one thread: numpy's BLAS, ONNX Runtime's
    MatMulInteger (the int8 kernel the quantized graphs use)."""
    import onnx
    import onnxruntime
    from onnx import TensorProto, helper
    from threadpoolctl import threadpool_limits

    size = 1024
    a = np.random.rand(size, size).astype(np.float32)
    with threadpool_limits(1):
        a @ a
        start = time.perf_counter()
        for _ in range(5):
            a @ a
        fp32 = 5 * 2 * size**3 / (time.perf_counter() - start) / 1e9
    graph = helper.make_graph(
        [helper.make_node("MatMulInteger", ["a", "b"], ["c"])], "int8_gemm",
        [helper.make_tensor_value_info("a", TensorProto.UINT8, [size, size]),
         helper.make_tensor_value_info("b", TensorProto.INT8, [size, size])],
        [helper.make_tensor_value_info("c", TensorProto.INT32, [size, size])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    session = onnxruntime.InferenceSession(onnx.shape_inference.infer_shapes(model).SerializeToString(), options)
    feeds = {"a": np.random.randint(0, 255, (size, size), dtype=np.uint8),
             "b": np.random.randint(-127, 127, (size, size), dtype=np.int8)}
    session.run(None, feeds)
    start = time.perf_counter()
    for _ in range(5):
        session.run(None, feeds)
    int8 = 5 * 2 * size**3 / (time.perf_counter() - start) / 1e9
    return fp32, int8


def measure(python: Path, family: str, backend: str, model: Path, sentences: Path, threads: int, env: dict) -> dict:
    result = subprocess.run([str(python), str(BENCH / "deploy_worker.py"), family, backend, str(model),
                             str(sentences), "--threads", str(threads)], capture_output=True, text=True, env=env)
    if result.returncode != 0:
        raise RuntimeError(f"{family} {backend}: {result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def sentence_shapes(sentences: Path) -> tuple[list[int], list[int]]:
    """(tokens, characters) of each sentence as the tokenizer splits it."""
    from lstmlab.data.tokenization.tokenize import tokenize

    token_lists = [tokenize(line) for line in sentences.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [len(tokens) for tokens in token_lists], [sum(len(t) + 2 for t in tokens) for tokens in token_lists]


def stsb_spearman(paths: dict[str, object], data_dir: Path) -> dict[str, float]:
    """STS-B test Spearman of the cosine similarity of each encoder's vectors (None where the file is absent)."""
    from scipy.stats import spearmanr

    from lstmlab.data.readers.senteval import read_stsb_file

    path = data_dir / "stsbenchmark" / "sts-test.csv"
    if not path.is_file():
        return {}
    pairs = read_stsb_file(path)
    scores = {}
    for name, encoder in paths.items():
        u = encoder.encode(pairs.first, normalize_embeddings=True)
        v = encoder.encode(pairs.second, normalize_embeddings=True)
        scores[name] = float(spearmanr(np.sum(np.asarray(u) * np.asarray(v), axis=1), pairs.labels).statistic)
    return scores


def fmt(value: float, digits: int = 2) -> str:
    return f"{value:,.{digits}f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, default=BENCH / "results" / "deploy", help="models, exports, venvs")
    parser.add_argument("--families", nargs="+", default=list(FAMILIES), choices=list(FAMILIES))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=2, help="rounds over the back ends, alternating")
    parser.add_argument("--flair-python", type=Path, help="the python of Flair's virtualenv (bench/peers/README.md)")
    parser.add_argument("--flair-model", type=Path, help="a trained Flair tagger (best-model.pt) to time; default: "
                                                          "one epoch trained once under --work (needs the corpora)")
    parser.add_argument("--save", action="store_true")
    args = parser.parse_args()
    started, load_before = time.perf_counter(), load_average()
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    data_dir = Path(os.environ.get("LSTMLAB_DATA_DIR", ROOT / "data"))
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "MALLOC_MMAP_MAX_": "0",
           "MALLOC_TRIM_THRESHOLD_": "100000000000"}
    env.pop("VIRTUAL_ENV", None)
    python = Path(sys.executable)
    sentences = ewt_text(data_dir, work)
    tokens, chars = sentence_shapes(sentences)
    venvs = runtime_venvs(work)
    fp32_peak, int8_peak = gemm_peaks()
    rows, parity = [], []
    for family in args.families:
        run = train(family, work, python, env)
        exports = {"fp32": export(family, run, work, python, env, data_dir, False),
                   "int8": export(family, run, work, python, env, data_dir, True)}
        paths = {"PyTorch fp32": (python, "pytorch", run)}
        for precision, made in exports.items():
            parity.append({"family": family, "export": precision,
                           "checks": made.get("refused") or ", ".join(
                               f"{key} {value:.4g}" if isinstance(value, float) else f"{key} {value}"
                               for key, value in made["checks"].items())})
            if made["folder"] is None:
                continue
            paths[f"ONNX Runtime {precision}"] = (venvs["onnx"], "onnx", made["folder"])
            if "openvino" in venvs:
                paths[f"OpenVINO {precision}"] = (venvs["openvino"], "openvino", made["folder"])
        figures: dict[str, list[dict]] = {name: [] for name in paths}
        for _ in range(args.rounds):
            for name, (venv, backend, model) in paths.items():
                figures[name].append(measure(venv, family, backend, model, sentences, args.threads, env))
        net = exports["fp32"]["net_config"]
        shapes = list(zip(tokens, chars, strict=True))
        single_flops = statistics.median(lstm_flops(family, net, t, c) for t, c in shapes[:400])
        mean_flops = statistics.mean(lstm_flops(family, net, t, c) for t, c in shapes)
        base = {key: statistics.median(f[key] for f in figures["PyTorch fp32"]) for key in figures["PyTorch fp32"][0]}
        for name, measured in figures.items():
            m = {key: statistics.median(f[key] for f in measured) for key in measured[0]}
            rows.append({"family": family, "path": name, "p50 ms": fmt(m["p50_ms"], 3), "p99 ms": fmt(m["p99_ms"], 3),
                         "batch 64 sent/s": fmt(m["batch64_per_s"], 0),
                         "vs PyTorch b1": f"{base['p50_ms'] / m['p50_ms']:.2f}x",
                         "vs PyTorch b64": f"{m['batch64_per_s'] / base['batch64_per_s']:.2f}x",
                         "LSTM GFLOP/s b1": fmt(single_flops / (m["p50_ms"] / 1000) / 1e9, 1),
                         "LSTM GFLOP/s b64": fmt(mean_flops * m["batch64_per_s"] / 1e9, 1),
                         "load s": fmt(m["load_s"]), "import s": fmt(m["import_s"]),
                         "peak RSS MB": fmt(m["peak_rss_mb"], 0)})
        if family == "encoder" and exports["fp32"]["folder"] is not None:
            rows_sts = stsb_spearman_rows(run, exports, data_dir)
            parity.extend(rows_sts)
        if family == "tagger" and args.flair_python:
            rows.append(flair_row(args.flair_python, args.flair_model or flair_model(args.flair_python, work, env),
                                  args.threads, base))
    sizes = {name: folder_size_mb(python.parent.parent) for name, python in venvs.items() if name != "openvino"}
    note = (f"; {args.threads} thread(s); fp32 GEMM peak {fp32_peak:.0f} GFLOP/s, int8 GEMM peak {int8_peak:.0f} "
            "GOP/s (1024^3, one thread)")
    lines = report(rows, time.perf_counter() - started, load_before, note, COLUMNS)
    lines += ["", "| family | export | checks at export (test split) |", "|---|---|---|"]
    lines += [f"| {row['family']} | {row['export']} | {row['checks']} |" for row in parity]
    lines += ["", "| virtualenv | installed MB |", "|---|---:|"]
    lines += [f"| {name} | {size:,.0f} |" for name, size in sizes.items()]
    show("deploy", lines, rows, args.save)


def stsb_spearman_rows(run: Path, exports: dict, data_dir: Path) -> list[dict]:
    from lstmlab.inference import SentenceEncoder
    from lstmlab.runtime import SentenceEncoder as OnnxSentenceEncoder

    encoders = {"PyTorch": SentenceEncoder.load(run)}
    encoders.update({precision: OnnxSentenceEncoder.load(made["folder"]) for precision, made in exports.items()
                     if made["folder"] is not None})
    scores = stsb_spearman(encoders, data_dir)
    return [{"family": "encoder", "export": name, "checks": f"STS-B test Spearman {score:.4f}"}
            for name, score in scores.items()]


def flair_model(flair_python: Path, work: Path, env: dict) -> Path:
    """Flair's tagger after one epoch of the equal configuration, trained once under work/flair and reused."""
    model = work / "flair" / "run" / "best-model.pt"
    if not model.is_file():
        subprocess.run([str(flair_python), str(BENCH / "peers" / "flair_tagger.py"), "--train-epochs", "1",
                        "--threads", "1", "--no-tag", "--json", "--work-dir", str(model.parent)], env=env, check=True,
                       capture_output=True)
    return model


def flair_row(flair_python: Path, model: Path, threads: int, base: dict) -> dict:
    result = subprocess.run([str(flair_python), str(BENCH / "peers" / "flair_tagger.py"), "--model", str(model),
                             "--threads", str(threads), "--json"], capture_output=True, text=True)
    events = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    tag = next(event for event in events if event.get("event") == "tag")
    setup = next((event for event in events if event.get("event") == "setup"), {})
    return {"family": "tagger", "path": f"Flair {setup.get('flair', '')} SequenceTagger (PyTorch fp32)",
            "p50 ms": fmt(tag["batch1_p50_ms"], 3), "p99 ms": fmt(tag["batch1_p99_ms"], 3),
            "batch 64 sent/s": fmt(tag["sentences_per_s"], 0),
            "vs PyTorch b1": f"{base['p50_ms'] / tag['batch1_p50_ms']:.2f}x",
            "vs PyTorch b64": f"{tag['sentences_per_s'] / base['batch64_per_s']:.2f}x", "load s": fmt(tag["load_s"])}


if __name__ == "__main__":
    main()
