"""The one release format of art2music, written and read here and nowhere else: a pipeline folder.

::

    pipeline.json   {"format": "art2music-pipeline", "version": 1, "engine": "audio", "text_template": "{comment}"}
    encoder/        config.json {"arch", "pretrained", "normalize"} [+ open_clip_model.safetensors]
    stage1/         config.json {"stage1": sizes, "mel": MelConfig, "encoder": ...} + model.safetensors
    vocoder/        config.json {"format": "hifigan-export", "generator": ..., "mel": ...} + model.safetensors
    va_judge/       optional: the music valence-arousal judge (config.json + model.safetensors + metrics.json)

:func:`write_pipeline` assembles the folder in a staging sibling and renames it into place, so a folder is
either complete or absent. :func:`load_parts` checks every file and value as it reads them; anything that
does not fit raises :class:`ModelLoadError` naming the file and the field. Nothing here imports Lightning
or training code, and nothing is unpickled (safetensors and JSON only).
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import torch
from torch import nn

from art2music.audio_engine.stage1 import Stage1Config, Stage1Model
from art2music.encoders.clip import ClipEncoder, check_text_template, weights_identity
from art2music.export.stage_folder import (CONFIG_NAME, ModelLoadError, check_safetensors_file, load_module_weights,
                                           read_json_object, save_module, save_state)
from vocoder.mel import MelConfig

FORMAT = "art2music-pipeline"
VERSION = 1
ENGINES = ("audio", "midi")
ENCODER_DIR, STAGE1_DIR, VOCODER_DIR = "encoder", "stage1", "vocoder"
ENCODER_WEIGHTS = "open_clip_model.safetensors"
JUDGE_DIR = "va_judge"
"""Optional: the music VA judge (:mod:`art2music.emotion_judge`) that render's gallery and ``evaluate`` use."""
PIPELINE_FILE = "pipeline.json"
__all__ = ["DEMO_DIR", "MIDI_DEMO_DIR", "load_midi_parts", "write_midi_pipeline", "FORMAT", "VERSION", "ModelLoadError", "PipelineParts", "encoder_config", "load_parts", "load_stage1",
           "read_pipeline_meta", "resolve_pipeline_folder", "save_stage1", "write_pipeline", "write_pipeline_folder"]
DEMO_DIR = Path(__file__).resolve().parents[1] / "assets" / "demo"
"""The embedded default's pipeline folder, shipped inside the package (``"demo"`` names it)."""
MIDI_DEMO_DIR = Path(__file__).resolve().parents[1] / "assets" / "demo-midi"
"""The embedded midi-engine pipeline folder (``"demo-midi"`` names it)."""


@dataclass
class PipelineParts:
    """Everything a pipeline folder holds, loaded: the modules and the facts that travel with them."""

    encoder: ClipEncoder
    stage1: Stage1Model
    vocoder: torch.nn.Module
    mel_config: MelConfig
    text_template: str


def resolve_pipeline_folder(path_or_name: str | os.PathLike) -> Path:
    """``"demo"`` → the shipped folder; otherwise the folder itself, which must hold ``pipeline.json``."""
    if str(path_or_name) in ("demo", "demo-midi"):
        folder = DEMO_DIR if str(path_or_name) == "demo" else MIDI_DEMO_DIR
        if not (folder / PIPELINE_FILE).is_file():
            raise FileNotFoundError(f"the demo weights are missing from {folder}; rebuild them with `make demo-train`")
        return folder
    path = Path(path_or_name).expanduser()
    if not (path / PIPELINE_FILE).is_file():
        raise ModelLoadError(path, f"not an art2music pipeline folder (no {PIPELINE_FILE}); pass 'demo' or a folder "
                             f"written by `art2music export` or Art2Music.save_pretrained")
    return path


def _field(values: dict[str, Any], name: str, kinds: tuple[type, ...], path: Path, default: Any = ...) -> Any:
    """``values[name]`` checked to be one of ``kinds`` (``bool`` never passes for ``int``)."""
    if name not in values:
        if default is ...:
            raise ModelLoadError(path, "missing", name)
        return default
    value = values[name]
    if (isinstance(value, bool) and bool not in kinds) or not isinstance(value, kinds):
        expected = " or ".join("null" if kind is type(None) else kind.__name__ for kind in kinds)
        raise ModelLoadError(path, f"{value!r} is a {type(value).__name__}, expected {expected}", name)
    return value


