"""Is the emotion learnable? Held-out accuracy of simple classifiers on the demo corpus.

Audio: per-bin mean and standard deviation of the clip's log-mel (160 numbers). Images: mean, standard
deviation and 8-bin histograms of hue, saturation and value (54 numbers). A standardised multinomial
logistic regression (scikit-learn) is trained on part of each emotion's items and scored on the rest;
chance is ``1 / number of emotions``. The demo corpus is only useful if both are well above chance.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from art2music.io.audio import load_clip, waveform_to_mel
from art2music.io.images import load_image
from vocoder.mel import MelConfig


def mel_statistics(path: str | Path, seconds: float, config: MelConfig = MelConfig()) -> np.ndarray:
    """``(2 * n_mels,)`` per-bin mean and std of the clip's log-mel."""
    mel = waveform_to_mel(load_clip(path, int(seconds * config.sample_rate), config, min_seconds=0.1), config)
    return np.concatenate([mel.mean(axis=1), mel.std(axis=1)])


def colour_statistics(path: str | Path) -> np.ndarray:
    """``(54,)`` HSV means, stds and 8-bin histograms of an image."""
    hsv = np.asarray(load_image(path).convert("HSV"), dtype=np.float64) / 255.0
    channels = hsv.reshape(-1, 3)
    histograms = [np.histogram(channels[:, c], bins=8, range=(0, 1))[0] / len(channels) for c in range(3)]
    return np.concatenate([channels.mean(0), channels.std(0), *histograms])


def held_out_accuracy(features: np.ndarray, labels: Sequence[str], test_fraction: float = 0.34,
                      seed: int = 0) -> float:
    """Accuracy on a stratified held-out part of a logistic regression trained on the rest."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    train_x, test_x, train_y, test_y = train_test_split(features, list(labels), test_size=test_fraction,
                                                        random_state=seed, stratify=list(labels))
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, C=0.5))
    model.fit(train_x, train_y)
    return float(model.score(test_x, test_y))


def corpus_signal(raw: str | Path, seconds: float) -> dict[str, float]:
    """Held-out emotion accuracy from clip mels and from painting colours of a raw demo corpus, and chance."""
    from art2music.demo_corpus.generate import read_labels

    raw = Path(raw)
    labels = read_labels(raw)
    clips = sorted((key, emotion) for (kind, key), emotion in labels.items() if kind == "clip")
    paintings = sorted((key, emotion) for (kind, key), emotion in labels.items() if kind == "painting")
    mel_x = np.stack([mel_statistics(raw / "audio" / f"{key}.wav", seconds) for key, _ in clips])
    image_x = np.stack([colour_statistics(raw / "wikiart" / f"{key}.jpg") for key, _ in paintings])
    emotions = {emotion for _, emotion in clips}
    return {"audio_accuracy": held_out_accuracy(mel_x, [e for _, e in clips]),
            "image_accuracy": held_out_accuracy(image_x, [e for _, e in paintings]),
            "chance": 1.0 / len(emotions)}
