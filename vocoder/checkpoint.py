"""Generator checkpoint I/O: official HiFi-GAN files and our export directory.

Two formats:

- **official**: a torch file ``g_XXXXXXXX`` holding ``{'generator': state_dict}`` with the legacy weight-norm
  keys ``<module>.weight_g`` / ``<module>.weight_v``, and the training ``config.json`` in the same folder
  (jik876/hifi-gan). Read with ``torch.load(weights_only=True)``: a file holding arbitrary pickled objects is
  refused, never executed.
- **export directory**: ``config.json`` (``{"format": "hifigan-export", "generator": {...official names},
  "mel": {...MelConfig}}``) and ``model.safetensors`` with weight norm removed (plain ``<module>.weight``).

Every load is strict: missing keys, unexpected keys and shape mismatches are reported by name.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any, Mapping

import torch
from torch import nn

from vocoder.config import GeneratorConfig, read_official_config
from vocoder.files import atomic_write, atomic_write_text
from vocoder.generator import Generator
from vocoder.mel import MelConfig
from vocoder.precision import resolve_precision
from vocoder.state_keys import parametrized_to_official, official_to_parametrized, weight_norm_state

__all__ = ["CheckpointError", "load_generator", "load_official_state", "load_strict", "save_export",
           "save_official", "EXPORT_FORMAT", "EXPORT_WEIGHTS", "CONFIG_NAME"]

EXPORT_FORMAT = "hifigan-export"
EXPORT_WEIGHTS = "model.safetensors"
CONFIG_NAME = "config.json"


class CheckpointError(ValueError):
    """A checkpoint cannot be loaded: wrong format, refused pickle, key or shape or config mismatch."""


def load_official_state(path: str | Path) -> dict[str, Any]:
    """``torch.load(path, weights_only=True)`` with clear errors; returns the top-level dict.

    Raises:
        FileNotFoundError: no such file.
        CheckpointError: the file holds pickled objects other than tensors and containers, or is not a dict.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, AttributeError, TypeError, EOFError) as error:
        raise CheckpointError(
            f"refusing to load {path}: it is not a plain tensor checkpoint readable with weights_only=True "
            f"(it may hold arbitrary pickled Python objects, which could run code, or be truncated). "
            f"Re-save it as {{'generator': model.state_dict()}} or use safetensors. Loader said: "
            f"{str(error).splitlines()[0] if str(error) else type(error).__name__}") from error
    if not isinstance(data, dict):
        raise CheckpointError(f"{path} holds a {type(data).__name__}, expected a dict such as {{'generator': ...}}")
    return data


def load_strict(module: nn.Module, state: Mapping[str, torch.Tensor], what: str,
                hint: str = "is the config.json beside it the one it was trained with?") -> None:
    """Load ``state`` into ``module`` requiring the exact key set and shapes.

    Raises:
        CheckpointError: listing missing keys, unexpected keys and ``key: expected (..) got (..)`` shapes.
    """
    expected = module.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    shapes = [f"{k}: expected shape {tuple(expected[k].shape)}, got {tuple(state[k].shape)}"
              for k in expected if k in state and tuple(state[k].shape) != tuple(expected[k].shape)]
    problems = []
    for label, items in (("missing keys", missing), ("unexpected keys", unexpected), ("shape mismatches", shapes)):
        if items:
            shown = "; ".join(items[:8]) + (f"; ... ({len(items) - 8} more)" if len(items) > 8 else "")
            problems.append(f"{len(items)} {label}: {shown}")
    if problems:
        raise CheckpointError(f"{what} does not match the {type(module).__name__} architecture - "
                              + " | ".join(problems) + f" ({hint})")
    module.load_state_dict(state, strict=True)


def _check_mel(loaded: MelConfig, expected: MelConfig | None, what: str) -> None:
    if expected is not None:
        try:
            expected.check_matches(loaded, what)
        except ValueError as error:
            raise CheckpointError(str(error)) from error


def _load_official_file(path: Path, mel_config: MelConfig | None) -> Generator:
    values = read_official_config(path.parent / CONFIG_NAME)
    try:
        config = GeneratorConfig.from_dict(values)
        loaded_mel = MelConfig.from_dict(values)
    except (TypeError, ValueError) as error:
        raise CheckpointError(f"bad HiFi-GAN config {path.parent / CONFIG_NAME}: {error}") from error
    _check_mel(loaded_mel, mel_config, str(path.parent / CONFIG_NAME))
    data = load_official_state(path)
    if "generator" not in data:
        raise CheckpointError(f"{path} has keys {sorted(data)[:6]}, expected 'generator' (an official g_XXXXXXXX "
                              f"file; do_XXXXXXXX files hold the discriminators, not the generator)")
    generator = Generator(config, loaded_mel)
    load_strict(generator, official_to_parametrized(data["generator"]), f"generator weights in {path}")
    return generator.remove_weight_norm()


