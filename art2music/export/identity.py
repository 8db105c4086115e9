"""Model identity: one hash that changes whenever a pipeline would produce different output.

Renders and evaluations store it beside each result, so a rerun redoes exactly what a changed model
affects. A pipeline folder's identity hashes its configuration and weight files (``*.json`` and
``*.safetensors``, with their relative paths); a pipeline built in memory hashes its configs and every tensor.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Mapping

import torch

from art2music.io.hashing import file_sha256

_MODEL_FILE_SUFFIXES = (".json", ".safetensors")


def model_folder_identity(folder: str | os.PathLike, vocoder: str | None = None,
                          precisions: Mapping[str, str] | None = None) -> str:
    """Hash of a pipeline folder's config and weight files (and the vocoder override and precisions, if any).

    Args:
        folder: a pipeline folder (``art2music export``, ``Art2Music.save_pretrained``), or ``"demo"``.
        vocoder: the ``--vocoder`` override (a name such as ``griffin-lim``, or a checkpoint folder/file).
        precisions: the arithmetic each stage runs in (``Art2Music.precisions``); stages in bfloat16 change
            the output slightly, so they change the identity (float32 stages leave it as it always was).
    """
    from art2music.export.format import resolve_pipeline_folder

    digest = hashlib.sha256(b"art2music-model-v1\0")
    _hash_tree(digest, resolve_pipeline_folder(folder))
    if vocoder is not None:
        digest.update(b"vocoder\0")
        override = Path(vocoder)
        if override.is_dir():
            _hash_tree(digest, override)
        elif override.is_file():
            digest.update(file_sha256(override).encode())
        else:
            digest.update(str(vocoder).lower().encode())
    for stage, dtype in sorted((precisions or {}).items()):
        if dtype != "float32":
            digest.update(f"{stage}-dtype\0{dtype}".encode())
    return digest.hexdigest()


def _hash_tree(digest: "hashlib._Hash", root: Path) -> None:
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in _MODEL_FILE_SUFFIXES)
    if not files:
        raise FileNotFoundError(f"{root} holds no config or weight files (*.json, *.safetensors)")
    for path in files:
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(file_sha256(path).encode() + b"\0")


def pipeline_identity(pipe: Any) -> str:
    """Hash of an in-memory ``Art2Music`` pipeline: encoder spec, configs and every parameter/buffer."""
    digest = hashlib.sha256(b"art2music-pipeline-memory-v1\0")
    description = {"encoder": pipe.encoder.spec(), "stage1": pipe.stage1.config.to_dict(),
                   "mel": pipe.mel_config.to_dict(), "text_template": pipe.text_template,
                   "vocoder": type(pipe.vocoder).__name__, "precisions": getattr(pipe, "precisions", None)}
    digest.update(json.dumps(description, sort_keys=True, default=str).encode())
    for module_name in ("encoder", "stage1", "vocoder"):
        for name, tensor in getattr(pipe, module_name).state_dict().items():
            digest.update(f"{module_name}.{name}:{tuple(tensor.shape)}:{tensor.dtype}\0".encode())
            digest.update(tensor.detach().to("cpu", torch.float32 if tensor.is_floating_point() else tensor.dtype)
                          .contiguous().numpy().tobytes())
    return digest.hexdigest()
