"""Atomic file writes: write a temporary sibling, fsync it, then ``os.replace`` it over the target.

The one writer of the project (``vocoder`` is standalone, so it lives here and ``art2music`` imports it).
A reader never sees a half-written file and a crash leaves the previous version intact; at worst a killed
process leaves a temporary ``.<name>.<random>.tmp<suffix>`` beside the target, which
:func:`remove_stale_temporaries` recognises and deletes.

- :func:`atomic_open`: a file handle (``"w"``/``"wb"`` modes), for code that writes to a stream;
- :func:`atomic_write_text` / :func:`atomic_write_bytes`: a whole file at once;
- :func:`atomic_write`: ``write(temporary_path)`` for writers that need a file name (soundfile, PIL,
  safetensors, ``torch.save``, ``np.savez``). The temporary keeps the target's suffix, so writers that pick the
  format from it (or append one, as ``np.savez`` does) behave as with the target.

Written files get ordinary permissions (``0o666`` minus the umask), not the ``0o600`` of a temporary file:
galleries and releases are often read by another user.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from pathlib import Path
from typing import IO, Callable, Iterator

__all__ = ["UnusableFileError", "atomic_open", "atomic_write", "atomic_write_bytes", "atomic_write_text",
           "is_temporary_name", "remove_stale_temporaries"]

#: ``.<name>.<random>.tmp<suffix>``; ``<random>`` is mkstemp's: eight lower-case letters, digits or underscores.
_TEMPORARY_NAME = re.compile(r"\.(?P<name>.+)\.[a-z0-9_]{8}\.tmp(?P<suffix>(\.[^.]*)?)")


class UnusableFileError(ValueError):
    """An input file cannot be used: ``path``, a machine-readable ``reason`` (one of the subclass's ``reasons``)
    and a human ``detail``. The one shape of the audio and image readers' errors, which reports list by reason."""

    reasons: tuple[str, ...] = ()

    def __init__(self, path: str | os.PathLike, reason: str, detail: str):
        if reason not in self.reasons:
            raise ValueError(f"unknown {type(self).__name__} reason {reason!r}; expected one of {self.reasons}")
        self.path = Path(path)
        self.reason = reason
        self.detail = detail
        super().__init__(f"{path}: {reason.replace('_', ' ')}: {detail}")


def _umask() -> int:
    """The process umask, read without changing it where Linux allows (``os.umask`` sets it to read it,
    which would briefly give files created by other threads the wrong mode)."""
    with contextlib.suppress(OSError, ValueError):
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _new_temporary(target: Path) -> Path:
    """Create an empty temporary sibling of ``target`` (same folder, so ``os.replace`` is atomic)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp" + target.suffix, dir=target.parent)
    os.close(fd)
    return Path(name)


def _publish(temporary: Path, target: Path) -> None:
    """fsync ``temporary``, give it ordinary permissions and rename it onto ``target``."""
    with open(temporary, "rb+") as handle:
        os.fsync(handle.fileno())
    os.chmod(temporary, 0o666 & ~_umask())
    os.replace(temporary, target)


def atomic_write(path: str | os.PathLike, write: Callable[[Path], object]) -> None:
    """Call ``write(temporary_path)``, then atomically replace ``path`` with what it wrote.

    On an exception the temporary file is removed and ``path`` is left as it was.
    """
    target = Path(path)
    temporary = _new_temporary(target)
    try:
        write(temporary)
        _publish(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w", **kwargs) -> Iterator[IO]:
    """Open a temporary sibling of ``path`` for writing; when the block ends without error, it becomes ``path``.

    On an exception the temporary file is removed and ``path`` is left as it was.
    """
    if "r" in mode or "a" in mode or "+" in mode:
        raise ValueError(f"atomic_open is for writing whole files, not mode {mode!r}")
    target = Path(path)
    temporary = _new_temporary(target)
    try:
        with open(temporary, mode, **kwargs) as handle:
            yield handle
        _publish(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_open(path, "w", encoding="utf-8") as handle:
        handle.write(text)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_open(path, "wb") as handle:
        handle.write(data)


def is_temporary_name(name: str) -> bool:
    """True if ``name`` is a temporary file name this module makes (``.<name>.<random>.tmp<suffix>``)."""
    match = _TEMPORARY_NAME.fullmatch(name)
    return match is not None and match["suffix"] == Path(match["name"]).suffix


def remove_stale_temporaries(folder: str | os.PathLike) -> list[Path]:
    """Delete the temporary files a killed writer left directly in ``folder``; returns what was removed.

    Only names this module makes are touched (see :func:`is_temporary_name`); a missing folder is empty.
    Call it before writing starts, never while another process writes into ``folder``.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    removed = []
    for path in sorted(folder.iterdir()):
        if is_temporary_name(path.name) and path.is_file():
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed
