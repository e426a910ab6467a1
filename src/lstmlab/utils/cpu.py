"""What this CPU can do: its model and vector-instruction flags, and whether oneDNN builds a bf16 LSTM on it.

CPUs without AVX-512 bf16 (AMD Zen 3, many Intel desktop parts) cannot run an LSTM under bf16 autocast:
oneDNN fails mid-step with "could not create a primitive descriptor for the LSTM forward propagation
primitive". `bf16_lstm_supported()` asks oneDNN directly with a tiny LSTM, so the answer is exact whatever
the flags say (`ONEDNN_MAX_CPU_ISA=AVX2` makes a bf16 CPU behave like one without).
"""

from __future__ import annotations

import functools
import platform
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import torch

INTERESTING_FLAGS = ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile")


@functools.cache
def cpu_model() -> str:
    """The CPU's marketing name ("AMD EPYC 9R14"), or the machine type where /proc/cpuinfo is missing."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text(errors="replace").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


@functools.cache
def cpu_flags() -> frozenset[str]:
    cpuinfo = Path("/proc/cpuinfo")
    if not cpuinfo.is_file():
        return frozenset()
    for line in cpuinfo.read_text(errors="replace").splitlines():
        if line.startswith("flags"):
            return frozenset(line.split(":", 1)[1].split())
    return frozenset()


@functools.cache
def bf16_lstm_supported() -> bool:
    """True when an LSTM runs forward and backward under CPU bf16 autocast here. Gradients are switched on for the
    probe: its first caller may be inside inference mode (the inference APIs are), where backward always fails."""
    try:
        with torch.inference_mode(False), torch.enable_grad():
            lstm = torch.nn.LSTM(4, 4, batch_first=True)
            with torch.autocast("cpu", dtype=torch.bfloat16):
                output, _ = lstm(torch.randn(1, 2, 4))
            output.float().sum().backward()
    except RuntimeError:
        return False
    return True


BF16_INFERENCE_UNSUPPORTED = (
    "bf16 needs a CPU whose oneDNN runs a bf16 LSTM (AVX-512 bf16 or AMX); this one ({cpu}) cannot: "
    "run in float32 (without bf16 / --bf16)"
)


@contextmanager
def bf16_autocast(device: torch.device, enabled: bool) -> Iterator[None]:
    """bfloat16 autocast on `device` when `enabled`, for the inference APIs (Tagger, SentenceEncoder, Elmo). On a
    CPU that cannot run a bf16 LSTM it is a ValueError saying so, at once, instead of oneDNN failing mid-batch."""
    if enabled and device.type == "cpu" and not bf16_lstm_supported():
        raise ValueError(BF16_INFERENCE_UNSUPPORTED.format(cpu=cpu_model()))
    with torch.autocast(device.type, dtype=torch.bfloat16, enabled=enabled):
        yield


def describe_cpu() -> str:
    """One line for benchmark tables: model, cores, flags that matter for speed, oneDNN bf16 support."""
    flags = cpu_flags()
    shown = " ".join(f for f in INTERESTING_FLAGS if f in flags) or "no flags read"
    bf16 = "bf16 LSTM: yes" if bf16_lstm_supported() else "bf16 LSTM: no"
    return (f"{cpu_model()}, {torch.get_num_threads()} threads, flags: {shown}; {bf16}; "
            f"ATen capability {torch.backends.cpu.get_cpu_capability()}; torch {torch.__version__}")


BF16_UNSUPPORTED = (
    "trainer.precision={precision} needs a CPU whose oneDNN can run a bf16 LSTM (AVX-512 bf16 or AMX); "
    "this one cannot ({cpu}). Use trainer.precision=32-true on this machine, or train on a GPU (trainer=gpu)."
)


FP16_MIXED_ON_CPU = (
    "trainer.precision={precision} cannot train on a CPU: oneDNN's recurrent layers have no fp16 training ('f16 "
    "training not supported') and Lightning would train in bf16-mixed instead; use trainer.precision=bf16-mixed or "
    "32-true on a CPU, or 16-mixed on a GPU (trainer=gpu)"
)


def check_precision_supported(precision: str, accelerator: str) -> None:
    """Refuse at start-up what a CPU cannot train: bf16 where oneDNN has no bf16 LSTM (it would fail mid-epoch),
    and fp16-mixed anywhere (Lightning swaps it for bf16-mixed with only a warning)."""
    if accelerator not in ("cpu",):
        return
    if str(precision) in ("16-mixed", "16"):
        raise RuntimeError(FP16_MIXED_ON_CPU.format(precision=precision))
    if "bf16" in str(precision) and not bf16_lstm_supported():
        raise RuntimeError(BF16_UNSUPPORTED.format(precision=precision, cpu=cpu_model()))
