"""Music clips → fixed-length mono waveforms at the mel sample rate, and their log-mels.

Any file libsndfile reads (WAV, FLAC, OGG/Vorbis, Opus, MP3 with libsndfile >= 1.1, AIFF ...), any sample
rate, mono or multichannel (averaged to mono), resampled with soxr (high quality) to
``MelConfig.sample_rate`` (22050 Hz). Clips are cropped from the start to ``num_samples``; shorter clips
are kept as they are and their mel is silence-padded by the feature cache.

Rejected with a reason (:class:`AudioLoadError.reason`): ``missing_clip``, ``corrupt_audio`` (libsndfile
cannot decode it, or it holds NaN/inf), ``too_short_audio`` (under ``min_seconds``), ``silent_audio``
(peak under ``SILENCE_PEAK``, -80 dBFS). Decoding and the threshold are :mod:`vocoder.audio`'s.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vocoder.audio import REASONS as DECODE_REASONS
from vocoder.audio import SILENCE_PEAK, AudioError, check_not_silent, read_audio
from vocoder.mel import MelConfig, num_frames

__all__ = ["AudioLoadError", "ClipJob", "ClipResult", "DEFAULT_MIN_SECONDS", "PAPER_CLIP_SECONDS", "PAPER_FRAMES",
           "REASONS", "SILENCE_PEAK", "clip_mel_job", "clip_num_samples", "load_clip", "waveform_to_mel"]

DEFAULT_MIN_SECONDS = 1.0
"""Clips shorter than this are rejected: under a second of music carries no tempo or phrase."""

REASONS = ("missing_clip", *DECODE_REASONS)


class AudioLoadError(AudioError):
    """A clip cannot be used. ``reason`` is one of :data:`REASONS` (the vocoder's, plus ``missing_clip``)."""

    reasons = REASONS


def clip_num_samples(seconds: float, config: MelConfig = MelConfig()) -> int:
    """Samples per training clip: ``round(seconds * sample_rate) + hop``.

    The extra hop makes the frame count ``seconds * sample_rate / hop + 1`` (10 s → 862 frames, the
    paper's target length) instead of 861.
    """
    if not seconds > 0:
        raise ValueError(f"clip length must be positive, got {seconds} s")
    return int(round(seconds * config.sample_rate)) + config.hop_length


PAPER_CLIP_SECONDS = 10.0
"""The paper's clip length: stage-1 targets are the mels of 10 s of music."""

PAPER_FRAMES = num_frames(clip_num_samples(PAPER_CLIP_SECONDS))
"""Mel frames of a paper clip (862): the default decoder length."""


def load_clip(path: str | os.PathLike, num_samples: int, config: MelConfig = MelConfig(),
              min_seconds: float = DEFAULT_MIN_SECONDS) -> np.ndarray:
    """Decode, mix to mono, resample and crop one clip.

    Args:
        path: the audio file.
        num_samples: keep at most this many samples at ``config.sample_rate`` (from the start).
        config: the mel definition (its sample rate is the target rate).
        min_seconds: shorter clips raise ``too_short_audio``.

    Returns:
        ``(samples,)`` float32 waveform in [-1, 1] at ``config.sample_rate``, ``samples <= num_samples``.

    Raises:
        AudioLoadError: missing, undecodable, too short or silent clip.
    """
    if not Path(path).is_file():
        raise AudioLoadError(path, "missing_clip", "no such file")
    try:
        waveform = read_audio(path, config.sample_rate, max_samples=num_samples, min_seconds=min_seconds)
        waveform = np.clip(waveform, -1.0, 1.0)
        check_not_silent(waveform, path)
    except AudioError as error:
        raise AudioLoadError(error.path, error.reason, error.detail) from error
    return waveform.astype(np.float32, copy=False)


def waveform_to_mel(waveform: np.ndarray, config: MelConfig = MelConfig()) -> np.ndarray:
    """``(samples,)`` float waveform → ``(n_mels, frames)`` float32 log-mel (HiFi-GAN's definition)."""
    import torch

    from vocoder.mel import mel_spectrogram

    with torch.no_grad():
        mel = mel_spectrogram(torch.from_numpy(np.ascontiguousarray(waveform, dtype=np.float32)), config)
    return mel.numpy()


@dataclass(frozen=True)
class ClipJob:
    """One clip for a mel worker: ``key`` identifies it in the result, ``path`` is the file."""

    key: str
    path: str
    num_samples: int
    min_seconds: float = DEFAULT_MIN_SECONDS


@dataclass(frozen=True)
class ClipResult:
    """A worker's answer: a ``(n_mels, frames)`` float16 mel, or a failure ``reason`` and ``detail``."""

    key: str
    mel: np.ndarray | None
    reason: str = ""
    detail: str = ""


def usable_waveform(job: ClipJob, config: MelConfig = MelConfig()) -> np.ndarray:
    """:func:`load_clip` for a job, also refusing a clip too short to give one mel frame.

    Raises:
        AudioLoadError: the clip cannot be used (its ``reason`` says why).
    """
    waveform = load_clip(job.path, job.num_samples, config, job.min_seconds)
    if waveform.shape[0] <= config.padding:
        raise AudioLoadError(job.path, "too_short_audio", f"{waveform.shape[0]} samples give no mel frame")
    return waveform


def check_clip_job(job: ClipJob, config: MelConfig = MelConfig()) -> ClipResult:
    """Check that one clip is usable (the bounded decode of :func:`load_clip`; no mel is computed).

    Returns a result whose ``reason`` is empty when the clip is usable (``mel`` is always None).
    Runs in worker processes, like :func:`clip_mel_job`.
    """
    try:
        usable_waveform(job, config)
    except AudioLoadError as error:
        return ClipResult(job.key, None, error.reason, error.detail)
    return ClipResult(job.key, None)


def clip_mel_job(job: ClipJob, config: MelConfig = MelConfig()) -> ClipResult:
    """Decode one clip and compute its mel; failures come back as a result, never as an exception.

    Runs in worker processes (picklable arguments and result; float16 halves the transfer).
    """
    try:
        waveform = usable_waveform(job, config)
    except AudioLoadError as error:
        return ClipResult(job.key, None, error.reason, error.detail)
    return ClipResult(job.key, waveform_to_mel(waveform, config).astype(np.float16))
