"""The VA judge network: log-mel ``(B, n_mels, frames)`` → (valence, arousal) ``(B, 2)`` in [-1, 1].

A plain 2-D CNN over the mel (HiFi-GAN's definition, :mod:`vocoder.mel`): each block is a 3x3 convolution,
GroupNorm (no running statistics, so train and eval modes compute the same function), SiLU and 2x2 max
pooling; the last feature map is pooled by mean and by max over frequency and time, so any length of at least
:data:`MIN_FRAMES` frames is read the same way, and a small head with ``tanh`` gives the two coordinates.
The input is first standardised per mel bin with the training clips' mean and std (buffers stored with the
weights). About 60 k parameters (~0.25 MB in float32).

Used frozen as a loss (:meth:`VAJudge.loss`): gradients flow to the mel, never into the judge.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Mapping

import torch
from torch import nn

from art2music.config_dict import check_keys
from vocoder.mel import MelConfig

MIN_FRAMES = 16
"""Shorter mels are padded with silence to this many frames (four 2x poolings need at least 16)."""


@dataclass(frozen=True)
class VAJudgeConfig:
    """Sizes of the judge. ``channels``: output channels of the convolution blocks (one 2x pooling each)."""

    n_mels: int = MelConfig().n_mels
    channels: tuple[int, ...] = (16, 32, 48, 64)
    hidden: int = 32
    dropout: float = 0.2

    def to_dict(self) -> dict[str, Any]:
        values = asdict(self)
        values["channels"] = list(self.channels)
        return values

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> "VAJudgeConfig":
        """A stored config, checked: unknown keys and values of the wrong type are ``ValueError`` s."""
        check_keys(cls, values, "VA judge config")
        values = dict(values)
        if "channels" in values:
            channels = values["channels"]
            if not isinstance(channels, (list, tuple)) or not channels or not all(
                    isinstance(c, int) and not isinstance(c, bool) and c > 0 for c in channels):
                raise ValueError(f"VA judge field 'channels' must be a list of positive integers, got {channels!r}")
            values["channels"] = tuple(channels)
        for name in ("n_mels", "hidden"):
            value = values.get(name, 1)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"VA judge field {name!r} must be a positive integer, got {value!r}")
        dropout = values.get("dropout", 0.0)
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout < 1:
            raise ValueError(f"VA judge field 'dropout' must be a number in [0, 1), got {dropout!r}")
        return cls(**values)


def _block(in_channels: int, out_channels: int) -> nn.Sequential:
    groups = 4 if out_channels % 4 == 0 else 1
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, 3, padding=1), nn.GroupNorm(groups, out_channels),
                         nn.SiLU(), nn.MaxPool2d(2))


class VAJudge(nn.Module):
    """Log-mel → (valence, arousal).

    Args:
        config: the sizes.
        mel_config: the mel definition the judge reads (checked against a pipeline's by callers).
    """

    def __init__(self, config: VAJudgeConfig = VAJudgeConfig(), mel_config: MelConfig = MelConfig()):
        super().__init__()
        if config.n_mels != mel_config.n_mels:
            raise ValueError(f"the judge reads {config.n_mels} mel bins but the mel config has {mel_config.n_mels}")
        self.config, self.mel_config = config, mel_config
        self.register_buffer("mel_mean", torch.full((config.n_mels,), mel_config.silence_value / 2))
        self.register_buffer("mel_std", torch.full((config.n_mels,), 3.0))
        channels = (1, *config.channels)
        self.blocks = nn.Sequential(*(_block(a, b) for a, b in zip(channels[:-1], channels[1:])))
        self.head = nn.Sequential(nn.Linear(2 * channels[-1], config.hidden), nn.SiLU(), nn.Dropout(config.dropout),
                                  nn.Linear(config.hidden, 2))
        self.is_frozen = False

    def set_normalization(self, mel_mean: torch.Tensor, mel_std: torch.Tensor) -> None:
        """Store the per-bin mean and std ``(n_mels,)`` of the training mels (log units)."""
        self.mel_mean.copy_(mel_mean)
        self.mel_std.copy_(mel_std.clamp_min(1e-3))

    def forward(self, log_mel: torch.Tensor) -> torch.Tensor:
        """``(B, n_mels, frames)`` log-mel → ``(B, 2)`` (valence, arousal) in [-1, 1]; differentiable in the mel."""
        if log_mel.dim() != 3 or log_mel.shape[1] != self.config.n_mels:
            raise ValueError(f"the VA judge reads (batch, {self.config.n_mels}, frames) log-mels, got "
                             f"{tuple(log_mel.shape)}")
        if log_mel.shape[-1] < MIN_FRAMES:
            log_mel = nn.functional.pad(log_mel, (0, MIN_FRAMES - log_mel.shape[-1]),
                                        value=self.mel_config.silence_value)
        normalized = (log_mel.to(self.mel_mean) - self.mel_mean[:, None]) / self.mel_std[:, None]
        features = self.blocks(normalized[:, None])  # (B, C, n_mels / 16, frames / 16)
        pooled = torch.cat([features.mean(dim=(2, 3)), features.amax(dim=(2, 3))], dim=1)
        return torch.tanh(self.head(pooled))

    @torch.no_grad()
    def judge(self, log_mel: torch.Tensor) -> torch.Tensor:
        """The judged (valence, arousal) ``(B, 2)`` of ``(B, n_mels, frames)`` log-mels, without gradients, in eval
        mode (the module's mode is restored)."""
        was_training = self.training
        self.eval()
        try:
            return self(log_mel).float()
        finally:
            self.train(was_training)

    def judge_waveform(self, waveform) -> tuple[float, float]:
        """The judged (valence, arousal) of a ``(samples,)`` waveform in [-1, 1] at the judge's mel sample rate
        (numpy or torch), read through HiFi-GAN's log-mel (:func:`vocoder.mel.mel_spectrogram`)."""
        from vocoder.mel import mel_spectrogram

        audio = torch.as_tensor(waveform, dtype=torch.float32).reshape(1, -1).clamp(-1.0, 1.0)
        with torch.no_grad():
            mel = mel_spectrogram(audio.to(self.mel_mean.device), self.mel_config)
        valence, arousal = self.judge(mel)[0].tolist()
        return valence, arousal

    def frozen(self) -> "VAJudge":
        """This judge as a fixed loss: parameters do not train and it stays in eval mode (dropout off) even when
        a parent module calls ``.train()``. Returns ``self``."""
        self.requires_grad_(False)
        self.is_frozen = True
        return self.eval()

    def train(self, mode: bool = True) -> "VAJudge":
        return super().train(False if self.is_frozen else mode)

    def loss(self, log_mel: torch.Tensor, target_va: torch.Tensor, row_weights: torch.Tensor | None = None
             ) -> torch.Tensor:
        """Mean squared distance between the judged and the target (valence, arousal): a scalar.

        Args:
            log_mel: ``(B, n_mels, frames)`` log-mels (e.g. stage 1's output); gradients flow back to them.
            target_va: ``(B, 2)`` targets in [-1, 1]; NaN rows (no target) are left out; all NaN gives 0.
            row_weights: ``(B,)`` weights of the rows' squared distances (default: 1 each); the mean is weighted.

        Use a :meth:`frozen` judge, so the loss moves the mel, not the judge.
        """
        if target_va.shape != (log_mel.shape[0], 2):
            raise ValueError(f"target_va must be (batch, 2) = ({log_mel.shape[0]}, 2), got {tuple(target_va.shape)}")
        predicted = self(log_mel)
        target = target_va.to(predicted)
        given = (~torch.isnan(target).any(dim=1)).to(predicted)
        weights = given if row_weights is None else given * row_weights.to(predicted)
        if not bool((weights > 0).any()):
            return predicted.sum() * 0.0
        error = ((predicted - target.nan_to_num()) ** 2).sum(dim=1)
        return (error * weights).sum() / weights.sum()
