"""Fingerprints that decide whether an item must be (re)rendered.

An item's fingerprint is a SHA-256 over the image file's bytes, the comment, the model's identity and
the output settings. A rerun skips an item only when its stored fingerprint equals the new one, so a
changed image, comment, model or WAV format re-renders exactly the items it affects.

The model identity is a hash of the pipeline folder's configuration and weight files (``*.json`` and
``*.safetensors``, with their relative paths), or, for a pipeline built in memory, of its configs and
every tensor.
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
                          vocoder_dtype: str | None = None) -> str:
    """Hash of a pipeline folder's config and weight files (and the vocoder override and precision, if any).

    Args:
        folder: a folder written by ``Art2Music.save_pretrained``.
        vocoder: the ``--vocoder`` override (a name such as ``griffin-lim``, or a checkpoint folder/file).
        vocoder_dtype: the HiFi-GAN's inference dtype name when it is not float32 (its audio differs slightly).
    """
    digest = hashlib.sha256(b"art2music-model-v1\0")
    _hash_tree(digest, Path(folder))
    if vocoder is not None:
        digest.update(b"vocoder\0")
        override = Path(vocoder)
        if override.is_dir():
            _hash_tree(digest, override)
        elif override.is_file():
            digest.update(file_sha256(override).encode())
        else:
            digest.update(str(vocoder).lower().encode())
    if vocoder_dtype not in (None, "float32"):
        digest.update(b"vocoder-dtype\0" + str(vocoder_dtype).encode())
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
                   "vocoder": type(pipe.vocoder).__name__}
    digest.update(json.dumps(description, sort_keys=True, default=str).encode())
    for module_name in ("encoder", "stage1", "vocoder"):
        for name, tensor in getattr(pipe, module_name).state_dict().items():
            digest.update(f"{module_name}.{name}:{tuple(tensor.shape)}:{tensor.dtype}\0".encode())
            digest.update(tensor.detach().to("cpu", torch.float32 if tensor.is_floating_point() else tensor.dtype)
                          .contiguous().numpy().tobytes())
    return digest.hexdigest()


def item_fingerprint(image_sha256: str, comment: str, model_identity: str, settings: Mapping[str, Any]) -> str:
    """The fingerprint of one rendered item (see module docstring)."""
    payload = json.dumps({"image": image_sha256, "comment": comment, "model": model_identity,
                          "settings": dict(settings)}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()
