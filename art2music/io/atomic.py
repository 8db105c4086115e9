"""Atomic file writes: write to a temporary file in the same folder, then rename over the target.

A reader never sees a half-written file, and a crash leaves the previous version intact.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import IO, Iterator


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _new_temporary(target: Path) -> str:
    """Create an empty temporary sibling of ``target`` with ordinary permissions (mkstemp makes it 0600)."""
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp" + target.suffix, dir=target.parent)
    os.close(fd)
    os.chmod(tmp_name, 0o666 & ~_umask())
    return tmp_name


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w", **kwargs) -> Iterator[IO]:
    """Open a temporary sibling of ``path`` for writing; on success rename it to ``path``.

    On an exception the temporary file is removed and ``path`` is left as it was.
    """
    if "r" in mode or "a" in mode:
        raise ValueError(f"atomic_open is for writing whole files, not mode {mode!r}")
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp_name = _new_temporary(target)
    try:
        with open(tmp_name, mode, **kwargs) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_open(path, "w", encoding="utf-8") as handle:
        handle.write(text)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_open(path, "wb") as handle:
        handle.write(data)


def temporary_sibling(path: str | os.PathLike) -> Path:
    """A fresh temporary path beside ``path`` (same file system, so ``os.replace`` is atomic).

    For writers that need a file name (soundfile, PIL, safetensors); the caller renames it with
    ``os.replace(tmp, path)`` when done and removes it on failure.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    return Path(_new_temporary(target))