def read_pipeline_meta(root: Path) -> dict[str, Any]:
    """``pipeline.json``, checked: format, version, engine and a text template with known placeholders."""
    path = root / PIPELINE_FILE
    meta = read_json_object(path)
    if meta.get("format") != FORMAT:
        raise ModelLoadError(path, f"{meta.get('format')!r} is not {FORMAT!r}: not an art2music pipeline", "format")
    version = _field(meta, "version", (int,), path)
    if version > VERSION:
        raise ModelLoadError(path, f"version {version} is newer than this art2music reads ({VERSION}); upgrade "
                             f"art2music", "version")
    engine = _field(meta, "engine", (str,), path, "audio")
    if engine not in ENGINES:
        raise ModelLoadError(path, f"unknown engine {engine!r}; this art2music knows {', '.join(ENGINES)}", "engine")
    template = _field(meta, "text_template", (str,), path, "{comment}")
    try:
        check_text_template(template)
    except ValueError as error:
        raise ModelLoadError(path, str(error), "text_template") from error
    return {"format": FORMAT, "version": version, "engine": engine, "text_template": template}


def read_encoder_config(folder: Path) -> dict[str, Any]:
    """``encoder/config.json``, checked: ``arch`` (str), ``pretrained`` (str or null), ``normalize`` (bool)."""
    path = folder / CONFIG_NAME
    values = read_json_object(path)
    return {"arch": _field(values, "arch", (str,), path),
            "pretrained": _field(values, "pretrained", (str, type(None)), path, None),
            "normalize": _field(values, "normalize", (bool,), path, True)}


def save_stage1(model: Stage1Model, folder: str | os.PathLike, mel_config: MelConfig,
                encoder: dict[str, Any]) -> None:
    """Write ``stage1/``: ``config.json`` (sizes, mel definition, encoder) and ``model.safetensors``."""
    save_module(model, folder, {"stage1": model.config.to_dict(), "mel": mel_config.to_dict(), "encoder": encoder})


def load_stage1(folder: str | os.PathLike) -> tuple[Stage1Model, MelConfig, dict[str, Any]]:
    """Rebuild ``stage1/``: the network (eval mode), its mel definition and the encoder it was trained for."""
    folder = Path(folder)
    path = folder / CONFIG_NAME
    config = read_json_object(path)
    sizes = _field(config, "stage1", (dict,), path)
    try:
        stage1_config = Stage1Config.from_dict(sizes)
    except (TypeError, ValueError) as error:
        raise ModelLoadError(path, str(error), "stage1") from error
    mel_values = _field(config, "mel", (dict,), path)
    for name, value in mel_values.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ModelLoadError(path, f"{value!r} is a {type(value).__name__}, expected a number", f"mel.{name}")
    try:
        mel_config = MelConfig.from_dict(mel_values)
    except (TypeError, ValueError) as error:
        raise ModelLoadError(path, str(error), "mel") from error
    model = Stage1Model(stage1_config)
    load_module_weights(model, folder)
    return model.eval(), mel_config, dict(config.get("encoder") or {})


def _load_encoder(root: Path) -> ClipEncoder:
    config = read_encoder_config(root / ENCODER_DIR)
    weights = root / ENCODER_DIR / ENCODER_WEIGHTS
    if weights.is_file():
        check_safetensors_file(weights)  # a cheap header check: open_clip's own errors for a damaged file are vague
    source = str(weights) if weights.is_file() else config["pretrained"]
    try:
        return ClipEncoder(config["arch"], source, normalize=config["normalize"])
    except FileNotFoundError:
        raise  # missing pretrained weights: the encoder's own message says which file to put where
    except Exception as error:  # open_clip and safetensors raise many types for a bad file; name the file
        raise ModelLoadError(weights if weights.is_file() else root / ENCODER_DIR / CONFIG_NAME,
                             f"cannot build the {config['arch']} encoder ({type(error).__name__}: {error})") from error


def _load_vocoder(source: str | os.PathLike, mel_config: MelConfig, device: str | torch.device,
                  precision: str | torch.dtype) -> torch.nn.Module:
    from vocoder import load_vocoder
    from vocoder.checkpoint import EXPORT_WEIGHTS

    if Path(source, EXPORT_WEIGHTS).is_file():
        check_safetensors_file(Path(source, EXPORT_WEIGHTS))
    try:
        return load_vocoder(source, mel_config=mel_config, device=device, precision=precision)
    except Exception as error:  # CheckpointError, a missing config.json, safetensors' errors for a damaged file
        raise ModelLoadError(source, f"cannot load the vocoder ({type(error).__name__}: {error})") from error


