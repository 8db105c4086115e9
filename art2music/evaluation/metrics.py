"""The evaluation metrics of the Art2Music paper, each defined exactly here (numpy, no training state).

- :func:`mel_cepstral_distortion` (MCD, dB), with or without DTW alignment;
- :func:`log_spectral_distance` (LSD, dB) between two waveforms;
- :func:`frechet_distance` / :func:`frechet_audio_distance` (FAD) between two sets of embeddings;
- :func:`cosine_similarity` between paired embeddings;
- :func:`mel_l1`, the mean absolute log-mel difference (the stage-1 training loss without its weights).

Every function takes one pair (or one pair of sets) and returns plain floats; averaging over a test split
is the runner's job.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from vocoder.mel import MelConfig

_MEL = MelConfig()
"""The HiFi-GAN mel definition: the LSD spectrogram uses its STFT size and hop."""

MCD_CONSTANT = 10.0 * math.sqrt(2.0) / math.log(10.0)
"""``10·√2 / ln 10 ≈ 6.1419``: turns a Euclidean distance between natural-log cepstra into dB
(Kubichek 1993, "Mel-cepstral distance measure for objective speech quality assessment")."""

MCD_ORDER = 13
"""Cepstral coefficients c1..c13 enter the MCD; c0 (overall loudness) is left out, as is usual."""

LSD_FLOOR = 1e-10
"""Power floor of the log-spectral distance (−100 dB re full-scale power): keeps log10(0) out of silent bins."""


# ----------------------------------------------------------------------------------------------- MCD
def mel_cepstrum(log_mel: np.ndarray, order: int = MCD_ORDER) -> np.ndarray:
    """Mel-cepstral coefficients c1..c_order of a natural-log mel-spectrogram.

    The cepstrum is the orthonormal DCT-II over the mel bins of the 80-bin natural-log HiFi-GAN mel
    (:mod:`vocoder.mel`: ``log(clamp(mel magnitude, 1e-5))``), i.e. an MFCC analysis without its own
    filterbank: ``c_k = s_k Σ_m log_mel[m] cos(π k (m + ½) / M)``, ``s_0 = √(1/M)``, ``s_k = √(2/M)``.

    Args:
        log_mel: ``(n_mels, frames)`` natural-log mel magnitudes.
        order: highest coefficient kept.

    Returns:
        ``(order, frames)`` coefficients c1..c_order (c0 dropped).
    """
    from scipy.fft import dct

    log_mel = np.asarray(log_mel, dtype=np.float64)
    if log_mel.ndim != 2:
        raise ValueError(f"expected a (n_mels, frames) log-mel, got shape {log_mel.shape}")
    if not 1 <= order < log_mel.shape[0]:
        raise ValueError(f"cepstral order must be in [1, {log_mel.shape[0] - 1}], got {order}")
    return dct(log_mel, type=2, norm="ortho", axis=0)[1:order + 1]


def dtw_path(cost: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Minimum-cost monotonic alignment of a ``(n, m)`` cost matrix (steps (1,0), (0,1), (1,1), equal weight).

    Row ``i`` of the accumulated cost is ``D[i, j] = cost[i, j] + min(D[i-1, j], D[i-1, j-1], D[i, j-1])``; the
    in-row dependency is solved in closed form: with ``a_j = cost[i, j] + min(D[i-1, j], D[i-1, j-1])`` and the
    prefix sums ``S_j`` of ``cost[i]``, ``D[i, j] = S_j + min_{k ≤ j}(a_k − S_k)`` (one ``minimum.accumulate``
    per row instead of a Python loop per cell).

    Returns:
        ``(rows, cols)``: the aligned index pairs from ``(0, 0)`` to ``(n-1, m-1)``.
    """
    cost = np.asarray(cost, dtype=np.float64)
    n, m = cost.shape
    accumulated = np.empty((n, m))
    prefix = np.cumsum(cost[0])
    accumulated[0] = prefix
    for i in range(1, n):
        above = accumulated[i - 1]
        diagonal = np.concatenate([[np.inf], above[:-1]])
        entry = cost[i] + np.minimum(above, diagonal)
        prefix = np.cumsum(cost[i])
        accumulated[i] = prefix + np.minimum.accumulate(entry - prefix)
    rows, cols = [n - 1], [m - 1]
    i, j = n - 1, m - 1
    while i > 0 or j > 0:
        if i == 0:
            j -= 1
        elif j == 0:
            i -= 1
        else:
            step = int(np.argmin([accumulated[i - 1, j - 1], accumulated[i - 1, j], accumulated[i, j - 1]]))
            i, j = (i - 1, j - 1) if step == 0 else ((i - 1, j) if step == 1 else (i, j - 1))
        rows.append(i)
        cols.append(j)
    return np.asarray(rows[::-1]), np.asarray(cols[::-1])


