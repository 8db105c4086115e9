"""The one mel-spectrogram definition used everywhere in art2music.

Released HiFi-GAN checkpoints dictate it (jik876/hifi-gan, ``meldataset.py``), so the vocoder package owns
it and every other module reads it from here:

- 22050 Hz audio, STFT with n_fft 1024, hop 256, Hann window of 1024 samples;
- the waveform is reflect-padded by ``(n_fft - hop) / 2 = 384`` samples on each side and transformed with
  ``torch.stft(center=False)``, so a clip of ``S`` samples gives ``(S - 256) // 256 + 1`` frames;
- magnitude ``sqrt(re² + im² + 1e-9)``, 80 Slaney-normalised mel filters (librosa's ``mel`` with
  ``htk=False, norm='slaney'``) between fmin 0 and fmax 8000 Hz;
- natural log of the mel magnitude clamped at 1e-5, so silence is ``log(1e-5) ≈ -11.513``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any, Mapping

import numpy as np
import torch

__all__ = ["MelConfig", "mel_spectrogram", "num_frames", "mel_filterbank"]


@dataclass(frozen=True)
class MelConfig:
    """Parameters of the log-mel-spectrogram (defaults: HiFi-GAN V1's ``config_v1.json``).

    Attributes:
        sample_rate: audio sample rate in Hz.
        n_fft: FFT size in samples.
        hop_length: hop between frames in samples (one mel frame = ``hop_length`` audio samples).
        win_length: Hann window length in samples.
        n_mels: number of mel bins.
        fmin: lowest mel filter edge in Hz.
        fmax: highest mel filter edge in Hz (HiFi-GAN uses 8000, not Nyquist).
        clip_value: magnitude floor before the log; ``log(clip_value)`` is the silence value.
    """

    sample_rate: int = 22050
    n_fft: int = 1024
    hop_length: int = 256
    win_length: int = 1024
    n_mels: int = 80
    fmin: float = 0.0
    fmax: float = 8000.0
    clip_value: float = 1e-5

    def __post_init__(self) -> None:
        if self.sample_rate <= 0 or self.hop_length <= 0 or self.n_mels <= 0:
            raise ValueError(f"MelConfig needs positive sample_rate, hop_length and n_mels, got {self}")
        if self.win_length > self.n_fft:
            raise ValueError(f"win_length ({self.win_length}) must not exceed n_fft ({self.n_fft})")
        if not 0 <= self.fmin < self.fmax <= self.sample_rate / 2:
            raise ValueError(
                f"need 0 <= fmin < fmax <= sample_rate/2, got fmin={self.fmin}, fmax={self.fmax}, "
                f"sample_rate={self.sample_rate}"
            )

    @property
    def silence_value(self) -> float:
        """Log-mel value of digital silence (``log(clip_value)``, ≈ -11.513 by default)."""
        return math.log(self.clip_value)

    @property
    def padding(self) -> int:
        """Reflect padding applied on each side before the STFT, in samples."""
        return (self.n_fft - self.hop_length) // 2

    def frames_to_seconds(self, frames: int) -> float:
        """Duration in seconds of ``frames`` mel frames."""
        return frames * self.hop_length / self.sample_rate

    def seconds_to_frames(self, seconds: float) -> int:
        """The whole number of mel frames nearest to ``seconds`` (e.g. 0.96 s → 83 frames at 22050 Hz / 256)."""
        return round(seconds * self.sample_rate / self.hop_length)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> "MelConfig":
        """Build from a dict; unknown keys are an error so a typo never passes silently.

        Also accepts HiFi-GAN's ``config.json`` key names (``sampling_rate``, ``hop_size``,
        ``win_size``, ``num_mels``, ``fmax`` ...), ignoring that file's non-mel keys.
        """
        official = {"sampling_rate": "sample_rate", "hop_size": "hop_length", "win_size": "win_length",
                    "num_mels": "n_mels"}
        names = set(cls.__dataclass_fields__)
        if any(key in values for key in official):
            mapped = {official.get(k, k): v for k, v in values.items()}
            return cls(**{k: v for k, v in mapped.items() if k in names})
        unknown = set(values) - names
        if unknown:
            raise ValueError(f"unknown MelConfig keys {sorted(unknown)}; expected some of {sorted(names)}")
        return cls(**values)

    def check_matches(self, other: "MelConfig", what: str) -> None:
        """Raise ``ValueError`` naming every differing field if ``other`` is not the same definition."""
        if self == other:
            return
        diffs = [f"{k}: {v!r} here vs {getattr(other, k)!r} in {what}" for k, v in self.to_dict().items()
                 if getattr(other, k) != v]
        raise ValueError(f"mel configuration mismatch with {what}: " + "; ".join(diffs))


def num_frames(num_samples: int, config: MelConfig = MelConfig()) -> int:
    """Number of mel frames produced from ``num_samples`` audio samples."""
    return (num_samples - config.hop_length) // config.hop_length + 1 if num_samples >= config.hop_length else 0


@lru_cache(maxsize=8)
def _filterbank_numpy(config: MelConfig) -> np.ndarray:
    import librosa

    return librosa.filters.mel(sr=config.sample_rate, n_fft=config.n_fft, n_mels=config.n_mels,
                               fmin=config.fmin, fmax=config.fmax).astype(np.float32)


def mel_filterbank(config: MelConfig = MelConfig()) -> torch.Tensor:
    """Slaney mel filterbank, shape ``(n_mels, n_fft // 2 + 1)``, float32."""
    return torch.from_numpy(_filterbank_numpy(config))


_WINDOWS: dict[tuple[int, str, torch.dtype], torch.Tensor] = {}
_FILTERS: dict[tuple[MelConfig, str, torch.dtype], torch.Tensor] = {}


def _cached(device: torch.device, dtype: torch.dtype, config: MelConfig) -> tuple[torch.Tensor, torch.Tensor]:
    key_w = (config.win_length, str(device), dtype)
    if key_w not in _WINDOWS:
        _WINDOWS[key_w] = torch.hann_window(config.win_length, dtype=dtype, device=device)
    key_f = (config, str(device), dtype)
    if key_f not in _FILTERS:
        _FILTERS[key_f] = mel_filterbank(config).to(device=device, dtype=dtype)
    return _WINDOWS[key_w], _FILTERS[key_f]


def mel_spectrogram(waveform: torch.Tensor, config: MelConfig = MelConfig()) -> torch.Tensor:
    """Natural-log mel spectrogram exactly as HiFi-GAN computes it.

    Args:
        waveform: ``(B, T)`` (or ``(T,)``) float audio in [-1, 1] at ``config.sample_rate``.
            ``T`` must exceed ``config.padding`` samples (reflect padding needs it).
        config: the mel definition.

    Returns:
        ``(B, n_mels, frames)`` float tensor, ``frames = (T - hop) // hop + 1``
        (a 1-D input gives ``(n_mels, frames)``).
    """
    if not torch.is_tensor(waveform):
        raise TypeError(f"waveform must be a torch.Tensor, got {type(waveform).__name__}")
    if not waveform.is_floating_point():
        raise TypeError(f"waveform must be floating point audio in [-1, 1], got dtype {waveform.dtype}")
    squeeze = waveform.dim() == 1
    if squeeze:
        waveform = waveform.unsqueeze(0)
    if waveform.dim() != 2:
        raise ValueError(f"waveform must have shape (B, T) or (T,), got {tuple(waveform.shape)}")
    if waveform.shape[-1] <= config.padding:
        raise ValueError(f"waveform has {waveform.shape[-1]} samples; at least {config.padding + 1} are needed "
                         f"for a mel frame at hop {config.hop_length}")
    window, filters = _cached(waveform.device, waveform.dtype, config)
    padded = torch.nn.functional.pad(waveform.unsqueeze(1), (config.padding, config.padding), mode="reflect")
    spec = torch.stft(padded.squeeze(1), config.n_fft, hop_length=config.hop_length, win_length=config.win_length,
                      window=window, center=False, pad_mode="reflect", normalized=False, onesided=True,
                      return_complex=True)
    magnitude = torch.sqrt(spec.real.pow(2) + spec.imag.pow(2) + 1e-9)
    mel = torch.matmul(filters, magnitude)
    log_mel = torch.log(torch.clamp(mel, min=config.clip_value))
    return log_mel.squeeze(0) if squeeze else log_mel


# Lightning checkpoints store hyper-parameters by pickling; allow this plain frozen dataclass so checkpoints
# load with torch.load(weights_only=True) (no arbitrary objects are admitted).
torch.serialization.add_safe_globals([MelConfig])
