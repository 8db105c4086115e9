"""One stage of a pipeline folder: ``config.json`` and ``model.safetensors``, read with strict checks.

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

from vocoder.files import atomic_write, atomic_write_text

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"


def save_state(module: nn.Module | Mapping[str, torch.Tensor], path: str | Path) -> None:
    """Write ``module``'s state dict (or the state dict given) to the safetensors file ``path``, atomically."""
    from safetensors.torch import save_file

    state = module if isinstance(module, Mapping) else module.state_dict()
    tensors = {name: tensor.detach().cpu().contiguous() for name, tensor in state.items()}
    atomic_write(path, lambda tmp: save_file(tensors, str(tmp), metadata={"format": "pt"}))


def save_module(module: nn.Module, directory: str | Path, config: Mapping[str, Any]) -> None:
    """Write ``module``'s state dict and ``config`` to ``directory`` (each file atomically)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    save_state(module, directory / WEIGHTS_NAME)
    atomic_write_text(directory / CONFIG_NAME, json.dumps(dict(config), indent=2, sort_keys=True) + "\n")


class ModelLoadError(ValueError):
    """A pipeline folder cannot be loaded. ``path`` is the file at fault and ``field`` the value in it."""

    def __init__(self, path: str | os.PathLike, problem: str, field: str = ""):
        self.path = Path(path)
        self.field = field
        self.problem = problem
        super().__init__(f"{path}" + (f": field {field!r}" if field else "") + f": {problem}")


def read_json_object(path: Path) -> dict[str, Any]:
    """A JSON file that must hold an object, or :class:`ModelLoadError` saying what is wrong with it."""
    if not path.is_file():
        raise ModelLoadError(path, "missing (a pipeline folder holds pipeline.json and encoder/, stage1/, vocoder/)")
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ModelLoadError(path, f"not readable UTF-8 JSON ({error})") from error
    if not isinstance(values, dict):
        raise ModelLoadError(path, f"holds a JSON {type(values).__name__}, expected an object {{...}}")
    return values


def check_safetensors_file(path: Path) -> None:
    """Check a safetensors file's header and length without reading its tensors (cheap for multi-GB files);
    :class:`ModelLoadError` if it is truncated or not a safetensors file (a pickle or zip is never unpickled)."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt"):
            pass
    except (SafetensorError, OSError) as error:
        raise ModelLoadError(path, f"not a complete safetensors file (truncated, or a pickle/zip saved under this "
                             f"name?): {error}") from error


def load_module_weights(module: nn.Module, directory: str | Path) -> None:
    """Load ``directory/model.safetensors`` into ``module`` strictly (names and shapes must match exactly).

    Raises:
        ModelLoadError: the file is missing, is not a safetensors file, or its tensors do not fit ``module``
            (listing missing, unexpected and mis-shaped tensors).
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    from vocoder.checkpoint import CheckpointError, load_strict

    path = Path(directory) / WEIGHTS_NAME
    if not path.is_file():
        raise ModelLoadError(path, "missing")
    try:
        stored = load_file(str(path))
    except (SafetensorError, OSError) as error:
        raise ModelLoadError(path, f"not a complete safetensors file (truncated, or a pickle/zip saved under this "
                             f"name?): {error}") from error
    try:
        load_strict(module, stored, str(path), hint="was it saved from a model with a different config?")
    except CheckpointError as error:
        raise ModelLoadError(path, str(error)) from error