def mel_cepstral_distortion(reference_log_mel: np.ndarray, generated_log_mel: np.ndarray,
                            order: int = MCD_ORDER, align: bool = False) -> float:
    """Mel-cepstral distortion in dB (Kubichek 1993), averaged over frames.

    ``MCD = (10·√2 / ln 10) · mean_t sqrt(Σ_{k=1..order} (c_k,ref(t) − c_k,gen(t))²)`` with the cepstra of
    :func:`mel_cepstrum` (DCT-II of the natural-log HiFi-GAN mel, c1..c13, c0 excluded).

    Args:
        reference_log_mel, generated_log_mel: ``(n_mels, frames)`` natural-log mels (frame counts may differ).
        align: ``False``: frame t against frame t over the common length (what the evaluation table uses:
            generated clips are meant to be time-locked to nothing, so no alignment rewards them);
            ``True``: frames paired by DTW over the Euclidean cepstral distance, MCD averaged along the path.

    Returns:
        MCD in dB; 0 for identical inputs.
    """
    reference = mel_cepstrum(reference_log_mel, order)
    generated = mel_cepstrum(generated_log_mel, order)
    if align:
        cost = np.sqrt(((reference.T[:, None, :] - generated.T[None, :, :]) ** 2).sum(-1))
        rows, cols = dtw_path(cost)
        return float(MCD_CONSTANT * cost[rows, cols].mean())
    frames = min(reference.shape[1], generated.shape[1])
    if frames == 0:
        raise ValueError("cannot compute MCD of an empty mel")
    difference = reference[:, :frames] - generated[:, :frames]
    return float(MCD_CONSTANT * np.sqrt((difference ** 2).sum(axis=0)).mean())


# ----------------------------------------------------------------------------------------------- LSD
def power_spectrogram(waveform: np.ndarray, n_fft: int = _MEL.n_fft,
                      hop_length: int = _MEL.hop_length) -> np.ndarray:
    """``(samples,)`` waveform → ``(n_fft//2 + 1, frames)`` power ``|STFT|²`` (periodic Hann of ``n_fft``,
    frames at ``k·hop`` without centring or padding, so ``frames = 1 + (samples − n_fft) // hop``)."""
    waveform = np.asarray(waveform, dtype=np.float64)
    if waveform.ndim != 1:
        raise ValueError(f"expected a mono (samples,) waveform, got shape {waveform.shape}")
    if waveform.shape[0] < n_fft:
        raise ValueError(f"a waveform of {waveform.shape[0]} samples is shorter than one STFT window ({n_fft})")
    window = 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(n_fft) / n_fft)
    frames = np.lib.stride_tricks.sliding_window_view(waveform, n_fft)[::hop_length]
    return (np.abs(np.fft.rfft(frames * window, axis=-1)) ** 2).T


def log_spectral_distance(reference: np.ndarray, generated: np.ndarray, n_fft: int = _MEL.n_fft,
                          hop_length: int = _MEL.hop_length, floor: float = LSD_FLOOR) -> float:
    """Log-spectral distance in dB between two waveforms.

    ``LSD = mean_t sqrt(mean_f (10 log10 max(P_ref(f,t), floor) − 10 log10 max(P_gen(f,t), floor))²)``
    with ``P`` the power spectrogram of :func:`power_spectrogram` (STFT n_fft 1024, hop 256, Hann window,
    all 513 bins up to Nyquist) over the common length of the two signals; floor 1e-10 (−100 dB).
    A pure gain ``g`` (``generated = g · reference``) gives exactly ``|20 log10 g|`` dB.

    Args:
        reference, generated: ``(samples,)`` waveforms at the same sample rate.
    """
    length = min(len(reference), len(generated))
    reference_db = 10.0 * np.log10(np.maximum(power_spectrogram(reference[:length], n_fft, hop_length), floor))
    generated_db = 10.0 * np.log10(np.maximum(power_spectrogram(generated[:length], n_fft, hop_length), floor))
    return float(np.sqrt(((reference_db - generated_db) ** 2).mean(axis=0)).mean())


