"""The one file hash: hex SHA-256 of a file's bytes, read in bounded chunks (any file size, little memory)."""

from __future__ import annotations

import hashlib
import os

__all__ = ["file_sha256"]

CHUNK_BYTES = 1 << 20
"""Bytes read at a time (1 MiB): memory stays bounded for multi-gigabyte weight files."""


def file_sha256(path: str | os.PathLike) -> str:
    """Hex SHA-256 of the bytes of ``path``."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK_BYTES), b""):
            digest.update(chunk)
    return digest.hexdigest()
