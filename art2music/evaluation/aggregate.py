"""Per-item scores → the split's figures: means of per-item metrics, FAD and cosine per embedding, emotion
accuracy per system. The result is the ``metrics.json`` document (see :mod:`art2music.evaluation.report`)."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from art2music.evaluation.baselines import EmotionProbe
from art2music.evaluation.embeddings import AudioEmbedding
from art2music.evaluation.metrics import (MCD_CONSTANT, MCD_ORDER, cosine_similarity, frechet_audio_distance,
                                          inter_item_distance)
from art2music.evaluation.systems import DESCRIPTIONS, MUSIC_METRICS, SCALAR_METRICS, SYSTEMS
from art2music.evaluation.va_scores import summarize_va
from vocoder.mel import MelConfig

_MEL = MelConfig()

DEFINITIONS = {
    "mcd": f"mel-cepstral distortion, dB: {MCD_CONSTANT:.4f} x mean over frames of the Euclidean distance of "
           f"c1..c{MCD_ORDER} (orthonormal DCT-II of the {_MEL.n_mels}-bin natural-log HiFi-GAN mel of the rendered audio vs "
           f"of the true clip), frame t against frame t (no alignment); Kubichek 1993",
    "mcd_dtw": "the same, frames paired by dynamic time warping (steps (1,0),(0,1),(1,1)), averaged along the path",
    "lsd": f"log-spectral distance, dB: mean over frames of the RMS over the {_MEL.n_fft // 2 + 1} bins of the dB "
           f"power difference (STFT n_fft {_MEL.n_fft}, hop {_MEL.hop_length}, Hann, no centring; power floor 1e-10)",
    "mel_l1": "mean |log-mel difference| between the mel a system proposes (stage-1 prediction, training mean, "
              "retrieved clip's mel) and the true clip's mel; not defined for copy-synthesis (0 by construction)",
    "fad": "Frechet audio distance (Kilgour et al. 2019) between the embeddings of all ~0.96 s windows of the true "
           "clips and of the system's clips; biased upward for small N (compare only at equal N)",
    "cosine": "mean over items of the cosine similarity of the clip embeddings (mean of windows), rendered vs true",
    "temporal_variation": "for each mel bin the std over time, averaged over bins, of the log-mel re-analysed "
                          "from the system's audio; mean over items (a static drone: near 0)",
    "flux": "frame-to-frame mel flux: mean |m[:, t+1] - m[:, t]| of that log-mel; mean over items",
    "inter_item_distance": "how far apart the pieces for different items are: mean over pairs of items of the mean "
                           "over bins of |time-averaged log-mel i - time-averaged log-mel j|",
    "seed_diversity": "sampling models only: the same distance between the pieces drawn for one item with two "
                      "seeds; mean over items",
    "ratio_to_reference": "each music figure divided by the true clips' (1: like real music); seed_diversity is "
                          "divided by the true clips' inter_item_distance",
    "emotion_accuracy": "accuracy of a logistic-regression emotion probe on log-mel mean/std (the demo corpus's "
                        "learnability check), trained on the TRUE training clips, applied to each system's audio; "
                        "labels are the manifest's emotions",
}


def _mean(values: Sequence[float | None]) -> float | None:
    present = [value for value in values if value is not None]
    return float(np.mean(present)) if present else None


def _ratio(value: float | None, reference: float | None) -> float | None:
    return None if value is None or not reference else float(value / reference)


def aggregate(items: Sequence[tuple[dict, dict]], embeddings: Sequence[AudioEmbedding], probe: EmotionProbe,
              header: dict[str, Any], failures: Sequence[dict[str, str]]) -> dict[str, Any]:
    """The metrics.json document for the scored ``items`` (``(record, arrays)`` pairs, in split order)."""
    document: dict[str, Any] = {"format": "art2music-evaluation", "version": 1, **header,
                                "items": {"scored": len(items), "failed": len(failures)},
                                "failures": list(failures), "definitions": DEFINITIONS,
                                "embeddings": [{"name": e.name, "label": e.label, "dim": e.dim} for e in embeddings],
                                "emotion_probe": {"classes": probe.classes, "chance": probe.chance,
                                                  "seconds": probe.seconds}}
    systems: dict[str, Any] = {}
    if not items:
        document["systems"] = systems
        return document
    labels = [record["emotion"] for record, _ in items]
    for system in SYSTEMS:
        entry: dict[str, Any] = {"description": DESCRIPTIONS[system]}
        for metric in SCALAR_METRICS:
            entry[metric] = _mean([record["metrics"][system][metric] for record, _ in items])
        entry["fad"], entry["cosine"] = {}, {}
        for embedding in embeddings:
            key = f"{system}.{embedding.name}"
            reference_windows = [arrays[f"reference.{embedding.name}"] for _, arrays in items]
            system_windows = [arrays[key] for _, arrays in items]
            reference_all, system_all = np.concatenate(reference_windows), np.concatenate(system_windows)
            if len(reference_all) >= 2 and len(system_all) >= 2:
                entry["fad"][embedding.name] = frechet_audio_distance(reference_all, system_all).to_dict()
            else:
                entry["fad"][embedding.name] = None
            entry["cosine"][embedding.name] = cosine_similarity(np.stack([w.mean(0) for w in reference_windows]),
                                                                np.stack([w.mean(0) for w in system_windows]))
        features = np.stack([arrays[f"{system}.emotion_features"] for _, arrays in items])
        readable = np.isfinite(features).all(axis=1)
        predictions = np.full(len(items), None, dtype=object)
        if readable.any():
            predictions[readable] = probe.predict(features[readable])
        entry["emotion_accuracy"] = float(np.mean([p == label for p, label in zip(predictions, labels)]))
        entry["unclassifiable_clips"] = int((~readable).sum())
        entry["inter_item_distance"] = inter_item_distance(np.stack([arrays[f"{system}.mean_mel"]
                                                                     for _, arrays in items]))
        systems[system] = entry
    reference = systems["reference"]
    for entry in systems.values():
        ratios = {name: _ratio(entry[name], reference[name]) for name in MUSIC_METRICS}
        ratios["seed_diversity"] = _ratio(entry["seed_diversity"], reference["inter_item_distance"])
        entry["ratio_to_reference"] = ratios
    document["systems"] = systems
    feeling = summarize_va(items, SYSTEMS)
    if feeling is not None:
        document["va_judge"] = feeling
    return document
