"""Optional (valence, arousal) conditioning of stage 1: a target feeling added to the fused vector ``z``.

A model built with ``emotion_conditioning=True`` maps a target ``(valence, arousal)`` in [-1, 1]² through a
small MLP to a vector of the fusion's size and adds it to ``z``; a row without a target (NaN, or no tensor at
all) gets a learned "no emotion given" vector instead. Training drops the target with some probability, so the
model also learns to infer the feeling from the image and comment alone, and the control stays optional.
"""

from __future__ import annotations

import torch
from torch import nn


class EmotionConditioning(nn.Module):
    """``va`` ``(B, 2)`` (valence, arousal in [-1, 1]; NaN rows: not given) → ``(B, dim)`` added to ``z``."""

    def __init__(self, dim: int):
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(2, dim), nn.SiLU(), nn.Linear(dim, dim))
        self.not_given = nn.Parameter(torch.zeros(dim))

    def forward(self, va: torch.Tensor | None, batch: int) -> torch.Tensor:
        if va is None:
            return self.not_given.expand(batch, -1)
        if va.shape != (batch, 2):
            raise ValueError(f"va must be (batch, 2) = ({batch}, 2) valence/arousal pairs, got {tuple(va.shape)}")
        va = va.to(self.not_given)
        given = ~torch.isnan(va).any(dim=-1, keepdim=True)
        return torch.where(given, self.mlp(torch.nan_to_num(va)), self.not_given.expand(batch, -1))


def check_va(va: torch.Tensor) -> torch.Tensor:
    """Refuse targets outside [-1, 1] (NaN marks a row without a target) with a one-line error."""
    finite = va[~torch.isnan(va)]
    if finite.numel() and (finite.abs() > 1.0).any():
        raise ValueError(f"valence and arousal must lie in [-1, 1], got values up to {finite.abs().max().item():.3g}")
    return va


def drop_targets(va: torch.Tensor, probability: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """Training-time dropout: each row of ``va`` ``(B, 2)`` becomes NaN (not given) with ``probability``."""
    if probability <= 0:
        return va
    drop = torch.rand(va.shape[0], generator=generator, device=va.device) < probability
    return torch.where(drop[:, None], torch.full_like(va, float("nan")), va)