# ----------------------------------------------------------------------------------------------- FAD
@dataclass(frozen=True)
class FrechetResult:
    """A Fréchet distance with the sample sizes it was computed from (report them beside the value)."""

    value: float
    n_reference: int
    n_generated: int
    dim: int

    def to_dict(self) -> dict:
        return asdict(self)


def _symmetric_sqrt(matrix: np.ndarray) -> np.ndarray:
    """Square root of a symmetric positive semi-definite matrix by eigendecomposition (negative rounding
    errors in the eigenvalues clipped to 0)."""
    eigenvalues, eigenvectors = np.linalg.eigh((matrix + matrix.T) / 2.0)
    return (eigenvectors * np.sqrt(np.clip(eigenvalues, 0.0, None))) @ eigenvectors.T


def frechet_distance(mean_a: np.ndarray, cov_a: np.ndarray, mean_b: np.ndarray, cov_b: np.ndarray) -> float:
    """Fréchet (2-Wasserstein) distance between Gaussians N(μa, Σa) and N(μb, Σb).

    ``d² = ‖μa − μb‖² + tr(Σa + Σb − 2 (Σa^½ Σb Σa^½)^½)``. The trace term is computed from the
    symmetric form ``Σa^½ Σb Σa^½`` by eigendecomposition (its eigenvalues are those of ``Σa Σb``), which is stable for
    singular (rank-deficient) covariances, where ``sqrtm(Σa Σb)`` may return complex noise.

    Returns:
        ``d²`` (the quantity FAD reports), ≥ 0.
    """
    mean_a, mean_b = np.atleast_1d(np.asarray(mean_a, np.float64)), np.atleast_1d(np.asarray(mean_b, np.float64))
    cov_a, cov_b = np.atleast_2d(np.asarray(cov_a, np.float64)), np.atleast_2d(np.asarray(cov_b, np.float64))
    if not (mean_a.shape == mean_b.shape and cov_a.shape == cov_b.shape == (mean_a.size, mean_a.size)):
        raise ValueError(f"mismatched Gaussian shapes: means {mean_a.shape}/{mean_b.shape}, covariances "
                         f"{cov_a.shape}/{cov_b.shape}")
    root_a = _symmetric_sqrt(cov_a)
    middle = root_a @ cov_b @ root_a
    cross_trace = np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2.0), 0.0, None)).sum()
    value = float(((mean_a - mean_b) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b) - 2.0 * cross_trace)
    return max(value, 0.0)


