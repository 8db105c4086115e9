"""The judge's folder, ``va_judge/`` beside a pipeline's stages: ``config.json`` + ``model.safetensors``.

``config.json`` holds ``{"format": "art2music-va-judge", "version": 1, "judge": VAJudgeConfig, "mel": MelConfig}``
(and, written by training, ``metrics.json`` the held-out figures). Loading is strict: unknown keys, wrong shapes
or a non-safetensors file raise :class:`~art2music.export.stage_folder.ModelLoadError` naming the file.
"""

from __future__ import annotations

import os
from pathlib import Path

from art2music.emotion_judge.model import VAJudge, VAJudgeConfig
from art2music.export.format import JUDGE_DIR
from art2music.export.stage_folder import CONFIG_NAME, ModelLoadError, load_module_weights, read_json_object, save_module
from vocoder.mel import MelConfig

FORMAT = "art2music-va-judge"


def save_va_judge(judge: VAJudge, folder: str | os.PathLike) -> Path:
    """Write the judge's weights and config into ``folder`` (each file atomically); returns the folder."""
    folder = Path(folder)
    save_module(judge, folder, {"format": FORMAT, "version": 1, "judge": judge.config.to_dict(),
                                "mel": judge.mel_config.to_dict()})
    return folder


def load_va_judge(folder: str | os.PathLike, device: str = "cpu") -> VAJudge:
    """Read a judge folder (strict checks) → a :meth:`VAJudge.frozen` judge on ``device``.

    Raises:
        ModelLoadError: missing or unreadable files, another format, bad config values, tensors that do not fit.
    """
    folder = Path(folder)
    config_path = folder / CONFIG_NAME
    values = read_json_object(config_path)
    if values.get("format") != FORMAT:
        raise ModelLoadError(config_path, f"not a VA judge (format {values.get('format')!r}, expected {FORMAT!r})",
                             "format")
    try:
        config = VAJudgeConfig.from_dict(values.get("judge", {}))
        mel_config = MelConfig.from_dict(values.get("mel", {}))
        judge = VAJudge(config, mel_config)
    except (ValueError, TypeError) as error:
        raise ModelLoadError(config_path, str(error)) from error
    load_module_weights(judge, folder)
    return judge.to(device).frozen()


def find_va_judge(pipeline_folder: str | os.PathLike | None) -> Path | None:
    """The ``va_judge/`` folder of a pipeline folder, if it has one (``None`` otherwise)."""
    if pipeline_folder is None:
        return None
    candidate = Path(pipeline_folder) / JUDGE_DIR
    return candidate if (candidate / CONFIG_NAME).is_file() else None