def load_parts(path_or_name: str | os.PathLike = "demo", device: str | torch.device = "cpu",
               vocoder: str | os.PathLike | None = None, vocoder_precision: str | torch.dtype = "auto") -> PipelineParts:
    """Read a pipeline folder (or ``"demo"``) into its modules, checking every file and value.

    Args:
        vocoder: instead of the folder's vocoder: ``"griffin-lim"`` or another HiFi-GAN checkpoint.
        vocoder_precision: see :mod:`vocoder.precision`.

    Raises:
        FileNotFoundError: pretrained encoder weights absent from this machine (the message says where to put them).
        ModelLoadError: no such pipeline folder, or a file or value in it does not fit (the message names both).
    """
    root = resolve_pipeline_folder(path_or_name)
    meta = read_pipeline_meta(root)
    if meta["engine"] != "audio":
        raise ModelLoadError(root / PIPELINE_FILE, f"a {meta['engine']}-engine pipeline: load it with "
                             f"Art2Midi.from_pretrained or `render --engine {meta['engine']}`", "engine")
    encoder = _load_encoder(root)
    stage1, mel_config, _ = load_stage1(root / STAGE1_DIR)
    if stage1.config.embed_dim != encoder.embed_dim:
        raise ModelLoadError(root / STAGE1_DIR / CONFIG_NAME, f"stage 1 expects {stage1.config.embed_dim}-d embeddings "
                             f"but the encoder {encoder.arch} gives {encoder.embed_dim}-d", "stage1.embed_dim")
    voc = _load_vocoder(vocoder if vocoder is not None else root / VOCODER_DIR, mel_config, device, vocoder_precision)
    return PipelineParts(encoder, stage1, voc, mel_config, meta["text_template"])


def encoder_config(arch: str, pretrained: str | None, normalize: bool = True) -> dict[str, Any]:
    """How an encoder is named in a pipeline folder: a pretrained tag by name (its weights are not copied),
    a weights file or a random init as ``None`` (its weights are stored in ``encoder/``)."""
    is_tag = pretrained is not None and weights_identity(pretrained) == pretrained
    return {"arch": arch, "pretrained": pretrained if is_tag else None, "normalize": normalize}


def write_pipeline(directory: str | os.PathLike, parts: PipelineParts,
                   include_encoder_weights: bool | None = None) -> Path:
    """Write ``parts`` as a complete pipeline folder; :func:`load_parts` reads it back bit-exactly.

    Args:
        include_encoder_weights: store the encoder's weights (default: unless it was loaded from a
            pretrained tag such as ViT-H-14's ``laion2b_s32b_b79k``, which is stored by name only).
    """
    encoder = encoder_config(parts.encoder.arch, parts.encoder.pretrained, parts.encoder.normalize)
    if include_encoder_weights is None:
        include_encoder_weights = encoder["pretrained"] is None
    weights = parts.encoder.float32_state_dict() if include_encoder_weights else None
    return write_pipeline_folder(directory, encoder, weights,
                                 parts.stage1, parts.vocoder, parts.mel_config, parts.text_template)


def write_pipeline_folder(directory: str | os.PathLike, encoder: dict[str, Any],
                          encoder_weights: nn.Module | Mapping[str, torch.Tensor] | None,
                          stage1: Stage1Model, vocoder: nn.Module, mel_config: MelConfig, text_template: str,
                          va_judge: str | os.PathLike | None = None) -> Path:
    """Write a pipeline folder from its pieces (``art2music export`` calls this with training checkpoints).

    The folder is assembled in ``<directory>.partial`` and renamed into place at the end, replacing an
    older folder of that name, so readers never see half of one.

    Args:
        encoder: :func:`encoder_config`'s description of the encoder.
        encoder_weights: the OpenCLIP model (or its state dict) whose weights to store, or ``None`` for a pretrained
            tag.
        va_judge: a VA judge folder (:mod:`art2music.emotion_judge`) to copy in as ``va_judge/``; without it, the
            judge of the folder being replaced is kept (the judge is trained apart from the pipeline).
    """
    from vocoder import Generator, save_export

    directory = Path(directory)
    if not isinstance(vocoder, Generator):
        raise TypeError(f"only a HiFi-GAN generator can be saved, not {type(vocoder).__name__}")
    if encoder_weights is None and encoder.get("pretrained") is None:
        raise ValueError(f"the {encoder.get('arch')} encoder has no pretrained tag, so its weights must be stored")
    check_text_template(text_template)
    mel_config.check_matches(vocoder.mel_config, "the vocoder")
    if va_judge is not None and not (Path(va_judge) / CONFIG_NAME).is_file():
        raise ValueError(f"{va_judge} is not a VA judge folder (no {CONFIG_NAME}; train one with `art2music "
                         f"train-va-judge`)")
    staging = directory.with_name(directory.name + ".partial")
    if staging.exists():
        shutil.rmtree(staging)
    (staging / ENCODER_DIR).mkdir(parents=True)
    if encoder_weights is not None:
        save_state(encoder_weights, staging / ENCODER_DIR / ENCODER_WEIGHTS)
    _write_json(staging / ENCODER_DIR / CONFIG_NAME, encoder)
    save_stage1(stage1, staging / STAGE1_DIR, mel_config, encoder)
    save_export(vocoder, staging / VOCODER_DIR)
    judge = Path(va_judge) if va_judge is not None else directory / JUDGE_DIR
    if va_judge is not None or (judge / CONFIG_NAME).is_file():
        _copy_judge(judge, staging / JUDGE_DIR)
    _write_json(staging / PIPELINE_FILE, {"format": FORMAT, "version": VERSION, "engine": "audio",
                                          "text_template": text_template})
    _replace_folder(staging, directory)
    return directory


