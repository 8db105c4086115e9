"""Inference precision: ``"float32"``, ``"bfloat16"`` or ``"auto"``, decided by capability and by measurement.

``"auto"`` (the inference default) picks bfloat16 where the processor executes it natively and float32
everywhere else:

- **CPUs with bf16 matrix instructions**: Intel AMX (Sapphire Rapids and later), AVX512-BF16 (Cooper Lake,
  AMD Zen 4/5) or AVX10. There oneDNN runs bf16 matrix products and convolutions 2-4x faster than float32
  (measured in ``bench/RESULTS.md``: HiFi-GAN V1 15.5x against 8.1x real time on a Zen 5, ViT-H-14 3x).
- **CUDA devices that support bf16** (Ampere and later); float32 work left there runs in TF32, PyTorch's own
  fast default for NVIDIA convolutions.
- **Where the probe is unsure** (a CPU whose flags cannot be read, or an ARM CPU advertising ``bf16``), a
  one-time micro-benchmark of the vocoder's kind of convolution decides, and its answer is cached per
  machine (``$ART2MUSIC_CACHE_DIR`` or ``~/.cache/art2music/precision.json``, keyed by CPU and torch version).

The output changes at the level of the format's rounding (vocoder 41-60 dB signal-to-error against float32,
encoder embeddings cosine > 0.999; ``bench/results/precision.json``), far below a model's own error. Choose
``"float32"`` for bit-stable results across machines (evaluation does), ``"bfloat16"`` to force the fast path.
"""

from __future__ import annotations

import json
import os
import platform
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch

__all__ = ["PRECISIONS", "Bf16Support", "bf16_recurrent_pays", "bf16_support", "cpu_flags", "has_amx",
           "measured_bf16_speedup", "precision_name", "resolve_precision"]

#: The accepted names; a ``torch.dtype`` (float32 / bfloat16) is accepted too.
PRECISIONS = ("auto", "float32", "bfloat16")
_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}
#: /proc/cpuinfo flags (x86) of instructions that execute bf16 matrix arithmetic natively.
NATIVE_BF16_FLAGS = {"amx_bf16": "AMX", "avx512_bf16": "AVX512-BF16", "avx10": "AVX10"}
#: bf16 must beat float32 by this factor in the micro-benchmark to be chosen (noise margin).
MIN_SPEEDUP = 1.15


@dataclass(frozen=True)
class Bf16Support:
    """What the probe knows: ``native`` True (bf16 units), False (none) or None (unsure: measure); ``reason``."""

    native: bool | None
    reason: str


def cpu_flags() -> set[str]:
    """The CPU's feature flags from ``/proc/cpuinfo`` (x86 ``flags``, ARM ``Features``); empty if unreadable."""
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return set(value.split())
    return set()


def has_amx() -> bool:
    """True when this CPU has AMX tiles and the bf16 instructions oneDNN's fast bf16 convolutions need."""
    cpu = getattr(torch, "cpu", None)
    try:
        return bool(cpu._is_amx_tile_supported() and cpu._is_avx512_bf16_supported())
    except AttributeError:  # a torch without these probes: fall back to the flags
        return {"amx_tile", "amx_bf16"} <= cpu_flags()


def _torch_says_avx512_bf16() -> bool:
    try:
        return bool(torch.cpu._is_avx512_bf16_supported())
    except AttributeError:
        return False


def bf16_support(device: str | torch.device = "cpu") -> Bf16Support:
    """Whether ``device`` runs bf16 natively, from its capability flags (no measurement)."""
    device = torch.device(device)
    if device.type == "cuda":
        supported = torch.cuda.is_available() and torch.cuda.is_bf16_supported()
        return Bf16Support(bool(supported), "CUDA bf16" if supported else "CUDA device without bf16")
    if device.type != "cpu":
        return Bf16Support(False, f"{device.type} device: float32")
    if has_amx():
        return Bf16Support(True, "AMX")
    flags = cpu_flags()
    if _torch_says_avx512_bf16() or "avx512_bf16" in flags:
        return Bf16Support(True, "AVX512-BF16")
    for flag, name in NATIVE_BF16_FLAGS.items():
        if any(present.startswith(flag) for present in flags):
            return Bf16Support(True, name)
    machine = platform.machine().lower()
    if machine in ("x86_64", "amd64", "i686", "i386") and flags:
        return Bf16Support(False, "x86 CPU without bf16 instructions")
    if "bf16" in flags:
        return Bf16Support(None, f"{machine} CPU advertising bf16")
    return Bf16Support(None, f"{machine or 'unknown'} CPU with unreadable flags" if not flags
                       else f"{machine} CPU without a known bf16 flag")


