"""The systems an evaluation scores, and the per-item scoring of one system's audio against the reference.

Every system produces, for each test row, a waveform (and, where it has one, the log-mel it vocoded):

==================  ======================================================================================
reference           the row's true clip (sanity row: MCD/LSD/FAD 0, cosine 1; its emotion accuracy is the
                    probe's ceiling)
model               stage-1 mel of the row's image + comment → the model's vocoder (a flow stage 1 samples it
                    with a seed fixed per row, and once more with another seed for ``seed_diversity``)
model-griffin-lim   the same stage-1 mel → Griffin-Lim (isolates the vocoder's share)
mean-mel            the training split's mean log-mel → the model's vocoder (an input-blind stage 1)
nearest-neighbour   the true clip of the training row with the most similar image embedding (retrieval)
copy-vocoder        copy-synthesis: the row's TRUE mel → the model's vocoder (vocoder quality alone)
copy-griffin-lim    copy-synthesis: the row's TRUE mel → Griffin-Lim
==================  ======================================================================================
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from art2music.io.audio import waveform_to_mel
from art2music.evaluation.embeddings import AudioEmbedding, MelStatsEmbedding
from art2music.evaluation.metrics import (log_spectral_distance, mel_cepstral_distortion, mel_l1, spectral_flux,
                                          temporal_variation)
from vocoder.mel import MelConfig

SYSTEMS: tuple[str, ...] = ("reference", "model", "model-griffin-lim", "mean-mel", "nearest-neighbour",
                            "copy-vocoder", "copy-griffin-lim")
GENERATIVE: tuple[str, ...] = ("model", "model-griffin-lim", "mean-mel", "nearest-neighbour")
"""The systems that answer the task (image + comment → music); copy-synthesis rows score vocoders only."""

DESCRIPTIONS: dict[str, str] = {
    "reference": "true clip (sanity: the ceiling)",
    "model": "stage 1 → model vocoder",
    "model-griffin-lim": "stage 1 → Griffin-Lim",
    "mean-mel": "training mean mel → model vocoder",
    "nearest-neighbour": "nearest training image → its true clip",
    "copy-vocoder": "copy-synthesis: true mel → model vocoder",
    "copy-griffin-lim": "copy-synthesis: true mel → Griffin-Lim",
}

SCALAR_METRICS: tuple[str, ...] = ("mcd", "mcd_dtw", "lsd", "mel_l1", "temporal_variation", "flux", "seed_diversity")
MUSIC_METRICS: tuple[str, ...] = ("temporal_variation", "flux", "inter_item_distance")
"""Figures of music rather than distance, each also given as a ratio to the true clips' (the reference row)."""


@dataclass
class SystemOutput:
    """One system's answer for one row: ``waveform (samples,)`` float32 at the mel sample rate, and
    ``input_mel``, the ``(n_mels, frames)`` log-mel the system proposes for the row (the mel it vocoded, or
    the cached true mel of a retrieved clip); ``None`` where mel L1 would be trivially 0 (copy-synthesis)."""

    waveform: np.ndarray
    input_mel: np.ndarray | None


def score_system(output: SystemOutput, reference_waveform: np.ndarray, reference_mel: np.ndarray,
                 embeddings: list[AudioEmbedding], mel_config: MelConfig, dtw: bool = True
                 ) -> tuple[dict[str, float | None], dict[str, np.ndarray]]:
    """Per-item metrics of one system's waveform against the reference clip.

    MCD (plain and DTW) compares the HiFi-GAN log-mel re-analysed from the system's waveform with the
    reference's (so the vocoder's errors count); LSD compares the waveforms; mel L1 compares the mel the
    system vocoded (its ``input_mel``) with the reference mel, when it has one.

    Args:
        reference_waveform: ``(samples,)`` true clip; reference_mel: its ``(n_mels, frames)`` log-mel.

    Temporal variation and flux are measured on the log-mel re-analysed from the waveform (so every system,
    retrieval and the true clips included, is measured the same way); ``seed_diversity`` is left ``None`` (the
    runner fills it in for a sampling model).

    Returns:
        ``(metrics, arrays)``: ``metrics`` maps :data:`SCALAR_METRICS` to floats (``None`` when undefined);
        ``arrays`` maps ``<embedding name>`` to the ``(windows, D)`` embeddings of the waveform and
        ``mean_mel`` to its time-averaged re-analysed log-mel ``(n_mels,)``.
    """
    waveform = np.asarray(output.waveform, dtype=np.float32)
    analysed = waveform_to_mel(waveform, mel_config)
    metrics: dict[str, float | None] = {
        "mcd": mel_cepstral_distortion(reference_mel, analysed),
        "mcd_dtw": mel_cepstral_distortion(reference_mel, analysed, align=True) if dtw else None,
        "lsd": log_spectral_distance(reference_waveform, waveform, mel_config.n_fft, mel_config.hop_length),
        "mel_l1": mel_l1(reference_mel, output.input_mel) if output.input_mel is not None else None,
        "temporal_variation": temporal_variation(analysed),
        "flux": spectral_flux(analysed),
        "seed_diversity": None,
    }
    arrays = {embedding.name: (embedding.embed_mel(analysed) if isinstance(embedding, MelStatsEmbedding)
                               else embedding.embed_windows(waveform, mel_config.sample_rate))
              for embedding in embeddings}
    arrays["mean_mel"] = analysed.mean(axis=1)
    return metrics, arrays
