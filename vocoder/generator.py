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


def apply_conv(conv: nn.Conv1d | nn.ConvTranspose1d, features: torch.Tensor) -> torch.Tensor:
    """Run a 1-D (transposed) convolution on ``(B, C, T)`` features, or on ``(B, C, 1, T)`` channels-last ones.

    The second layout is the CPU fast path: oneDNN's 2-D convolution on channels-last (NHWC) tensors needs no
    layout reorders and runs ~1.6x faster than ``conv1d`` on this generator's shapes (measured on Xeon, see
    ``bench/bench_vocoder.py``); the maths, and the weights (still ``(out, in, K)``), are the same.
    """
    if features.dim() == 3:
        return conv(features)
    weight = conv.weight.unsqueeze(2).contiguous(memory_format=torch.channels_last)
    stride, padding, dilation = (1, conv.stride[0]), (0, conv.padding[0]), (1, conv.dilation[0])
    if isinstance(conv, nn.ConvTranspose1d):
        return F.conv_transpose2d(features, weight, conv.bias, stride, padding, (0, conv.output_padding[0]),
                                  conv.groups, dilation)
    return F.conv2d(features, weight, conv.bias, stride, padding, dilation, conv.groups)


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
            residual = apply_conv(dilated, F.leaky_relu(features, LRELU_SLOPE))
            residual = apply_conv(plain, F.leaky_relu_(residual, LRELU_SLOPE))
            features = residual.add_(features)  # in place on a fresh conv output: autograd-safe
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
            features = apply_conv(conv, F.leaky_relu(features, LRELU_SLOPE)).add_(features)
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
        #: On CPU, run the convolutions as channels-last 2-D convolutions (faster, same maths; see apply_conv).
        self.cpu_channels_last = True
        self.num_kernels = len(config.resblock_kernel_sizes)
        #: float32 originals kept by set_inference_dtype (None while the weights are float32 themselves).
        self._float32_state: dict[str, torch.Tensor] | None = None
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
        channels_last = self.cpu_channels_last and mel.device.type == "cpu"
        mel = mel.to(self.conv_pre.bias.dtype)
        features = mel.unsqueeze(2).contiguous(memory_format=torch.channels_last) if channels_last else mel
        features = apply_conv(self.conv_pre, features)
        for i, upsample in enumerate(self.ups):
            features = apply_conv(upsample, F.leaky_relu(features, LRELU_SLOPE))
            blocks = self.resblocks[i * self.num_kernels:(i + 1) * self.num_kernels]
            fused = blocks[0](features)
            for block in blocks[1:]:
                fused = fused.add_(block(features))
            features = fused.mul_(1.0 / self.num_kernels)
        features = F.leaky_relu_(features, FINAL_LRELU_SLOPE).to(self.conv_post.bias.dtype)
        audio = torch.tanh(apply_conv(self.conv_post, features))
        return audio.squeeze(2).contiguous() if channels_last else audio

    def remove_weight_norm(self) -> "Generator":
        """Fold weight normalisation into plain weights in place (inference; outputs unchanged). Returns self."""
        _remove_weight_norm(self)
        return self

    def set_inference_dtype(self, dtype: torch.dtype) -> "Generator":
        """Run the convolutions in ``dtype`` for inference (after :meth:`remove_weight_norm`); returns self.

        ``torch.bfloat16`` runs the convolutions on Intel AMX / AVX512-BF16 where the CPU has them (Xeon
        Sapphire Rapids and later: ~2.5x the float32 speed here) but changes the output slightly (see
        :mod:`vocoder.precision` and ``bench/results/vocoder.json`` for the signal-to-error ratio); ``conv_post``
        and ``tanh`` stay float32, so the waveform keeps full resolution. The float32 weights are kept:
        :meth:`float32_state_dict` (used by the exporters) and ``set_inference_dtype(torch.float32)`` restore
        them exactly. On CPUs without bf16 units bf16 is slower: :func:`vocoder.precision.resolve_precision`
        chooses for you.
        """
        if self.has_weight_norm:
            raise RuntimeError("call remove_weight_norm() before changing the inference dtype")
        if dtype == torch.float32:
            if self._float32_state is not None:  # (moved with the module if it changed device meanwhile)
                device = self.conv_pre.bias.device
                self.load_state_dict({k: v.to(device) for k, v in self._float32_state.items()}, assign=True)
                self._float32_state = None
            return self
        if self._float32_state is None:  # state_dict() holds the current tensors; .to() makes new ones
            self._float32_state = {name: tensor.detach() for name, tensor in self.state_dict().items()}
        self.to(dtype)
        self.conv_post.float()
        return self

    @property
    def inference_dtype(self) -> torch.dtype:
        """The dtype the convolutions run in (``conv_pre``'s weights)."""
        return self.conv_pre.bias.dtype

    def float32_state_dict(self) -> dict[str, torch.Tensor]:
        """The state dict at full precision, also after :meth:`set_inference_dtype` (bit-exact originals)."""
        return dict(self._float32_state) if self._float32_state is not None else self.state_dict()


def count_parameters(module: nn.Module) -> int:
    """Number of scalar parameters. The paper's counts (V1 13.93 M, V2 0.93 M, V3 1.46 M) are those of the
    generator after :meth:`Generator.remove_weight_norm`; weight norm adds one ``g`` per output channel."""
    return sum(p.numel() for p in module.parameters())
