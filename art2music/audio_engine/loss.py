"""Frequency-weighted L1 loss on log-mels.

Higher mel bins carry the timbre detail that plain L1 under-weights (they have less energy and
vary less), so each bin's absolute error is weighted linearly from 1.0 (lowest bin) to 1.5 (highest),
as in Art2Music (Hong et al., 2025).
"""

from __future__ import annotations

import torch
from torch import nn

from vocoder.mel import MelConfig


def frequency_weights(n_mels: int = MelConfig().n_mels, low: float = 1.0, high: float = 1.5) -> torch.Tensor:
    """``(n_mels,)`` weights rising linearly from ``low`` (bin 0) to ``high`` (bin n_mels-1)."""
    if n_mels < 2:
        raise ValueError(f"n_mels must be at least 2, got {n_mels}")
    return torch.linspace(low, high, n_mels)


class FrequencyWeightedL1(nn.Module):
    """``mean(w[f] · |prediction − target|)`` over batch, bins and frames.

    Inputs are ``(B, n_mels, frames)`` log-mels. The mean is over all elements (not normalised by the
    weights' mean), so a uniform error ``e`` gives ``e · mean(w) = 1.25 e`` with the default weights.
    """

    def __init__(self, n_mels: int = MelConfig().n_mels, low: float = 1.0, high: float = 1.5):
        super().__init__()
        self.register_buffer("weights", frequency_weights(n_mels, low, high), persistent=False)

    def forward(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if prediction.shape != target.shape:
            raise ValueError(f"prediction {tuple(prediction.shape)} and target {tuple(target.shape)} differ in shape")
        if prediction.shape[-2] != self.weights.numel():
            raise ValueError(f"expected {self.weights.numel()} mel bins in dim -2, got shape {tuple(prediction.shape)}")
        return ((prediction - target).abs() * self.weights[:, None]).mean()
