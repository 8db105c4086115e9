"""The one file hash: hex SHA-256 of a file's bytes, read in bounded chunks (any file size, little memory)."""

from __future__ import annotations

import hashlib
import os
from typing import BinaryIO

__all__ = ["file_sha256", "stream_sha256"]

CHUNK_BYTES = 1 << 20
"""Bytes read at a time (1 MiB): memory stays bounded for multi-gigabyte weight files."""


def file_sha256(path: str | os.PathLike) -> str:
    """Hex SHA-256 of the bytes of ``path``."""
    with open(path, "rb") as handle:
        return stream_sha256(handle)


def stream_sha256(handle: BinaryIO, max_bytes: int | None = None) -> str:
    """Hex SHA-256 of what ``handle`` reads to its end.

    Raises:
        ValueError: more than ``max_bytes`` bytes were read (a file that grows, or an endless stream).
    """
    digest, total = hashlib.sha256(), 0
    for chunk in iter(lambda: handle.read(CHUNK_BYTES), b""):
        total += len(chunk)
        if max_bytes is not None and total > max_bytes:
            raise ValueError(f"more than {max_bytes} bytes")
        digest.update(chunk)
    return digest.hexdigest()
