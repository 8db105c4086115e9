"""The one audio reader, silence threshold and WAV writer (vocoder.audio), and the clip loader built on it."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile

from art2music.io.audio import AudioLoadError, load_clip
from vocoder.audio import SILENCE_PEAK, AudioError, load_audio, read_audio, write_wav


def _tone(samples: int, rate: int, amplitude: float = 0.5) -> np.ndarray:
    return (amplitude * np.sin(2 * np.pi * 440.0 * np.arange(samples) / rate)).astype(np.float32)


def test_one_silence_threshold_for_the_vocoder_and_the_clip_loader(tmp_path):
    quiet, audible = tmp_path / "quiet.wav", tmp_path / "audible.wav"
    soundfile.write(quiet, _tone(22050 * 2, 22050, 0.5 * SILENCE_PEAK), 22050, subtype="FLOAT")  # -86 dBFS
    soundfile.write(audible, _tone(22050 * 2, 22050, 2 * SILENCE_PEAK), 22050, subtype="FLOAT")
    with pytest.raises(AudioError) as vocoder_error:
        load_audio(quiet)
    with pytest.raises(AudioLoadError) as clip_error:
        load_clip(quiet, 22050)
    assert vocoder_error.value.reason == clip_error.value.reason == "silent_audio"
    assert isinstance(clip_error.value, AudioError)
    assert np.abs(load_audio(audible)).max() == pytest.approx(0.95, abs=1e-4)
    assert load_clip(audible, 22050).shape == (22050,)


def test_partial_read_equals_the_start_of_a_full_read(tmp_path):
    path = tmp_path / "long.flac"
    soundfile.write(path, _tone(44100 * 3, 44100), 44100)
    full = read_audio(path, 22050)
    part = read_audio(path, 22050, max_samples=5000)
    assert part.shape == (5000,) and abs(full.shape[0] - 3 * 22050) <= 1
    np.testing.assert_allclose(part[:4000], full[:4000], atol=1e-4)  # the resampler's edge differs at the end
    with pytest.raises(AudioError) as caught:
        read_audio(path, 22050, min_seconds=4.0)
    assert caught.value.reason == "too_short_audio" and "3.000 s" in caught.value.detail


def test_write_wav_round_trips_and_is_atomic(tmp_path):
    waveform = _tone(4096, 22050)
    write_wav(tmp_path / "a.wav", waveform, 22050, "FLOAT")
    decoded, rate = soundfile.read(tmp_path / "a.wav", dtype="float32")
    assert rate == 22050 and np.array_equal(decoded, waveform)
    with pytest.raises(ValueError, match="mono"):
        write_wav(tmp_path / "b.wav", np.zeros((2, 8), np.float32), 22050)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.wav"]