def _load_export_dir(path: Path, mel_config: MelConfig | None) -> Generator:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    values = read_official_config(path / CONFIG_NAME)
    if values.get("format") != EXPORT_FORMAT:
        raise CheckpointError(f"{path / CONFIG_NAME} is not a vocoder export (format {values.get('format')!r}, "
                              f"expected {EXPORT_FORMAT!r}); for an official checkpoint pass the g_XXXXXXXX file")
    try:
        config = GeneratorConfig.from_dict(values["generator"])
        loaded_mel = MelConfig.from_dict(values["mel"])
    except (KeyError, TypeError, ValueError) as error:
        raise CheckpointError(f"bad export config {path / CONFIG_NAME}: {error!r}") from error
    _check_mel(loaded_mel, mel_config, str(path / CONFIG_NAME))
    weights = path / EXPORT_WEIGHTS
    if not weights.is_file():
        raise FileNotFoundError(f"{weights} is missing (an export directory holds {CONFIG_NAME} and {EXPORT_WEIGHTS})")
    try:
        generator = Generator(config, loaded_mel).remove_weight_norm()
    except (TypeError, ValueError) as error:  # e.g. a size stored as a string
        raise CheckpointError(f"bad export config {path / CONFIG_NAME}: {error}") from error
    try:
        state = load_file(str(weights))
    except SafetensorError as error:
        raise CheckpointError(f"{weights} is not a complete safetensors file (truncated, or a pickle/zip saved "
                              f"under this name?): {error}") from error
    load_strict(generator, state, f"weights in {weights}")
    return generator


def load_generator(path: str | Path, *, mel_config: MelConfig | None = None, device: str | torch.device = "cpu",
                   precision: str | torch.dtype = "auto") -> Generator:
    """Load a generator for inference: eval mode, weight norm removed, on ``device``.

    Args:
        path: an official ``g_XXXXXXXX`` file (``config.json`` beside it) or an export directory.
        mel_config: if given, the checkpoint's mel definition must equal it (else ``CheckpointError``).
        device: where to put the weights.
        precision: ``"auto"`` (default: bfloat16 convolutions on CPUs with AMX, ~2.5x faster, float32
            elsewhere), ``"float32"`` (exact) or ``"bfloat16"``; see :mod:`vocoder.precision`. The output is
            float32 either way.

    Returns:
        :class:`Generator` mapping ``(B, 80, frames)`` log-mels to ``(B, 1, frames * 256)`` audio;
        ``generator.mel_config`` is the checkpoint's mel definition.
    """
    path = Path(path)
    if path.is_dir():
        generator = _load_export_dir(path, mel_config)
    elif path.is_file():
        generator = _load_official_file(path, mel_config)
    else:
        raise FileNotFoundError(f"vocoder checkpoint not found: {path} (give an official g_XXXXXXXX file or an "
                                f"export directory with {CONFIG_NAME} and {EXPORT_WEIGHTS})")
    dtype = resolve_precision(precision, device)
    return generator.to(device).eval().set_inference_dtype(dtype)


def _plain_state(generator: Generator) -> dict[str, torch.Tensor]:
    """State dict with weight norm folded into plain ``.weight`` tensors (without touching ``generator``)."""
    if not generator.has_weight_norm:
        return {k: v.detach().clone().contiguous() for k, v in generator.float32_state_dict().items()}
    plain = Generator(generator.config, generator.mel_config)
    plain.load_state_dict(generator.state_dict())
    plain.remove_weight_norm()
    return {k: v.detach().contiguous() for k, v in plain.state_dict().items()}


def save_export(generator: Generator, directory: str | Path) -> Path:
    """Write ``config.json`` + ``model.safetensors`` (weight norm removed) into ``directory``; returns it."""
    from safetensors.torch import save_file

    directory = Path(directory)
    state = {k: v.cpu() for k, v in _plain_state(generator).items()}
    atomic_write(directory / EXPORT_WEIGHTS,
                 lambda tmp: save_file(state, str(tmp), metadata={"format": EXPORT_FORMAT}))
    config = {"format": EXPORT_FORMAT, "generator": generator.config.to_dict(), "mel": generator.mel_config.to_dict()}
    atomic_write_text(directory / CONFIG_NAME, json.dumps(config, indent=2) + "\n")
    return directory


