"""The HiFi-GAN generator (V1/V2/V3), with the official module names.

Module names match jik876/hifi-gan's ``models.py`` (``conv_pre``, ``ups.N``, ``resblocks.N.convs1.M`` /
``convs2.M`` for ResBlock1, ``resblocks.N.convs.M`` for ResBlock2, ``conv_post``), so a released
``{'generator': state_dict}`` loads with strict key checking after :mod:`vocoder.checkpoint` renames the
legacy ``weight_g`` / ``weight_v`` keys to torch's ``parametrizations.weight.original0`` / ``original1``.

Weight normalisation (Salimans & Kingma 2016) is used while training; :meth:`Generator.remove_weight_norm`
folds it into plain weights for inference (same output, fewer operations).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import weight_norm

from vocoder.config import GeneratorConfig
from vocoder.mel import MelConfig

__all__ = ["Generator", "ResBlock1", "ResBlock2", "LRELU_SLOPE", "count_parameters"]

#: Negative slope of every LeakyReLU inside the network (HiFi-GAN's ``LRELU_SLOPE``).
LRELU_SLOPE = 0.1
#: The official generator applies ``F.leaky_relu(x)`` with torch's default slope before ``conv_post``.
FINAL_LRELU_SLOPE = 0.01


def _padding(kernel_size: int, dilation: int = 1) -> int:
    """'Same' padding of an odd-kernel dilated convolution."""
    return (kernel_size * dilation - dilation) // 2


def _weight_normed(conv: nn.Module, init_std: float | None = 0.01) -> nn.Module:
    """Initialise ``conv``'s weight ~ N(0, init_std) (HiFi-GAN's ``init_weights``) and weight-normalise it."""
    if init_std is not None:
        nn.init.normal_(conv.weight, 0.0, init_std)
    return weight_norm(conv)


def _remove_weight_norm(module: nn.Module) -> None:
    for child in module.modules():
        if parametrize.is_parametrized(child, "weight"):
            parametrize.remove_parametrizations(child, "weight", leave_parametrized=True)


class ResBlock1(nn.Module):
    """Residual stack of (LReLU, dilated conv, LReLU, conv) steps, one per dilation. ``(B, C, T) -> (B, C, T)``."""

    def __init__(self, channels: int, kernel_size: int = 3, dilations: tuple[int, ...] = (1, 3, 5)) -> None:
        super().__init__()
        self.convs1 = nn.ModuleList(
            _weight_normed(nn.Conv1d(channels, channels, kernel_size, 1, dilation=d, padding=_padding(kernel_size, d)))
            for d in dilations[:3])
        self.convs2 = nn.ModuleList(
            _weight_normed(nn.Conv1d(channels, channels, kernel_size, 1, dilation=1, padding=_padding(kernel_size)))
            for _ in dilations[:3])

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        for dilated, plain in zip(self.convs1, self.convs2):
            residual = dilated(F.leaky_relu(features, LRELU_SLOPE))
            residual = plain(F.leaky_relu_(residual, LRELU_SLOPE))
            features = features + residual
        return features


class ResBlock2(nn.Module):
    """Residual stack of (LReLU, dilated conv) steps, one per dilation (V3). ``(B, C, T) -> (B, C, T)``."""

    def __init__(self, channels: int, kernel_size: int = 3, dilations: tuple[int, ...] = (1, 3)) -> None:
        super().__init__()
        self.convs = nn.ModuleList(
            _weight_normed(nn.Conv1d(channels, channels, kernel_size, 1, dilation=d, padding=_padding(kernel_size, d)))
            for d in dilations[:2])

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        for conv in self.convs:
            features = features + conv(F.leaky_relu(features, LRELU_SLOPE))
        return features


class Generator(nn.Module):
    """HiFi-GAN generator: log-mel ``(B, num_mels, frames)`` -> waveform ``(B, 1, frames * hop)`` in [-1, 1].

    ``hop`` is the product of ``config.upsample_rates`` (256 for V1/V2/V3), so frame ``k`` becomes samples
    ``k*hop ... (k+1)*hop - 1``. Sample rate is that of the mel definition it was trained with (22050 Hz).
    """

    def __init__(self, config: GeneratorConfig = GeneratorConfig(), mel_config: MelConfig = MelConfig()) -> None:
        super().__init__()
        if mel_config.n_mels != config.num_mels or mel_config.hop_length != config.hop_length:
            raise ValueError(f"generator (num_mels {config.num_mels}, hop {config.hop_length} = product of "
                             f"upsample_rates {list(config.upsample_rates)}) does not fit the mel definition "
                             f"(n_mels {mel_config.n_mels}, hop_length {mel_config.hop_length})")
        self.config = config
        #: The mel definition the generator expects (travels with exported weights).
        self.mel_config = mel_config
        self.num_kernels = len(config.resblock_kernel_sizes)
        channels = config.upsample_initial_channel
        # conv_pre keeps torch's default init, as in the official code.
        self.conv_pre = weight_norm(nn.Conv1d(config.num_mels, channels, 7, 1, padding=3))
        self.ups = nn.ModuleList(
            _weight_normed(nn.ConvTranspose1d(channels // 2 ** i, channels // 2 ** (i + 1), kernel, rate,
                                              padding=(kernel - rate) // 2))
            for i, (rate, kernel) in enumerate(zip(config.upsample_rates, config.upsample_kernel_sizes)))
        block = ResBlock1 if config.resblock == "1" else ResBlock2
        self.resblocks = nn.ModuleList(
            block(channels // 2 ** (i + 1), kernel, dilations)
            for i in range(len(self.ups))
            for kernel, dilations in zip(config.resblock_kernel_sizes, config.resblock_dilation_sizes))
        self.conv_post = _weight_normed(nn.Conv1d(channels // 2 ** len(self.ups), 1, 7, 1, padding=3))

    @property
    def hop_length(self) -> int:
        """Output samples per input frame."""
        return self.config.hop_length

    @property
    def has_weight_norm(self) -> bool:
        return parametrize.is_parametrized(self.conv_pre, "weight")

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        """Vocode ``mel`` ``(B, num_mels, frames)`` (natural-log magnitudes) to ``(B, 1, frames * hop)`` audio."""
        if mel.dim() != 3 or mel.shape[1] != self.config.num_mels:
            raise ValueError(f"generator expects a mel of shape (batch, {self.config.num_mels}, frames), "
                             f"got {tuple(mel.shape)}")
        features = self.conv_pre(mel)
        for i, upsample in enumerate(self.ups):
            features = upsample(F.leaky_relu(features, LRELU_SLOPE))
            blocks = self.resblocks[i * self.num_kernels:(i + 1) * self.num_kernels]
            fused = blocks[0](features)
            for block in blocks[1:]:
                fused = fused + block(features)
            features = fused / self.num_kernels
        return torch.tanh(self.conv_post(F.leaky_relu(features, FINAL_LRELU_SLOPE)))

    def remove_weight_norm(self) -> "Generator":
        """Fold weight normalisation into plain weights in place (inference; outputs unchanged). Returns self."""
        _remove_weight_norm(self)
        return self


def count_parameters(module: nn.Module) -> int:
    """Number of scalar parameters. The paper's counts (V1 13.93 M, V2 0.93 M, V3 1.46 M) are those of the
    generator after :meth:`Generator.remove_weight_norm`; weight norm adds one ``g`` per output channel."""
    return sum(p.numel() for p in module.parameters())
