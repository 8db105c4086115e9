"""Inference precision of the generator: ``"float32"``, ``"bfloat16"`` or ``"auto"``.

``"auto"`` (the inference default) picks bfloat16 convolutions on CPUs with Intel AMX tiles (Xeon Sapphire Rapids
and later), where oneDNN runs them ~2.5x faster than float32 end to end (``bench/RESULTS.md``), and float32
everywhere else: CUDA devices, and CPUs without bf16 matrix units, where bf16 would be slower. It is the CPU
counterpart of PyTorch's default TF32 convolutions on NVIDIA GPUs: the output changes at the level of the format's
rounding (41-57 dB signal-to-error against float32, measured in ``bench/results/vocoder.json``; mel L1 to the true
audio moved by 0.16 % on the demo vocoder), far below a vocoder's own error. Choose ``"float32"`` for bit-stable
results across machines (evaluation does), and ``"bfloat16"`` to force the fast path.
"""

from __future__ import annotations

import torch

__all__ = ["PRECISIONS", "resolve_precision", "has_amx"]

#: The accepted names; a ``torch.dtype`` (float32 / bfloat16) is accepted too.
PRECISIONS = ("auto", "float32", "bfloat16")
_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}


def has_amx() -> bool:
    """True when this CPU has AMX tiles and the bf16 instructions oneDNN's fast bf16 convolutions need."""
    cpu = getattr(torch, "cpu", None)
    try:
        return bool(cpu._is_amx_tile_supported() and cpu._is_avx512_bf16_supported())
    except AttributeError:  # a torch without these probes: assume no AMX (float32 is always correct)
        return False


def resolve_precision(precision: str | torch.dtype, device: str | torch.device = "cpu") -> torch.dtype:
    """The dtype the generator's convolutions run in for ``precision`` on ``device``.

    Raises:
        ValueError: an unknown name or dtype, with the accepted ones.
    """
    if isinstance(precision, torch.dtype):
        if precision not in _DTYPES.values():
            raise ValueError(f"vocoder precision must be float32 or bfloat16, got {precision}")
        return precision
    name = str(precision).lower()
    if name == "auto":
        return torch.bfloat16 if torch.device(device).type == "cpu" and has_amx() else torch.float32
    if name not in _DTYPES:
        raise ValueError(f"unknown vocoder precision {precision!r}: choose one of {', '.join(PRECISIONS)}")
    return _DTYPES[name]