def gaussian_statistics(embeddings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(n, D)`` embeddings → mean ``(D,)`` and unbiased covariance ``(D, D)`` (needs n ≥ 2)."""
    embeddings = np.asarray(embeddings, dtype=np.float64)
    if embeddings.ndim != 2 or embeddings.shape[0] < 2:
        raise ValueError(f"need at least 2 embeddings of shape (n, D) for a covariance, got {embeddings.shape}")
    if not np.isfinite(embeddings).all():
        raise ValueError("embeddings contain NaN or infinity")
    return embeddings.mean(axis=0), np.cov(embeddings, rowvar=False)


def frechet_audio_distance(reference_embeddings: np.ndarray, generated_embeddings: np.ndarray) -> FrechetResult:
    """Fréchet audio distance (Kilgour, Zuluaga, Roblek, Sharifi 2019, "Fréchet Audio Distance: A Metric for
    Evaluating Music Enhancement Algorithms") between two sets of audio embeddings.

    Each set is summarised by the mean and covariance of its embeddings (for VGGish, one 128-d embedding
    per 0.96 s window, all windows of all clips pooled) and :func:`frechet_distance` is taken between the
    two Gaussians. With fewer embeddings than dimensions the covariances are rank-deficient; the
    eigendecomposition handles that, but the value is then dominated by estimation noise.

    Sample-size bias: FAD is biased upward for finite sets (the covariance estimates' noise adds to the
    trace term), roughly linearly in 1/N (Chong & Forsyth 2020 for FID; Gui et al. 2024, "Adapting Fréchet
    Audio Distance for Generative Music Evaluation", extrapolate to FAD∞). Compare values only at equal N;
    the sizes are returned with the value for that reason.

    Args:
        reference_embeddings: ``(n_ref, D)``; generated_embeddings: ``(n_gen, D)``.
    """
    reference_embeddings, generated_embeddings = np.asarray(reference_embeddings), np.asarray(generated_embeddings)
    if reference_embeddings.ndim != 2 or generated_embeddings.ndim != 2 or \
            reference_embeddings.shape[1] != generated_embeddings.shape[1]:
        raise ValueError(f"embedding sets must be (n, D) with the same D, got {reference_embeddings.shape} and "
                         f"{generated_embeddings.shape}")
    value = frechet_distance(*gaussian_statistics(reference_embeddings), *gaussian_statistics(generated_embeddings))
    return FrechetResult(value, len(reference_embeddings), len(generated_embeddings), reference_embeddings.shape[1])


# ----------------------------------------------------------------------------------------------- pairs
def cosine_similarity(reference_embeddings: np.ndarray, generated_embeddings: np.ndarray) -> float:
    """Mean over pairs of ``cos(e_ref_i, e_gen_i)`` for ``(n, D)`` paired clip embeddings (row i with row i);
    a ``(D,)`` pair gives one value. In [-1, 1]; 1 when every pair points the same way."""
    reference = np.atleast_2d(np.asarray(reference_embeddings, dtype=np.float64))
    generated = np.atleast_2d(np.asarray(generated_embeddings, dtype=np.float64))
    if reference.shape != generated.shape:
        raise ValueError(f"paired embeddings must have the same shape, got {reference.shape} and {generated.shape}")
    norms = np.linalg.norm(reference, axis=1) * np.linalg.norm(generated, axis=1)
    if (norms == 0).any():
        raise ValueError("cosine similarity is undefined for an all-zero embedding")
    return float(((reference * generated).sum(axis=1) / norms).mean())


def mel_l1(reference_log_mel: np.ndarray, generated_log_mel: np.ndarray) -> float:
    """Mean absolute difference of two ``(n_mels, frames)`` natural-log mels over their common frames."""
    frames = min(reference_log_mel.shape[-1], generated_log_mel.shape[-1])
    if reference_log_mel.shape[0] != generated_log_mel.shape[0] or frames == 0:
        raise ValueError(f"mels must share the bin count and have frames, got {reference_log_mel.shape} and "
                         f"{generated_log_mel.shape}")
    return float(np.abs(np.asarray(reference_log_mel[:, :frames], np.float64)
                        - np.asarray(generated_log_mel[:, :frames], np.float64)).mean())


# ----------------------------------------------------------------------------------------------- music figures
# A deterministic regression renders the conditional mean mel: horizontal bands that barely move and sound alike
# for every input. These three figures measure that directly, on ``(n_mels, frames)`` log-mels.

def temporal_variation(log_mel: np.ndarray) -> float:
    """For each mel bin the standard deviation over time, averaged over bins (natural-log units)."""
    return float(np.asarray(log_mel, dtype=np.float64).std(axis=1).mean())


def spectral_flux(log_mel: np.ndarray) -> float:
    """Frame-to-frame mel flux: mean ``|m[:, t+1] − m[:, t]|`` over bins and frames (0 for a single frame)."""
    mel = np.asarray(log_mel, dtype=np.float64)
    return float(np.abs(np.diff(mel, axis=1)).mean()) if mel.shape[1] > 1 else 0.0


def inter_item_distance(mean_mels: np.ndarray) -> float | None:
    """How far apart pieces are: mean over pairs ``i < j`` of ``mean_f |μ_i[f] − μ_j[f]|``, where ``μ_i`` is item
    ``i``'s time-averaged log-mel ``(n_mels,)``; ``mean_mels`` is ``(items, n_mels)``. ``None`` below 2 items."""
    mean_mels = np.asarray(mean_mels, dtype=np.float64)
    count = len(mean_mels)
    if count < 2:
        return None
    total = sum(np.abs(mean_mels[i + 1:] - mean_mels[i]).mean(axis=1).sum() for i in range(count - 1))
    return float(total / (count * (count - 1) / 2))
