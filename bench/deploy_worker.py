"""One back end of one family, timed through its public API in a process of its own (bench/deploy.py starts it, in
the virtualenv that back end is deployed with): the import and load times, per-sentence latency at batch 1 (p50,
p99) and throughput at batch 64 on raw text, and the process's peak RSS. Prints one JSON line.

    python bench/deploy_worker.py tagger pytorch RUN_OR_EXPORT sentences.txt --threads 1
    python bench/deploy_worker.py tagger onnx EXPORT sentences.txt --threads 1      # no torch needed
    python bench/deploy_worker.py tagger openvino EXPORT sentences.txt --threads 1  # the same graph, OpenVINO's

Imports neither torch (unless the back end is PyTorch) nor the benchmark's other modules.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

STARTED = time.perf_counter()
WARMUP = 20
BATCH = 64


class OpenVinoSession:
    """OpenVINO's compiled model behind ONNX Runtime's session calls (`get_inputs`, `run`), so the runtime's
    classes run on it unchanged (bench only)."""

    def __init__(self, graph: Path, threads: int) -> None:
        import openvino as ov

        core = ov.Core()
        model = core.read_model(str(graph))
        config = {"INFERENCE_NUM_THREADS": threads, "PERFORMANCE_HINT": "LATENCY"}
        self.compiled = core.compile_model(model, "CPU", config)
        self.request = self.compiled.create_infer_request()
        self.names = [port.get_any_name() for port in self.compiled.inputs]

    def get_inputs(self) -> list:
        return [argparse.Namespace(name=name) for name in self.names]

    def run(self, outputs: None, feeds: dict) -> list:
        result = self.request.infer(feeds)
        return [result[port] for port in self.compiled.outputs]


def load(family: str, backend: str, path: str, threads: int):
    """The family's API object on `backend`, with `threads` compute threads."""
    if backend == "pytorch":
        import torch

        torch.set_num_threads(threads)
        from lstmlab.inference import Elmo, SentenceEncoder, Tagger

        return {"tagger": Tagger, "encoder": SentenceEncoder, "elmo": Elmo}[family].load(path)
    from lstmlab.runtime import Elmo, SentenceEncoder, Tagger

    api = {"tagger": Tagger, "encoder": SentenceEncoder, "elmo": Elmo}[family].load(path, threads=threads)
    if backend == "openvino":
        api.model.session = OpenVinoSession(Path(path) / "model.onnx", threads)
    return api


def call(family: str, api, sentences: list[str]):
    """One call of the family's public API on raw text."""
    if family == "tagger":
        return api.predict(sentences)
    if family == "encoder":
        return api.encode(sentences)
    from lstmlab.data.tokenization.tokenize import tokenize

    return api([tokenize(sentence) for sentence in sentences])


def peak_rss_mb() -> float:
    status = Path("/proc/self/status").read_text()
    return next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")) / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("family", choices=("tagger", "encoder", "elmo"))
    parser.add_argument("backend", choices=("pytorch", "onnx", "openvino"))
    parser.add_argument("model")
    parser.add_argument("sentences", type=Path)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--single", type=int, default=400, help="sentences timed one at a time")
    args = parser.parse_args()
    sentences = [line for line in args.sentences.read_text(encoding="utf-8").splitlines() if line.strip()]
    if args.backend == "pytorch":
        import torch  # noqa: F401 - its import is part of what a user of this back end waits for
    import_s = time.perf_counter() - STARTED
    start = time.perf_counter()
    api = load(args.family, args.backend, args.model, args.threads)
    load_s = time.perf_counter() - start
    for sentence in sentences[:WARMUP]:
        call(args.family, api, [sentence])
    latencies = []
    for sentence in sentences[: args.single]:
        start = time.perf_counter()
        call(args.family, api, [sentence])
        latencies.append(time.perf_counter() - start)
    batches = [sentences[i : i + BATCH] for i in range(0, len(sentences) - BATCH + 1, BATCH)]
    call(args.family, api, batches[0])
    start = time.perf_counter()
    for batch in batches:
        call(args.family, api, batch)
    batch_s = time.perf_counter() - start
    quantiles = statistics.quantiles(latencies, n=100)
    print(json.dumps({"import_s": import_s, "load_s": load_s, "p50_ms": 1000 * statistics.median(latencies),
                      "p99_ms": 1000 * quantiles[98], "batch64_per_s": len(batches) * BATCH / batch_s,
                      "peak_rss_mb": peak_rss_mb()}))


if __name__ == "__main__":
    main()
