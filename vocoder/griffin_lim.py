"""Griffin-Lim: a vocoder that needs no training, for debugging and comparison with HiFi-GAN.

The log-mel is turned back into a linear magnitude spectrogram with the pseudo-inverse of the mel filterbank
(negative values clipped), then a phase is estimated with the fast Griffin-Lim algorithm (Griffin & Lim 1984;
momentum variant of Perraudin, Balazs & Sondergaard 2013, as in librosa's ``griffinlim``). Expect audible
phase artefacts: this is a reference point, not a product vocoder.
"""

from __future__ import annotations

import torch
from torch import nn

from vocoder.mel import MelConfig, mel_filterbank

__all__ = ["GriffinLim"]


class GriffinLim(nn.Module):
    """Same call signature as :class:`vocoder.generator.Generator`:
    log-mel ``(B, n_mels, frames)`` -> waveform ``(B, 1, frames * hop)`` at ``mel_config.sample_rate``.

    Args:
        mel_config: the mel definition the input was computed with.
        n_iter: Griffin-Lim iterations (32-60 is the usual quality/speed trade-off).
        momentum: fast Griffin-Lim momentum in [0, 1) (0 gives the original algorithm).
        power: exponent applied to the recovered magnitude (>1 reduces the pseudo-inverse's smearing).
        seed: seed of the random initial phase, so the output is reproducible.
    """

    def __init__(self, mel_config: MelConfig = MelConfig(), n_iter: int = 32, momentum: float = 0.99,
                 power: float = 1.2, seed: int = 0) -> None:
        super().__init__()
        if n_iter < 1:
            raise ValueError(f"n_iter must be >= 1, got {n_iter}")
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1), got {momentum}")
        self.mel_config = mel_config
        self.n_iter, self.momentum, self.power, self.seed = n_iter, momentum, power, seed
        self.register_buffer("inverse_filterbank", torch.linalg.pinv(mel_filterbank(mel_config)), persistent=False)
        self.register_buffer("window", torch.hann_window(mel_config.win_length), persistent=False)

    @property
    def hop_length(self) -> int:
        return self.mel_config.hop_length

    def _stft(self, signal: torch.Tensor) -> torch.Tensor:
        config = self.mel_config
        return torch.stft(signal, config.n_fft, config.hop_length, config.win_length, self.window, center=True,
                          return_complex=True)

    def _istft(self, spectrum: torch.Tensor, length: int) -> torch.Tensor:
        config = self.mel_config
        return torch.istft(spectrum, config.n_fft, config.hop_length, config.win_length, self.window, center=True,
                           length=length)

    def linear_magnitude(self, mel: torch.Tensor) -> torch.Tensor:
        """``(B, n_mels, frames)`` log-mel -> ``(B, n_fft//2 + 1, frames)`` non-negative linear magnitude."""
        magnitude = torch.clamp(torch.matmul(self.inverse_filterbank, torch.exp(mel)), min=0.0)
        return magnitude.pow(self.power)

    @torch.no_grad()
    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        config = self.mel_config
        if mel.dim() != 3 or mel.shape[1] != config.n_mels:
            raise ValueError(f"Griffin-Lim expects a mel of shape (batch, {config.n_mels}, frames), got "
                             f"{tuple(mel.shape)}")
        batch, _, frames = mel.shape
        length = frames * config.hop_length
        magnitude = self.linear_magnitude(mel.float())
        # HiFi-GAN's frame k is centred on sample k*hop + hop/2 (reflect padding of (n_fft - hop)/2, no centring);
        # a centred STFT of the signal advanced by hop/2 has the same frame centres, plus one extra final frame.
        magnitude = torch.cat([magnitude, magnitude[..., -1:]], dim=-1)
        generator = torch.Generator(device="cpu").manual_seed(self.seed)
        phase = torch.rand(magnitude.shape, generator=generator) * 2 * torch.pi
        angles = torch.polar(torch.ones_like(magnitude), phase.to(magnitude.device))
        previous = torch.zeros_like(angles)
        for _ in range(self.n_iter):
            rebuilt = self._stft(self._istft(magnitude * angles, length))
            angles = rebuilt - (self.momentum / (1 + self.momentum)) * previous
            angles = angles / (angles.abs() + 1e-16)
            previous = rebuilt
        advanced = self._istft(magnitude * angles, length)
        shift = config.hop_length // 2
        waveform = torch.nn.functional.pad(advanced, (shift, 0))[..., :length]
        return waveform.clamp(-1.0, 1.0).reshape(batch, 1, length)
