"""One stage of a pipeline folder: ``config.json`` and ``model.safetensors``, read with strict checks.

No pickles: tensors are stored with safetensors; the config is plain JSON. Loading reports every missing,
unexpected or mis-shaped tensor by name.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Mapping

from torch import nn

from art2music.io.atomic import atomic_write_text, temporary_sibling

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"


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


def load_config(directory: str | Path) -> dict[str, Any]:
    """Read ``directory/config.json`` with a clear error when it is missing or malformed."""
    path = Path(directory) / CONFIG_NAME
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: expected an export folder with {CONFIG_NAME} and {WEIGHTS_NAME}")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} is not valid JSON: {error}") from error


def load_module_weights(module: nn.Module, directory: str | Path) -> None:
    """Load ``directory/model.safetensors`` into ``module`` strictly (names and shapes must match exactly).

    Raises:
        FileNotFoundError: no weights file.
        ValueError: the file is not a safetensors file (truncated, a zip or a pickle: it is never unpickled),
            or its tensors do not fit ``module`` (:class:`vocoder.checkpoint.CheckpointError` lists them).
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    from vocoder.checkpoint import load_strict

    path = Path(directory) / WEIGHTS_NAME
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found")
    try:
        stored = load_file(str(path))
    except (SafetensorError, OSError) as error:
        raise ValueError(f"{path} is not a readable safetensors file ({error}); re-export the model") from error
    load_strict(module, stored, str(path), hint="was it saved from a model with a different config?")
