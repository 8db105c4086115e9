"""Clip decoding: any rate, any channel count, cropped; bad clips rejected with the right reason."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile

from art2music.io.audio import (AudioLoadError, ClipJob, ClipResult, check_clip_job, clip_mel_job, clip_num_samples,
                                  load_clip)
from vocoder.mel import MelConfig, num_frames


def _tone(seconds: float, rate: int, freq: float = 440.0, channels: int = 1) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    wave = 0.5 * np.sin(2 * np.pi * freq * t).astype(np.float32)
    return np.stack([wave] * channels, axis=1) if channels > 1 else wave


def test_clip_length_gives_the_papers_frame_count():
    assert clip_num_samples(10.0) == 220_756
    assert num_frames(clip_num_samples(10.0)) == 862
    with pytest.raises(ValueError):
        clip_num_samples(0)


@pytest.mark.parametrize("rate, channels, fmt", [(44100, 2, "WAV"), (16000, 1, "FLAC"), (22050, 6, "OGG")])
def test_resampled_to_22050_mono_and_cropped(tmp_path, rate, channels, fmt):
    path = tmp_path / f"clip.{fmt.lower()}"
    soundfile.write(path, _tone(3.0, rate, channels=channels), rate, format=fmt)
    wave = load_clip(path, num_samples=22050 * 2)
    assert wave.dtype == np.float32 and wave.ndim == 1
    assert wave.shape[0] == 22050 * 2  # cropped from 3 s to 2 s
    spectrum = np.abs(np.fft.rfft(wave))
    assert abs(np.argmax(spectrum) * 22050 / len(wave) - 440.0) < 2.0  # pitch kept through resampling


def test_short_clip_is_kept_whole(tmp_path):
    path = tmp_path / "short.wav"
    soundfile.write(path, _tone(1.5, 22050), 22050)
    assert load_clip(path, num_samples=22050 * 4).shape[0] == int(1.5 * 22050)


@pytest.mark.parametrize("case, reason", [("missing", "missing_clip"), ("garbage", "corrupt_audio"),
                                          ("nan", "corrupt_audio"), ("silent", "silent_audio"),
                                          ("short", "too_short_audio"), ("empty", "too_short_audio")])
def test_bad_clips_raise_the_right_reason(tmp_path, case, reason):
    path = tmp_path / "bad.wav"
    if case == "garbage":
        path.write_bytes(b"RIFF....WAVEfmt definitely not audio")
    elif case == "nan":
        wave = _tone(2.0, 22050)
        wave[100] = np.nan
        soundfile.write(path, wave, 22050, subtype="FLOAT")
    elif case == "silent":
        soundfile.write(path, np.full(44100, 1e-6, dtype=np.float32), 22050, subtype="FLOAT")
    elif case == "short":
        soundfile.write(path, _tone(0.4, 22050), 22050)
    elif case == "empty":
        soundfile.write(path, np.zeros(0, dtype=np.float32), 22050)
    with pytest.raises(AudioLoadError) as caught:
        load_clip(path, num_samples=22050 * 2, min_seconds=1.0)
    assert caught.value.reason == reason and str(path) in str(caught.value)


def test_clip_mel_job_returns_mel_or_failure(tmp_path):
    good, bad = tmp_path / "good.wav", tmp_path / "bad.wav"
    soundfile.write(good, _tone(2.0, 32000, channels=2), 32000)
    bad.write_bytes(b"nope")
    samples = clip_num_samples(1.0)
    result = clip_mel_job(ClipJob("g", str(good), samples, 0.5))
    assert result.mel is not None and result.mel.dtype == np.float16
    assert result.mel.shape == (80, num_frames(samples))
    assert result.mel.max() > MelConfig().silence_value + 5  # a loud tone, not silence
    failed = clip_mel_job(ClipJob("b", str(bad), samples, 0.5))
    assert failed.mel is None and failed.reason == "corrupt_audio" and failed.key == "b"


def test_check_clip_job_applies_the_mel_jobs_rules_without_a_mel(tmp_path):
    good, silent, tiny = tmp_path / "good.wav", tmp_path / "silent.wav", tmp_path / "tiny.wav"
    soundfile.write(good, _tone(2.0, 32000, channels=2), 32000)
    soundfile.write(silent, np.zeros(44100, dtype=np.float32), 22050)
    soundfile.write(tiny, _tone(0.01, 22050, channels=1), 22050)  # fewer samples than one mel frame needs
    samples = clip_num_samples(1.0)
    assert check_clip_job(ClipJob("g", str(good), samples, 0.5)) == ClipResult("g", None)
    assert check_clip_job(ClipJob("s", str(silent), samples, 0.5)).reason == "silent_audio"
    short = ClipJob("t", str(tiny), samples, 0.0)
    assert check_clip_job(short).reason == clip_mel_job(short).reason == "too_short_audio"
