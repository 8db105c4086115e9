"""The export format: a folder with ``config.json`` and ``model.safetensors``, read with strict checks.

No pickles: tensors are stored with safetensors; the config is plain JSON. Loading reports every missing,
unexpected or mis-shaped tensor by name.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Mapping

import torch
from torch import nn

from art2music.atomic import atomic_write_text, temporary_sibling

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"


class ModelLoadError(ValueError):
    """A model folder cannot be loaded: a file is missing, unreadable, malformed, or a field has a wrong value.

    The message names the file (and the field) at fault.
    """


class WeightsMismatchError(ModelLoadError):
    """Stored tensors do not fit the module built from the stored config."""


def save_state(module: nn.Module, path: str | Path) -> None:
    """Write ``module``'s state dict to the safetensors file ``path``, atomically."""
    from safetensors.torch import save_file

    tensors = {name: tensor.detach().cpu().contiguous() for name, tensor in module.state_dict().items()}
    tmp = temporary_sibling(path)
    try:
        save_file(tensors, str(tmp), metadata={"format": "pt"})
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def save_module(module: nn.Module, directory: str | Path, config: Mapping[str, Any]) -> None:
    """Write ``module``'s state dict and ``config`` to ``directory`` (each file atomically)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    save_state(module, directory / WEIGHTS_NAME)
    atomic_write_text(directory / CONFIG_NAME, json.dumps(dict(config), indent=2, sort_keys=True) + "\n")


def read_json_object(path: str | Path) -> dict[str, Any]:
    """Read a JSON file that must hold an object; :class:`ModelLoadError` naming ``path`` otherwise."""
    path = Path(path)
    if not path.is_file():
        raise ModelLoadError(f"{path} not found")
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ModelLoadError(f"{path} is not readable UTF-8 JSON: {error}") from error
    if not isinstance(values, dict):
        raise ModelLoadError(f"{path} holds a JSON {type(values).__name__}, expected an object {{...}}")
    return values


def load_config(directory: str | Path) -> dict[str, Any]:
    """Read ``directory/config.json`` (a JSON object) with a clear :class:`ModelLoadError` when it is missing
    or malformed."""
    path = Path(directory) / CONFIG_NAME
    if not path.is_file():
        raise ModelLoadError(f"{path} not found: expected an export folder with {CONFIG_NAME} and {WEIGHTS_NAME}")
    return read_json_object(path)


def read_safetensors(path: str | Path) -> dict[str, torch.Tensor]:
    """The tensors of a safetensors file; :class:`ModelLoadError` if it is missing, truncated, or another format
    (a torch pickle, a zip)."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = Path(path)
    if not path.is_file():
        raise ModelLoadError(f"{path} not found")
    try:
        return load_file(str(path))
    except (SafetensorError, OSError) as error:
        raise ModelLoadError(f"{path} is not a complete safetensors file (truncated, or a pickle/zip saved under "
                             f"this name?): {error}") from error


def check_safetensors_file(path: str | Path) -> None:
    """Check a safetensors file's header and length without reading its tensors (cheap for multi-GB files);
    :class:`ModelLoadError` if it is truncated or not a safetensors file."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt"):
            pass
    except (SafetensorError, OSError) as error:
        raise ModelLoadError(f"{path} is not a complete safetensors file (truncated, or a pickle/zip saved under "
                             f"this name?): {error}") from error


def load_module_weights(module: nn.Module, directory: str | Path) -> None:
    """Load ``directory/model.safetensors`` into ``module`` strictly (names and shapes must match exactly)."""
    path = Path(directory) / WEIGHTS_NAME
    stored = read_safetensors(path)
    check_state_dict(module, stored, str(path))
    module.load_state_dict(stored, strict=True)


def check_state_dict(module: nn.Module, stored: Mapping[str, torch.Tensor], source: str) -> None:
    """Raise :class:`WeightsMismatchError` listing missing, unexpected and mis-shaped tensors."""
    expected = module.state_dict()
    missing = sorted(set(expected) - set(stored))
    unexpected = sorted(set(stored) - set(expected))
    shapes = [f"{name}: stored {tuple(stored[name].shape)}, model {tuple(expected[name].shape)}"
              for name in sorted(set(expected) & set(stored)) if stored[name].shape != expected[name].shape]
    if missing or unexpected or shapes:
        parts = []
        if missing:
            parts.append(f"missing {len(missing)} tensors (e.g. {', '.join(missing[:5])})")
        if unexpected:
            parts.append(f"unexpected {len(unexpected)} tensors (e.g. {', '.join(unexpected[:5])})")
        if shapes:
            parts.append("shape mismatch: " + "; ".join(shapes[:5]))
        raise WeightsMismatchError(f"{source} does not fit {type(module).__name__}: " + "; ".join(parts)
                                   + ". Was it saved from a model with a different config?")
