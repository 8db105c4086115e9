"""Renaming state-dict keys between the official HiFi-GAN files and torch's parametrizations.

The official checkpoints were written with the legacy ``torch.nn.utils.weight_norm`` / ``spectral_norm``
hooks; this package uses ``torch.nn.utils.parametrizations`` (the maintained API). The tensors are the same,
only their names differ:

==============================  ===========================================
official (legacy hooks)         parametrizations
==============================  ===========================================
``m.weight_g`` (weight norm)    ``m.parametrizations.weight.original0``
``m.weight_v`` (weight norm)    ``m.parametrizations.weight.original1``
``m.weight_orig`` (spectral)    ``m.parametrizations.weight.original``
``m.weight_u`` (spectral)       ``m.parametrizations.weight.0._u``
``m.weight_v`` (spectral)       ``m.parametrizations.weight.0._v``
==============================  ===========================================

``weight_v`` is ambiguous between the two; a module is spectral-normed iff it has a ``weight_orig`` key.
"""

from __future__ import annotations

from typing import Iterable, Mapping

import torch

__all__ = ["official_to_parametrized", "parametrized_to_official", "weight_norm_state"]

_WN_TO_PARAM = {"weight_g": "parametrizations.weight.original0", "weight_v": "parametrizations.weight.original1"}
_SN_TO_PARAM = {"weight_orig": "parametrizations.weight.original", "weight_u": "parametrizations.weight.0._u",
                "weight_v": "parametrizations.weight.0._v"}


def _split(key: str) -> tuple[str, str]:
    prefix, _, leaf = key.rpartition(".")
    return prefix, leaf


def official_to_parametrized(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename legacy weight-norm / spectral-norm keys to parametrization keys; other keys pass unchanged."""
    spectral = {_split(k)[0] for k in state if k.endswith(".weight_orig") or k == "weight_orig"}
    renamed = {}
    for key, value in state.items():
        prefix, leaf = _split(key)
        table = _SN_TO_PARAM if prefix in spectral else _WN_TO_PARAM
        if leaf in table:
            key = f"{prefix}.{table[leaf]}" if prefix else table[leaf]
        renamed[key] = value
    return renamed


def parametrized_to_official(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Inverse of :func:`official_to_parametrized`."""
    reverse = {f"{v}": k for k, v in _WN_TO_PARAM.items()} | {f"{v}": k for k, v in _SN_TO_PARAM.items()}
    renamed = {}
    for key, value in state.items():
        for suffix, leaf in reverse.items():
            if key == suffix or key.endswith("." + suffix):
                key = key[: len(key) - len(suffix)] + leaf
                break
        renamed[key] = value
    return renamed


def weight_norm_state(plain: Mapping[str, torch.Tensor], modules: Iterable[str]) -> dict[str, torch.Tensor]:
    """Re-express plain ``<m>.weight`` tensors of ``modules`` as official ``weight_g`` / ``weight_v`` pairs.

    Uses ``v = weight`` and ``g = ||weight||`` over every dimension but 0 (weight norm's ``dim=0``), so
    ``g * v / ||v|| == weight`` exactly as the official loader recomputes it.
    """
    state = dict(plain)
    for name in modules:
        weight = state.pop(f"{name}.weight")
        dims = tuple(range(1, weight.dim()))
        state[f"{name}.weight_g"] = torch.linalg.vector_norm(weight, dim=dims, keepdim=True)
        state[f"{name}.weight_v"] = weight
    return state
