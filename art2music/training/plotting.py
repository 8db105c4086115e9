"""Mel-spectrogram pictures (matplotlib, headless) for TensorBoard and the render gallery."""

from __future__ import annotations

import numpy as np

from vocoder.mel import MelConfig


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def mel_comparison_figure(prediction: np.ndarray, target: np.ndarray, config: MelConfig = MelConfig()):
    """A figure with the predicted and target ``(n_mels, frames)`` log-mels on one colour scale."""
    plt = _pyplot()
    figure, axes = plt.subplots(2, 1, figsize=(8, 5), sharex=True)
    low, high = float(min(prediction.min(), target.min())), float(max(prediction.max(), target.max()))
    seconds = config.frames_to_seconds(prediction.shape[-1])
    for axis, mel, title in ((axes[0], prediction, "predicted"), (axes[1], target, "target")):
        image = axis.imshow(mel, origin="lower", aspect="auto", vmin=low, vmax=high, cmap="magma",
                            extent=(0.0, seconds, 0, mel.shape[0]))
        axis.set_title(f"{title} log-mel")
        axis.set_ylabel("mel bin")
    axes[1].set_xlabel("time (s)")
    figure.colorbar(image, ax=axes, label="log magnitude")
    return figure
