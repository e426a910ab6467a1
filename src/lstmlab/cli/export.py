"""`lstmlab-export --model RUN_DIR --format onnx [--int8] -o FOLDER`: a trained model as an ONNX export that runs
without PyTorch (`pip install lstmlab-runtime`; `Tagger.load(FOLDER)`, `lstmlab-tag --model FOLDER`, ...).

The export is checked before it is written: the fp32 graph against the PyTorch model, the int8 graph against the
fp32 one's accuracy on held-out data (--check-data, by default the validation file the model's card records). A
model that fails is refused with the figures and nothing is written; the folder appears whole or not at all.
"""

from __future__ import annotations

import sys

from lstmlab.cli import options
from lstmlab.cli.command import run_command
from lstmlab.export.onnx_export import export_onnx


def build_parser():
    parser = options.command_parser("lstmlab-export", __doc__)
    options.add_model(parser, "a trained model of any kind (tagger, sentence encoder, biLM, classifier)")
    parser.add_argument("--format", choices=("onnx",), default="onnx", help="the export format (default onnx)")
    parser.add_argument("--int8", action="store_true",
                        help="quantize the LSTMs and matrix products to int8 (ONNX Runtime's dynamic quantization); "
                             "refused if its accuracy falls further than the model kind allows")
    parser.add_argument("--check-data", metavar="FILE",
                        help="held-out data in the model's training format to check the export on (default: the "
                             "validation file of the model's training run, where it is on this machine)")
    parser.add_argument("--check-similarity", metavar="FILE",
                        help="a sentence encoder: STS Benchmark pairs (sts-test.csv) whose Spearman the int8 export "
                             "must keep within 0.01 of fp32's")
    parser.add_argument("-o", "--output", required=True, metavar="FOLDER",
                        help="a new or empty folder, or an lstmlab export to replace")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    def work() -> str:
        report = export_onnx(args.model, args.output, int8=args.int8, check_data=args.check_data,
                             check_similarity=args.check_similarity)
        figures = ", ".join(f"{key} {value:.6g}" if isinstance(value, float) else f"{key} {value}"
                            for key, value in report.check.figures.items())
        return (f"{report.kind} -> {report.folder} ({report.precision}, {report.size_bytes / 2**20:.1f} MiB); "
                f"checked on {report.check_source}: {figures}")

    return run_command("lstmlab-export", work)


if __name__ == "__main__":
    sys.exit(main())
