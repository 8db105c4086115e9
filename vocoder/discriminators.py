"""HiFi-GAN's discriminators: multi-period (MPD, periods 2,3,5,7,11) and multi-scale (MSD, 3 scales).

Module names follow jik876/hifi-gan (``discriminators.N.convs.M``, ``discriminators.N.conv_post``,
``meanpools``), so an official ``do_XXXXXXXX`` file's ``mpd`` / ``msd`` state dicts load strictly after
:func:`vocoder.state_keys.official_to_parametrized`. ``width`` scales every channel count (1.0 = official)
for small demo and test models; only ``width=1`` matches released files.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm, weight_norm

from vocoder.generator import LRELU_SLOPE

__all__ = ["PeriodDiscriminator", "MultiPeriodDiscriminator", "ScaleDiscriminator", "MultiScaleDiscriminator",
           "DiscriminatorOutputs"]

#: (real scores, fake scores, real feature maps, fake feature maps), one entry per sub-discriminator.
DiscriminatorOutputs = tuple[list[torch.Tensor], list[torch.Tensor], list[list[torch.Tensor]], list[list[torch.Tensor]]]


def _scaled(channels: int, width: float, multiple: int = 1) -> int:
    scaled = int(round(channels * width))
    if scaled < multiple or scaled % multiple:
        raise ValueError(f"discriminator width {width} gives {scaled} channels from {channels}; it must be a "
                         f"positive multiple of {multiple} (the grouped convolutions need it): use a power of 1/2 "
                         f"no smaller than 1/8")
    return scaled


class PeriodDiscriminator(nn.Module):
    """Reshapes audio ``(B, 1, T)`` to ``(B, 1, T/p, p)`` and applies 2-D convs along time.

    Returns ``(scores (B, n), feature maps)``.
    """

    def __init__(self, period: int, kernel_size: int = 5, stride: int = 3, width: float = 1.0) -> None:
        super().__init__()
        self.period = period
        channels = [1] + [_scaled(c, width) for c in (32, 128, 512, 1024, 1024)]
        padding = ((kernel_size - 1) // 2, 0)
        self.convs = nn.ModuleList(
            weight_norm(nn.Conv2d(channels[i], channels[i + 1], (kernel_size, 1), (stride if i < 4 else 1, 1),
                                  padding=padding))
            for i in range(5))
        self.conv_post = weight_norm(nn.Conv2d(channels[-1], 1, (3, 1), 1, padding=(1, 0)))

    def forward(self, audio: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        batch, channels, samples = audio.shape
        if samples % self.period:
            audio = F.pad(audio, (0, self.period - samples % self.period), "reflect")
        return _conv_stack(self.convs, self.conv_post, audio.view(batch, channels, -1, self.period))


def _conv_stack(convs: nn.ModuleList, conv_post: nn.Module,
                features: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """(conv, LReLU) layers then ``conv_post``: ``(flattened scores (B, n), every layer's output)``."""
    feature_maps = []
    for conv in convs:
        features = F.leaky_relu(conv(features), LRELU_SLOPE)
        feature_maps.append(features)
    features = conv_post(features)
    feature_maps.append(features)
    return torch.flatten(features, 1, -1), feature_maps


class ScaleDiscriminator(nn.Module):
    """Strided, grouped 1-D convs over audio ``(B, 1, T)``; returns ``(scores (B, n), feature maps)``."""

    # (in, out, kernel, stride, groups, padding) of the official DiscriminatorS.
    LAYERS = ((1, 128, 15, 1, 1, 7), (128, 128, 41, 2, 4, 20), (128, 256, 41, 2, 16, 20), (256, 512, 41, 4, 16, 20),
              (512, 1024, 41, 4, 16, 20), (1024, 1024, 41, 1, 16, 20), (1024, 1024, 5, 1, 1, 2))

    def __init__(self, use_spectral_norm: bool = False, width: float = 1.0) -> None:
        super().__init__()
        norm = spectral_norm if use_spectral_norm else weight_norm
        self.convs = nn.ModuleList(
            norm(nn.Conv1d(1 if c_in == 1 else _scaled(c_in, width, groups), _scaled(c_out, width, groups),
                           kernel, stride, groups=groups, padding=padding))
            for c_in, c_out, kernel, stride, groups, padding in self.LAYERS)
        self.conv_post = norm(nn.Conv1d(_scaled(1024, width), 1, 3, 1, padding=1))

    def forward(self, audio: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        return _conv_stack(self.convs, self.conv_post, audio)


class _Ensemble(nn.Module):
    discriminators: nn.ModuleList

    def _inputs(self, index: int, real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return real, fake

    def forward(self, real: torch.Tensor, fake: torch.Tensor) -> DiscriminatorOutputs:
        """Score real and generated audio, both ``(B, 1, T)``."""
        real_scores, fake_scores, real_maps, fake_maps = [], [], [], []
        for index, discriminator in enumerate(self.discriminators):
            real, fake = self._inputs(index, real, fake)
            score, maps = discriminator(real)
            real_scores.append(score)
            real_maps.append(maps)
            score, maps = discriminator(fake)
            fake_scores.append(score)
            fake_maps.append(maps)
        return real_scores, fake_scores, real_maps, fake_maps


class MultiPeriodDiscriminator(_Ensemble):
    """One :class:`PeriodDiscriminator` per period (official: 2, 3, 5, 7, 11)."""

    def __init__(self, periods: tuple[int, ...] = (2, 3, 5, 7, 11), width: float = 1.0) -> None:
        super().__init__()
        self.discriminators = nn.ModuleList(PeriodDiscriminator(p, width=width) for p in periods)


class MultiScaleDiscriminator(_Ensemble):
    """Three :class:`ScaleDiscriminator` on raw, x2 and x4 average-pooled audio (the first spectral-normed)."""

    def __init__(self, width: float = 1.0) -> None:
        super().__init__()
        self.discriminators = nn.ModuleList([ScaleDiscriminator(use_spectral_norm=True, width=width),
                                             ScaleDiscriminator(width=width), ScaleDiscriminator(width=width)])
        self.meanpools = nn.ModuleList([nn.AvgPool1d(4, 2, padding=2), nn.AvgPool1d(4, 2, padding=2)])

    def _inputs(self, index: int, real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if index == 0:
            return real, fake
        pool = self.meanpools[index - 1]
        return pool(real), pool(fake)
