"""Reading training audio the way HiFi-GAN expects it: mono, 22.05 kHz, peak-normalised to 0.95.

Any format libsndfile reads (WAV, FLAC, OGG, MP3 with libsndfile >= 1.1), any sample rate, any channel count.
Channels are averaged; other rates are resampled with soxr (high quality); the clip is scaled so its peak is
0.95 (HiFi-GAN's ``normalize(audio) * 0.95``), which leaves headroom for the generator's tanh output.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["AudioError", "load_audio", "PEAK"]

#: Peak amplitude after normalisation (HiFi-GAN ``meldataset.py``).
PEAK = 0.95
#: Clips whose peak is below this are treated as silent (normalising them would amplify noise by > 90 dB).
SILENCE_THRESHOLD = 1e-5


class AudioError(ValueError):
    """An audio file is unreadable, empty or silent; the message names the file."""


def load_audio(path: str | Path, sample_rate: int = 22050, normalize: bool = True) -> np.ndarray:
    """Read ``path`` as a mono float32 waveform at ``sample_rate`` Hz.

    Args:
        path: the audio file.
        sample_rate: target rate in Hz (resampled with soxr if the file differs).
        normalize: scale so the peak is :data:`PEAK`.

    Returns:
        ``(samples,)`` float32 array in [-1, 1].

    Raises:
        FileNotFoundError: no such file.
        AudioError: unreadable, empty, non-finite or silent audio.
    """
    import soundfile
    import soxr

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"audio file not found: {path}")
    try:
        data, file_rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    except (soundfile.LibsndfileError, RuntimeError, TypeError) as error:
        raise AudioError(f"cannot read audio {path}: {error} (is it a WAV/FLAC/OGG file, not truncated?)") from error
    if data.shape[0] == 0:
        raise AudioError(f"audio {path} has no samples")
    waveform = data.mean(axis=1)
    if not np.all(np.isfinite(waveform)):
        raise AudioError(f"audio {path} contains NaN or infinite samples")
    if file_rate != sample_rate:
        waveform = soxr.resample(waveform, file_rate, sample_rate, quality="HQ").astype(np.float32)
    peak = float(np.max(np.abs(waveform))) if waveform.size else 0.0
    if normalize:
        if peak < SILENCE_THRESHOLD:
            raise AudioError(f"audio {path} is silent (peak {peak:.2e}); remove it from the training list")
        waveform = waveform * (PEAK / peak)
    return np.ascontiguousarray(waveform, dtype=np.float32)
