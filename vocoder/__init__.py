"""HiFi-GAN vocoder for art2music: the mel definition, generators, training and checkpoint I/O.

Standalone: nothing here imports ``art2music``. The inference path (``Generator``, ``load_generator``,
``load_vocoder``, ``GriffinLim``) imports neither Lightning nor the training code.
"""

from __future__ import annotations

from pathlib import Path

import torch

from vocoder.checkpoint import CheckpointError, load_generator, save_export, save_official
from vocoder.config import PRESETS, GeneratorConfig
from vocoder.generator import Generator, count_parameters
from vocoder.griffin_lim import GriffinLim
from vocoder.mel import MelConfig, mel_spectrogram, num_frames
from vocoder.precision import PRECISIONS, resolve_precision

__all__ = ["MelConfig", "mel_spectrogram", "num_frames", "Generator", "GeneratorConfig", "PRESETS", "GriffinLim",
           "CheckpointError", "PRECISIONS", "resolve_precision", "load_generator", "load_vocoder", "save_export",
           "save_official", "export", "count_parameters"]


def load_vocoder(name_or_path: str | Path, *, mel_config: MelConfig | None = None, device: str | torch.device = "cpu",
                 precision: str | torch.dtype = "auto") -> Generator | GriffinLim:
    """A vocoder by name: ``"griffin-lim"`` (no training needed) or a checkpoint path for :func:`load_generator`.

    Both map ``(B, 80, frames)`` log-mels to ``(B, 1, frames * 256)`` audio and are in eval mode.
    ``precision`` applies to HiFi-GAN (see :mod:`vocoder.precision`); it is still checked for Griffin-Lim.
    """
    resolve_precision(precision, device)
    if str(name_or_path).lower() in ("griffin-lim", "griffin_lim", "griffinlim"):
        return GriffinLim(mel_config or MelConfig()).to(device).eval()
    return load_generator(name_or_path, mel_config=mel_config, device=device, precision=precision)


def export(checkpoint: str | Path, output_dir: str | Path | None = None, official: str | Path | None = None):
    """Export a training ``.ckpt`` (see :func:`vocoder.release.export`; imported lazily)."""
    from vocoder.release import export as _export

    return _export(checkpoint, output_dir, official)