# ---------------------------------------------------------------- the midi engine (art2music.symbolic)
def load_midi_parts(path_or_name: str | os.PathLike = "demo-midi") -> tuple[Any, Any, dict[str, Any]]:
    """Read a midi-engine pipeline folder (or ``"demo-midi"``): ``(SymbolicModel, tokenizer, pipeline meta)``; the
    meta's ``"sampling"`` is the model's :class:`~art2music.symbolic.sampling.SamplingDefaults`.

    Raises:
        ModelLoadError: not a pipeline folder, not the midi engine, or a file in ``symbolic/`` does not fit.
    """
    from art2music.symbolic.folder import SYMBOLIC_DIR, load_sampling_defaults, load_symbolic

    root = resolve_pipeline_folder(path_or_name)
    meta = read_pipeline_meta(root)
    if meta["engine"] != "midi":
        raise ModelLoadError(root / PIPELINE_FILE, f"an {meta['engine']}-engine pipeline, not midi: load it with "
                             f"Art2Music.from_pretrained or `render --engine {meta['engine']}`", "engine")
    model, tokenizer = load_symbolic(root / SYMBOLIC_DIR)
    return model, tokenizer, {**meta, "sampling": load_sampling_defaults(root / SYMBOLIC_DIR)}


def write_midi_pipeline(directory: str | os.PathLike, model: nn.Module, tokenizer: Any,
                        text_template: str = "{comment}", sampling: Any = None) -> Path:
    """Write a complete midi-engine pipeline folder (staged, then renamed into place like :func:`write_pipeline`);
    ``sampling``: the model's :class:`~art2music.symbolic.sampling.SamplingDefaults` (``None``: the class's own)."""
    from art2music.symbolic.folder import SYMBOLIC_DIR, save_symbolic
    from art2music.symbolic.sampling import SamplingDefaults

    directory = Path(directory)
    check_text_template(text_template)
    staging = directory.with_name(directory.name + ".partial")
    if staging.exists():
        shutil.rmtree(staging)
    save_symbolic(model, tokenizer, staging / SYMBOLIC_DIR, sampling or SamplingDefaults())
    _write_json(staging / PIPELINE_FILE, {"format": FORMAT, "version": VERSION, "engine": "midi",
                                          "text_template": text_template})
    _replace_folder(staging, directory)
    return directory


def _copy_judge(source: Path, target: Path) -> None:
    """Copy a VA judge folder's config, weights and metrics."""
    target.mkdir(parents=True)
    for path in sorted(source.iterdir()):
        if path.is_file() and path.suffix in (".json", ".safetensors"):
            shutil.copy2(path, target / path.name)


def _write_json(path: Path, values: dict[str, Any]) -> None:
    path.write_text(json.dumps(values, indent=2) + "\n", encoding="utf-8")


def _replace_folder(staging: Path, directory: Path) -> None:
    """Move ``staging`` to ``directory``; an existing ``directory`` is moved aside first and then deleted."""
    old = directory.with_name(directory.name + ".old")
    if old.exists():
        shutil.rmtree(old)
    if directory.exists():
        directory.replace(old)
    staging.replace(directory)
    if old.exists():
        shutil.rmtree(old)