def official_config(generator: Generator) -> dict[str, Any]:
    """An official-style ``config.json`` dict: generator keys, mel keys and HiFi-GAN's V1 training defaults."""
    mel = generator.mel_config
    return {
        **generator.config.to_dict(), "num_gpus": 0,
        "batch_size": 16, "learning_rate": 0.0002, "adam_b1": 0.8, "adam_b2": 0.99, "lr_decay": 0.999,
        "seed": 1234, "segment_size": 8192, "num_freq": mel.n_fft // 2 + 1, "n_fft": mel.n_fft,
        "hop_size": mel.hop_length, "win_size": mel.win_length, "sampling_rate": mel.sample_rate,
        "fmin": mel.fmin, "fmax": mel.fmax, "fmax_for_loss": None, "num_workers": 4,
        "dist_config": {"dist_backend": "nccl", "dist_url": "tcp://localhost:54321", "world_size": 1},
    }


def save_official(generator: Generator, path: str | Path) -> Path:
    """Write ``{'generator': state_dict}`` with ``weight_g``/``weight_v`` keys to ``path`` and ``config.json``
    beside it, loadable by jik876/hifi-gan's ``inference.py`` (and by :func:`load_generator`)."""
    path = Path(path)
    if generator.has_weight_norm:
        state = parametrized_to_official(generator.state_dict())
    else:
        state = weight_norm_state(generator.float32_state_dict(), [name for name, _ in _conv_modules(generator)])
    state = {k: v.detach().cpu().contiguous() for k, v in state.items()}
    atomic_write(path, lambda tmp: torch.save({"generator": state}, tmp))
    config = official_config(generator)
    atomic_write_text(path.parent / CONFIG_NAME, json.dumps(config, indent=2) + "\n")
    return path


def _conv_modules(generator: Generator):
    """Every convolution of the generator (all are weight-normalised in the official model)."""
    return [(name, module) for name, module in generator.named_modules()
            if isinstance(module, (nn.Conv1d, nn.ConvTranspose1d))]


def checkpoint_configs(path: str | Path) -> tuple[GeneratorConfig, MelConfig]:
    """The generator and mel configs of an official file (from ``config.json`` beside it) or export directory."""
    path = Path(path)
    values = read_official_config(path / CONFIG_NAME if path.is_dir() else path.parent / CONFIG_NAME)
    try:
        if path.is_dir():
            return GeneratorConfig.from_dict(values["generator"]), MelConfig.from_dict(values["mel"])
        return GeneratorConfig.from_dict(values), MelConfig.from_dict(values)
    except (KeyError, TypeError, ValueError) as error:
        raise CheckpointError(f"bad config for checkpoint {path}: {error!r}") from error


def load_generator_for_training(generator: Generator, path: str | Path) -> None:
    """Copy the weights of an official file or export directory into ``generator`` (weight norm kept).

    Raises ``CheckpointError`` naming every differing hyper-parameter if the architectures differ.
    """
    path = Path(path)
    config, mel = checkpoint_configs(path)
    if config != generator.config:
        ours, theirs = generator.config.to_dict(), config.to_dict()
        diffs = [f"{k}: {ours[k]} in the training config vs {theirs[k]} in {path}" for k in ours if ours[k] != theirs[k]]
        raise CheckpointError("generator architecture differs from the initial checkpoint: " + "; ".join(diffs))
    _check_mel(mel, generator.mel_config, str(path))
    if path.is_dir():
        from safetensors.torch import load_file

        plain = load_file(str(path / EXPORT_WEIGHTS))
        state = official_to_parametrized(weight_norm_state(plain, [name for name, _ in _conv_modules(generator)]))
    else:
        data = load_official_state(path)
        if "generator" not in data:
            raise CheckpointError(f"{path} has no 'generator' entry (keys {sorted(data)[:6]})")
        state = official_to_parametrized(data["generator"])
    load_strict(generator, state, f"generator weights in {path}")


def load_official_discriminators(mpd: nn.Module, msd: nn.Module, path: str | Path) -> None:
    """Load the ``mpd`` and ``msd`` state dicts of an official ``do_XXXXXXXX`` file (strict, tensors only).

    Its optimizer states (``optim_g``, ``optim_d``) and counters are not used: fine-tuning starts new ones.
    """
    data = load_official_state(path)
    for name, module in (("mpd", mpd), ("msd", msd)):
        if name not in data:
            raise CheckpointError(f"{path} has no '{name}' entry (keys {sorted(data)[:6]}); an official "
                                  f"do_XXXXXXXX file holds mpd, msd, optim_g, optim_d, steps, epoch")
        load_strict(module, official_to_parametrized(data[name]), f"'{name}' weights in {path}",
                    hint="official discriminators need model.discriminator_width 1.0")