def bf16_recurrent_pays(device: str | torch.device = "cpu") -> bool:
    """Whether recurrent layers (the BiLSTM decoder) should run in bf16 when the pipeline does.

    Measured, not assumed: oneDNN's bf16 LSTM is 2.5x faster than its float32 one on Intel AMX (the paper's
    4x512 BiLSTM over 862 frames: 0.20 s against 0.50 s on 2 cores) but slower with AVX512-BF16 alone (an AMD
    Zen 4: 5.4 s against 4.5 s), so only AMX (and CUDA with bf16) qualify.
    """
    device = torch.device(device)
    if device.type == "cuda":
        return bf16_support(device).native is True
    return device.type == "cpu" and has_amx()


def _cache_file() -> Path:
    root = os.environ.get("ART2MUSIC_CACHE_DIR") or Path.home() / ".cache" / "art2music"
    return Path(root) / "precision.json"


def _machine_key() -> str:
    return f"{platform.processor() or platform.machine()}|{os.cpu_count()}|torch {torch.__version__}"


def _time_convolution(dtype: torch.dtype, repeats: int = 3) -> float:
    """Best-of seconds for a 1-D convolution of the HiFi-GAN kind (256 channels, kernel 7, 8192 samples)."""
    with torch.inference_mode():
        conv = torch.nn.Conv1d(256, 256, 7, padding=3).to(dtype)
        signal = torch.randn(1, 256, 8192, dtype=dtype)
        conv(signal)  # warm-up: oneDNN picks its kernel on the first call
        best = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            conv(signal)
            best = min(best, time.perf_counter() - start)
    return best


def measured_bf16_speedup(refresh: bool = False) -> float:
    """float32 time / bf16 time of the micro-benchmark on this machine, measured once and cached."""
    path, key = _cache_file(), _machine_key()
    try:
        cached = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        cached = {}
    if not isinstance(cached, dict):
        cached = {}
    if not refresh and isinstance(cached.get(key), (int, float)):
        return float(cached[key])
    speedup = _time_convolution(torch.float32) / _time_convolution(torch.bfloat16)
    cached[key] = round(speedup, 3)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        temporary.write_text(json.dumps(cached, indent=1) + "\n", encoding="utf-8")
        os.replace(temporary, path)
    except OSError as error:  # a read-only home: the measurement still decides, it is just not remembered
        warnings.warn(f"cannot cache the bf16 measurement in {path} ({error}); it will be measured again next time",
                      stacklevel=2)
    return speedup


def resolve_precision(precision: str | torch.dtype, device: str | torch.device = "cpu") -> torch.dtype:
    """The dtype to run in for ``precision`` (a name in :data:`PRECISIONS` or a dtype) on ``device``.

    Raises:
        ValueError: an unknown name or dtype, with the accepted ones.
    """
    if isinstance(precision, torch.dtype):
        if precision not in _DTYPES.values():
            raise ValueError(f"precision must be float32 or bfloat16, got {precision}")
        return precision
    name = str(precision).lower()
    if name == "auto":
        support = bf16_support(device)
        if support.native is None:
            return torch.bfloat16 if measured_bf16_speedup() >= MIN_SPEEDUP else torch.float32
        return torch.bfloat16 if support.native else torch.float32
    if name not in _DTYPES:
        raise ValueError(f"unknown precision {precision!r}: choose one of {', '.join(PRECISIONS)}")
    return _DTYPES[name]


def precision_name(dtype: torch.dtype) -> str:
    """``"float32"`` / ``"bfloat16"``: how a resolved precision is written in results and fingerprints."""
    return str(dtype).removeprefix("torch.")
