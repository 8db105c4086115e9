"""The mel definition matches HiFi-GAN's, value for value, computed here independently (numpy/scipy)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from vocoder.mel import MelConfig, mel_spectrogram, num_frames


def _slaney_mel_filters(sr: int, n_fft: int, n_mels: int, fmin: float, fmax: float) -> np.ndarray:
    """Slaney-style mel filterbank written out from its definition (Slaney 1998 / librosa's defaults)."""
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel, logstep = min_log_hz / f_sp, math.log(6.4) / 27.0

    def hz_to_mel(f):
        f = np.asarray(f, dtype=np.float64)
        return np.where(f >= min_log_hz, min_log_mel + np.log(np.maximum(f, 1e-10) / min_log_hz) / logstep, f / f_sp)

    def mel_to_hz(m):
        return np.where(m >= min_log_mel, min_log_hz * np.exp(logstep * (m - min_log_mel)), f_sp * m)

    fft_freqs = np.linspace(0, sr / 2, n_fft // 2 + 1)
    mel_points = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))
    filters = np.zeros((n_mels, len(fft_freqs)))
    for m in range(n_mels):
        lower, centre, upper = mel_points[m], mel_points[m + 1], mel_points[m + 2]
        rising = (fft_freqs - lower) / (centre - lower)
        falling = (upper - fft_freqs) / (upper - centre)
        filters[m] = np.maximum(0, np.minimum(rising, falling)) * (2.0 / (upper - lower))
    return filters


def _reference_log_mel(audio: np.ndarray, cfg: MelConfig) -> np.ndarray:
    """HiFi-GAN's recipe in plain numpy: reflect pad 384, periodic Hann, |STFT|, mel, log(clamp 1e-5)."""
    pad = (cfg.n_fft - cfg.hop_length) // 2
    padded = np.pad(audio.astype(np.float64), (pad, pad), mode="reflect")
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(cfg.win_length) / cfg.win_length)  # periodic Hann
    frames = (len(padded) - cfg.n_fft) // cfg.hop_length + 1
    spectrum = np.stack([np.fft.rfft(padded[k * cfg.hop_length: k * cfg.hop_length + cfg.n_fft] * window)
                         for k in range(frames)], axis=1)
    magnitude = np.sqrt(spectrum.real ** 2 + spectrum.imag ** 2 + 1e-9)
    mel = _slaney_mel_filters(cfg.sample_rate, cfg.n_fft, cfg.n_mels, cfg.fmin, cfg.fmax) @ magnitude
    return np.log(np.maximum(mel, cfg.clip_value))


def test_defaults_are_hifigan_v1():
    cfg = MelConfig()
    assert (cfg.sample_rate, cfg.n_fft, cfg.hop_length, cfg.win_length, cfg.n_mels, cfg.fmin, cfg.fmax) == \
        (22050, 1024, 256, 1024, 80, 0.0, 8000.0)
    assert cfg.silence_value == pytest.approx(-11.5129, abs=1e-4)


@pytest.mark.parametrize("seed", [0, 1])
def test_matches_independent_reference(seed):
    rng = np.random.default_rng(seed)
    t = np.arange(22050 // 2) / 22050
    audio = 0.5 * np.sin(2 * np.pi * 440 * t) + 0.3 * np.sin(2 * np.pi * 3150 * t) + 0.05 * rng.normal(size=t.size)
    audio = np.clip(audio, -1, 1)
    reference = _reference_log_mel(audio, MelConfig())
    ours = mel_spectrogram(torch.tensor(audio, dtype=torch.float32)[None], MelConfig())[0].numpy()
    assert ours.shape == reference.shape == (80, num_frames(len(audio)))
    assert np.max(np.abs(ours - reference)) < 1e-4


def test_pinned_values_of_a_tone():
    """Regression pin: a 1 kHz tone at amplitude 0.5 (values from the numpy reference above, rounded)."""
    t = np.arange(22050) / 22050
    audio = torch.tensor(0.5 * np.sin(2 * np.pi * 1000 * t), dtype=torch.float32)[None]
    mel = mel_spectrogram(audio)[0]
    reference = _reference_log_mel(audio[0].numpy().astype(np.float64), MelConfig())
    peak_bin = int(mel[:, 40].argmax())
    assert peak_bin == int(np.argmax(reference[:, 40]))
    assert abs(float(mel[peak_bin, 40]) - float(reference[peak_bin, 40])) < 1e-4
    # Bins far above 1 kHz hold only leakage: far below the peak.
    assert float(mel[79, 40]) < float(mel[peak_bin, 40]) - 5


def test_frame_count_and_silence():
    silence = torch.zeros(1, 220500)
    mel = mel_spectrogram(silence)
    assert mel.shape == (1, 80, 861)  # exactly 10 s -> 861 frames
    assert num_frames(220500 + 256) == 862  # the paper's 862 = 10 s padded by one hop
    # sqrt(1e-9) magnitudes through the filters stay below the 1e-5 floor: silence is log(1e-5)
    assert torch.allclose(mel, torch.full_like(mel, math.log(1e-5)))


def test_batch_and_1d_inputs_agree():
    audio = torch.rand(3, 4096) * 2 - 1
    batched = mel_spectrogram(audio)
    single = mel_spectrogram(audio[1])
    assert batched.shape == (3, 80, num_frames(4096))
    assert torch.allclose(batched[1], single, atol=1e-6)


@pytest.mark.parametrize("bad, message", [
    (torch.zeros(2, 3, 100), "shape"),
    (torch.zeros(1, 100), "at least"),
    (torch.zeros(1, 4096, dtype=torch.int16), "floating point"),
])
def test_bad_inputs_are_explained(bad, message):
    with pytest.raises((ValueError, TypeError), match=message):
        mel_spectrogram(bad)


def test_config_round_trip_and_official_names():
    cfg = MelConfig()
    assert MelConfig.from_dict(cfg.to_dict()) == cfg
    official = {"sampling_rate": 22050, "hop_size": 256, "win_size": 1024, "num_mels": 80, "n_fft": 1024,
                "fmin": 0, "fmax": 8000, "batch_size": 16, "resblock": "1"}
    assert MelConfig.from_dict(official) == cfg
    with pytest.raises(ValueError, match="unknown MelConfig keys"):
        MelConfig.from_dict({"hop": 256})
    with pytest.raises(ValueError, match="hop_length: 256 here vs 200"):
        cfg.check_matches(MelConfig(hop_length=200), "a checkpoint")
