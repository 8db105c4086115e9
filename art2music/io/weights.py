"""The export format: a folder with ``config.json`` and ``model.safetensors``, read with strict checks.

No pickles: tensors are stored with safetensors; the config is plain JSON. Loading reports every missing,
unexpected or mis-shaped tensor by name.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping

import torch
from torch import nn

from vocoder.files import atomic_write, atomic_write_text

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"


class WeightsMismatchError(ValueError):
    """Stored tensors do not fit the module built from the stored config."""


def save_state(module: nn.Module, path: str | Path) -> None:
    """Write ``module``'s state dict to the safetensors file ``path``, atomically."""
    from safetensors.torch import save_file

    tensors = {name: tensor.detach().cpu().contiguous() for name, tensor in module.state_dict().items()}
    atomic_write(path, lambda tmp: save_file(tensors, str(tmp), metadata={"format": "pt"}))


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
    """Load ``directory/model.safetensors`` into ``module`` strictly (names and shapes must match exactly)."""
    from safetensors.torch import load_file

    path = Path(directory) / WEIGHTS_NAME
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found")
    stored = load_file(str(path))
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
