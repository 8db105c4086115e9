"""Every metric against cases whose answer is known in closed form."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.fft import idct
from scipy.linalg import sqrtm

from art2music.evaluation.metrics import (MCD_CONSTANT, cosine_similarity, dtw_path, frechet_audio_distance,
                                          frechet_distance, log_spectral_distance, mel_cepstral_distortion,
                                          mel_cepstrum, mel_l1)

RNG = np.random.default_rng(0)


def random_log_mel(frames: int = 50) -> np.ndarray:
    return (RNG.normal(size=(80, frames)) - 5.0).astype(np.float64)


def cepstral_basis(k: int, n_mels: int = 80) -> np.ndarray:
    """The log-mel shape whose orthonormal DCT-II is the unit vector e_k."""
    unit = np.zeros(n_mels)
    unit[k] = 1.0
    return idct(unit, type=2, norm="ortho")


def test_mcd_constant_is_kubicheks():
    assert MCD_CONSTANT == pytest.approx(6.141851, abs=1e-6)


def test_mcd_of_identical_mels_is_zero():
    mel = random_log_mel()
    assert mel_cepstral_distortion(mel, mel) == 0.0
    assert mel_cepstral_distortion(mel, mel, align=True) == 0.0


def test_mcd_of_a_shift_in_cepstral_coefficients_follows_the_formula():
    mel = random_log_mel()
    assert np.allclose(mel_cepstrum(mel + 0.7 * cepstral_basis(3)[:, None]) - mel_cepstrum(mel),
                       0.7 * np.eye(13)[2][:, None])
    shifted = mel + 0.5 * cepstral_basis(2)[:, None]
    assert mel_cepstral_distortion(mel, shifted) == pytest.approx(MCD_CONSTANT * 0.5)
    both = mel + (0.3 * cepstral_basis(1) - 0.4 * cepstral_basis(13))[:, None]
    assert mel_cepstral_distortion(mel, both) == pytest.approx(MCD_CONSTANT * 0.5)  # sqrt(0.3² + 0.4²)


def test_mcd_ignores_c0_and_coefficients_above_the_order():
    mel = random_log_mel()
    assert mel_cepstral_distortion(mel, mel + 2.0) == pytest.approx(0.0, abs=1e-9)  # loudness only: c0
    assert mel_cepstral_distortion(mel, mel + cepstral_basis(20)[:, None]) == pytest.approx(0.0, abs=1e-9)


def test_mcd_dtw_undoes_a_time_stretch_that_plain_mcd_punishes():
    mel = random_log_mel(30)
    stretched = np.repeat(mel, 2, axis=1)  # every frame twice
    assert mel_cepstral_distortion(mel, stretched) > 5.0
    assert mel_cepstral_distortion(mel, stretched, align=True) == pytest.approx(0.0, abs=1e-9)


def test_dtw_path_on_a_small_cost_matrix():
    cost = np.array([[0, 5, 5], [5, 0, 5], [5, 0, 5], [5, 5, 0]], dtype=float)
    rows, cols = dtw_path(cost)
    assert list(zip(rows, cols)) == [(0, 0), (1, 1), (2, 1), (3, 2)]
    brute = min(_all_path_costs(cost))
    assert cost[rows, cols].sum() == brute


def _all_path_costs(cost, i=0, j=0):
    n, m = cost.shape
    if (i, j) == (n - 1, m - 1):
        yield cost[i, j]
        return
    for di, dj in ((1, 0), (0, 1), (1, 1)):
        if i + di < n and j + dj < m:
            for rest in _all_path_costs(cost, i + di, j + dj):
                yield cost[i, j] + rest


def test_lsd_of_a_gain_is_exactly_20_log10_gain():
    signal = RNG.normal(size=22050).astype(np.float64)
    assert log_spectral_distance(signal, signal) == 0.0
    for gain in (0.5, 2.0, 10.0):
        assert log_spectral_distance(signal, gain * signal) == pytest.approx(abs(20 * math.log10(gain)), rel=1e-9)


def test_lsd_uses_the_common_length_and_the_floor():
    signal = RNG.normal(size=8000)
    assert log_spectral_distance(signal, np.concatenate([signal, RNG.normal(size=3000)])) == 0.0
    silence = np.zeros(4096)
    # every bin of silence sits on the -100 dB floor; a unit impulse train is far above it
    assert log_spectral_distance(silence, silence) == 0.0
    assert log_spectral_distance(silence, signal[:4096]) > 80.0
    with pytest.raises(ValueError, match="shorter than one STFT window"):
        log_spectral_distance(signal[:500], signal[:500])


def test_frechet_distance_of_one_dimensional_gaussians():
    # W2² between N(m1, s1²) and N(m2, s2²) is (m1 - m2)² + (s1 - s2)²
    assert frechet_distance([1.0], [[4.0]], [3.0], [[9.0]]) == pytest.approx((1 - 3) ** 2 + (2 - 3) ** 2)


def test_frechet_distance_of_diagonal_and_general_gaussians():
    a, b = np.array([1.0, 4.0, 0.25]), np.array([9.0, 1.0, 0.25])
    expected = ((np.sqrt(a) - np.sqrt(b)) ** 2).sum()
    assert frechet_distance(np.zeros(3), np.diag(a), np.zeros(3), np.diag(b)) == pytest.approx(expected)
    x, y = RNG.normal(size=(6, 6)), RNG.normal(size=(6, 6))
    cov_a, cov_b = x @ x.T, y @ y.T  # do not commute
    mean_a, mean_b = RNG.normal(size=6), RNG.normal(size=6)
    reference = ((mean_a - mean_b) ** 2).sum() + np.trace(cov_a + cov_b - 2 * sqrtm(cov_a @ cov_b).real)
    assert frechet_distance(mean_a, cov_a, mean_b, cov_b) == pytest.approx(reference, rel=1e-8)
    assert frechet_distance(mean_a, cov_a, mean_a, cov_a) == pytest.approx(0.0, abs=1e-8)


def test_frechet_distance_handles_singular_covariances():
    singular = np.diag([2.0, 0.0, 0.0])
    assert frechet_distance(np.zeros(3), singular, np.zeros(3), singular) == pytest.approx(0.0, abs=1e-10)
    # N(0, diag(2,0,0)) vs N(0, 0): the distance is the trace, 2
    assert frechet_distance(np.zeros(3), singular, np.zeros(3), np.zeros((3, 3))) == pytest.approx(2.0)


def test_fad_from_samples_approaches_the_gaussian_answer_and_reports_sizes():
    shift = np.array([1.0, -2.0, 0.5, 0.0])
    reference = RNG.normal(size=(20000, 4))
    generated = RNG.normal(size=(15000, 4)) + shift
    result = frechet_audio_distance(reference, generated)
    assert result.value == pytest.approx((shift ** 2).sum(), abs=0.2)  # sampling noise of the means: ~0.05 s.d.
    assert (result.n_reference, result.n_generated, result.dim) == (20000, 15000, 4)


def test_fad_with_fewer_clips_than_dimensions_is_finite_and_zero_for_identical_sets():
    few = RNG.normal(size=(5, 32))  # rank-deficient covariance
    assert frechet_audio_distance(few, few).value == pytest.approx(0.0, abs=1e-8)
    other = frechet_audio_distance(few, RNG.normal(size=(7, 32)))
    assert np.isfinite(other.value) and other.value > 0
    with pytest.raises(ValueError, match="at least 2 embeddings"):
        frechet_audio_distance(few[:1], few)
    with pytest.raises(ValueError, match="same D"):
        frechet_audio_distance(few, RNG.normal(size=(5, 8)))


def test_cosine_similarity_of_known_pairs():
    a = np.array([[1.0, 0.0], [0.0, 2.0], [3.0, 3.0]])
    assert cosine_similarity(a, a) == pytest.approx(1.0)
    assert cosine_similarity(a, -a) == pytest.approx(-1.0)
    assert cosine_similarity(a[:2], a[:2][:, ::-1]) == pytest.approx(0.0)
    assert cosine_similarity([1.0, 0.0], [1.0, 1.0]) == pytest.approx(1 / math.sqrt(2))
    with pytest.raises(ValueError, match="all-zero"):
        cosine_similarity([0.0, 0.0], [1.0, 0.0])


def test_mel_l1():
    mel = random_log_mel()
    assert mel_l1(mel, mel) == 0.0
    assert mel_l1(mel, mel + 0.25) == pytest.approx(0.25)
    assert mel_l1(mel, np.concatenate([mel - 1.0, mel], axis=1)) == pytest.approx(1.0)  # common frames only


def test_music_figures_on_known_mels():
    from art2music.evaluation.metrics import inter_item_distance, spectral_flux, temporal_variation

    static = np.full((4, 10), -5.0)
    assert temporal_variation(static) == 0.0 and spectral_flux(static) == 0.0
    alternating = np.tile([0.0, 2.0], (4, 5))          # every bin: 0, 2, 0, 2, ... over 10 frames
    assert temporal_variation(alternating) == pytest.approx(1.0)   # std of {0, 2} = 1
    assert spectral_flux(alternating) == pytest.approx(2.0)        # |2 - 0| between every pair of frames
    ramp = np.tile(np.arange(10.0), (3, 1))
    assert spectral_flux(ramp) == pytest.approx(1.0) and spectral_flux(ramp[:, :1]) == 0.0
    means = np.array([[0.0, 0.0], [1.0, 3.0], [2.0, 2.0]])
    # pairs: (0,1) mean(1,3)=2, (0,2) 2, (1,2) mean(1,1)=1 -> 5/3
    assert inter_item_distance(means) == pytest.approx(5 / 3)
    assert inter_item_distance(means[:1]) is None
