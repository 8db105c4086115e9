"""Audio files in and out: the one reader, the one silence threshold and the one WAV writer of the project.

Reading (:func:`read_audio`): any format libsndfile reads (WAV, FLAC, OGG/Vorbis, Opus, MP3 with libsndfile
>= 1.1, AIFF ...), any sample rate, any channel count. Channels are averaged to mono; other rates are
resampled with soxr (high quality); optionally only the first ``max_samples`` output samples are decoded.
:func:`load_audio` adds HiFi-GAN's training normalisation (peak 0.95, ``normalize(audio) * 0.95``, which
leaves headroom for the generator's tanh output).

Failures raise :class:`AudioError` with a ``reason`` (one of :data:`REASONS`) and a ``detail``; a missing
file raises ``FileNotFoundError``.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np

from vocoder.files import UnusableFileError, atomic_write_bytes

__all__ = ["AudioError", "load_audio", "read_audio", "check_not_silent", "write_wav", "PEAK", "SILENCE_PEAK",
           "REASONS"]

#: Peak amplitude after normalisation (HiFi-GAN ``meldataset.py``).
PEAK = 0.95

#: Peak amplitude (-80 dBFS) below which a clip counts as silent: nothing in it a model can learn from.
#: The vocoder once used 1e-5 (-100 dBFS), but that is below the 16-bit noise floor (one step is
#: 1/32768 = 3e-5, -90 dBFS): a 16-bit clip under 1e-4 holds at most three quantisation steps of dither,
#: and normalising it to :data:`PEAK` would amplify that noise by more than 80 dB. One threshold for the
#: dataset builder, the evaluation and vocoder training.
SILENCE_PEAK = 1e-4

#: Why a file was rejected.
REASONS = ("corrupt_audio", "too_short_audio", "silent_audio")

_DECODE_ERRORS = (RuntimeError, OSError, ValueError, EOFError, TypeError)  # LibsndfileError is a RuntimeError
_RESAMPLER_MARGIN = 64
"""Extra source samples decoded for a partial read, so the resampler's edge does not reach the kept part."""


class AudioError(UnusableFileError):
    """An audio file cannot be used. ``reason`` is one of :data:`REASONS` (subclasses may allow more)."""

    reasons = REASONS


def read_audio(path: str | os.PathLike, sample_rate: int, max_samples: int | None = None,
               min_seconds: float = 0.0) -> np.ndarray:
    """Decode ``path`` as a mono float32 waveform at ``sample_rate`` Hz.

    Args:
        path: the audio file.
        sample_rate: target rate in Hz (resampled with soxr if the file differs).
        max_samples: keep at most this many samples (from the start); only about that much is decoded.
        min_seconds: files holding less audio than this (counted in what was read) are rejected.

    Returns:
        ``(samples,)`` float32 array, ``samples <= max_samples`` when given. Not clipped nor normalised.

    Raises:
        FileNotFoundError: no such file.
        AudioError: ``corrupt_audio`` (undecodable, NaN or infinite samples) or ``too_short_audio`` (empty, or
            shorter than ``min_seconds``).
    """
    import soundfile
    import soxr

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"audio file not found: {path}")
    try:
        with soundfile.SoundFile(str(path)) as handle:
            source_rate = handle.samplerate
            wanted = -1 if max_samples is None else (
                int(np.ceil(max_samples * source_rate / sample_rate)) + _RESAMPLER_MARGIN)
            frames = handle.read(frames=wanted, dtype="float32", always_2d=True)
    except _DECODE_ERRORS as error:
        raise AudioError(path, "corrupt_audio", f"libsndfile cannot decode it ({error})") from error
    if frames.size == 0:
        raise AudioError(path, "too_short_audio", "the file holds no samples")
    if not np.isfinite(frames).all():
        raise AudioError(path, "corrupt_audio", "the samples contain NaN or infinity")
    mono = frames.mean(axis=1)
    seconds = mono.shape[0] / source_rate
    if seconds < min_seconds:
        raise AudioError(path, "too_short_audio", f"{seconds:.3f} s is shorter than the minimum {min_seconds} s")
    if source_rate != sample_rate:
        mono = soxr.resample(mono, source_rate, sample_rate, quality="HQ").astype(np.float32)
    if max_samples is not None:
        mono = mono[:max_samples]
    return np.ascontiguousarray(mono, dtype=np.float32)


def check_not_silent(waveform: np.ndarray, path: str | os.PathLike) -> float:
    """The peak amplitude of ``waveform``; raises ``AudioError(silent_audio)`` if under :data:`SILENCE_PEAK`."""
    peak = float(np.max(np.abs(waveform))) if waveform.size else 0.0
    if peak < SILENCE_PEAK:
        raise AudioError(path, "silent_audio", f"peak amplitude {peak:.2e} is below {SILENCE_PEAK:.0e} (-80 dBFS)")
    return peak


def load_audio(path: str | Path, sample_rate: int = 22050, normalize: bool = True) -> np.ndarray:
    """Read ``path`` as HiFi-GAN trains on it: mono float32 at ``sample_rate``, peak scaled to :data:`PEAK`.

    Args:
        path: the audio file.
        sample_rate: target rate in Hz (resampled with soxr if the file differs).
        normalize: scale so the peak is :data:`PEAK` (silent files are rejected, see :data:`SILENCE_PEAK`).

    Raises:
        FileNotFoundError: no such file.
        AudioError: unreadable, empty, non-finite or (when normalising) silent audio.
    """
    waveform = read_audio(path, sample_rate)
    if normalize:
        waveform = waveform * (PEAK / check_not_silent(waveform, path))
    return np.ascontiguousarray(waveform, dtype=np.float32)


def write_wav(path: str | os.PathLike, waveform: np.ndarray, sample_rate: int, subtype: str = "PCM_16") -> None:
    """Write a ``(samples,)`` float waveform in [-1, 1] as a mono WAV (``subtype`` as soundfile names it),
    atomically."""
    import soundfile

    waveform = np.asarray(waveform)
    if waveform.ndim != 1:
        raise ValueError(f"expected a mono (samples,) waveform, got shape {waveform.shape}")
    # Encoded in memory, then written by Python: a full disk then raises OSError(ENOSPC), where libsndfile
    # writing the file itself only says "System error."
    encoded = io.BytesIO()
    soundfile.write(encoded, waveform, sample_rate, subtype=subtype, format="WAV")
    atomic_write_bytes(path, encoded.getvalue())
