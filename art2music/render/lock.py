"""One render per output folder: an exclusive ``flock`` on ``OUT/.art2music-render.lock``.

The kernel releases a ``flock`` when its process dies, however it dies, so a lock is never stale. The
file holds the holder's pid, host, start time and command line, so a second run can say who holds it.
The holder deletes the file when it is done (a crashed holder leaves it behind, unlocked and harmless).

The lock is re-entrant within a process (the CLI takes it before loading the model, and
:func:`art2music.render.runner.render_collection` takes it again). Under DDP only the launching process
takes it (:func:`is_ddp_child`): the processes Lightning starts run inside the launcher's lock.
"""

from __future__ import annotations

import fcntl
import json
import os
import shlex
import socket
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from art2music.render.outputs import describe_os_error

LOCK_NAME = ".art2music-render.lock"
POLL_SECONDS = 0.2

_held: dict[str, "OutputLock"] = {}


class OutputFolderError(Exception):
    """The output folder cannot be created or written (under a file, read-only, full, no permission)."""


class OutputLocked(Exception):
    """Another process is rendering into the output folder. ``holder``: its pid, host, started, command."""

    def __init__(self, out_dir: Path, holder: dict):
        self.out_dir, self.holder = out_dir, holder
        super().__init__(f"{out_dir} is in use by another render ({describe_holder(holder)}); wait for it to "
                         f"finish, use --wait, or choose another --out")


def describe_holder(holder: dict) -> str:
    """``pid 123 on host h since 2025-01-01T10:00:00+00:00: art2music render ...`` (what is known of it)."""
    if not holder.get("pid"):
        return "a process that has just started"
    text = f"pid {holder['pid']} on host {holder.get('host', '?')}"
    if holder.get("started"):
        text += f" since {holder['started']}"
    return text + (f": {holder['command']}" if holder.get("command") else "")


def is_ddp_child() -> bool:
    """True in a process that Lightning's DDP launcher started (``LOCAL_RANK``/``NODE_RANK`` other than 0)."""
    return os.environ.get("LOCAL_RANK", "0") != "0" or os.environ.get("NODE_RANK", "0") != "0"


def _read_holder(fd: int) -> dict:
    try:
        values = json.loads(os.pread(fd, 65536, 0).decode("utf-8", "replace") or "{}")
    except (OSError, ValueError):
        return {}
    return values if isinstance(values, dict) else {}


class OutputLock:
    """A held lock on an output folder; release it with :meth:`release` or by leaving the ``with`` block."""

    def __init__(self, key: str, path: Path, fd: int):
        self.key, self.path, self.fd, self.depth = key, path, fd, 1

    def release(self) -> None:
        """Give the lock back (the outermost release deletes the file, then unlocks it)."""
        self.depth -= 1
        if self.depth > 0 or self.fd < 0:
            return
        _held.pop(self.key, None)
        try:
            os.unlink(self.path)  # while still locked: a waiter that opened this file re-checks and retries
        except OSError:
            pass  # a read-only folder or a file already gone: the unlock below is what matters
        os.close(self.fd)
        self.fd = -1

    def __enter__(self) -> "OutputLock":
        return self

    def __exit__(self, *exc_info) -> None:
        self.release()


def _try_lock(path: Path) -> int | dict:
    """Lock ``path`` (created if needed): the locked descriptor, or the holder's details if it is taken."""
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            return holder
        except OSError:
            os.close(fd)
            raise
        try:
            same_file = os.path.samestat(os.fstat(fd), os.stat(path))
        except FileNotFoundError:
            same_file = False
        if same_file:
            return fd
        os.close(fd)  # the previous holder deleted this file as we opened it: lock the new one


def _write_holder(fd: int) -> None:
    holder = {"pid": os.getpid(), "host": socket.gethostname(),
              "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
              "command": " ".join(shlex.quote(arg) for arg in [Path(sys.argv[0]).name, *sys.argv[1:]])}
    os.ftruncate(fd, 0)
    os.pwrite(fd, (json.dumps(holder) + "\n").encode("utf-8"), 0)


def lock_output_folder(out_dir: str | os.PathLike, wait: bool = False, timeout: float | None = None,
                       on_wait: Callable[[str], None] | None = None) -> OutputLock:
    """Create ``out_dir`` if needed and lock it for this process.

    Args:
        wait: if another process holds the lock, wait for it (polling) instead of raising.
        timeout: with ``wait``, give up after this many seconds (``None``: wait as long as it takes).
        on_wait: called once with a message (who holds it) when this call starts waiting.

    Raises:
        OutputLocked: another process holds the lock (and ``wait`` is false or ``timeout`` ran out).
        OutputFolderError: the folder cannot be created, or no file can be written in it.
    """
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise OutputFolderError(f"cannot use {out_dir} as the output folder: it exists and is not a folder") from None
    except OSError as error:
        raise OutputFolderError(f"cannot create the output folder {out_dir}: {describe_os_error(error)}") from error
    key = os.path.realpath(out_dir)
    if key in _held:
        _held[key].depth += 1
        return _held[key]
    path = out_dir / LOCK_NAME
    deadline = None if timeout is None else time.monotonic() + timeout
    announced = False
    while True:
        try:
            outcome = _try_lock(path)
        except OSError as error:
            raise OutputFolderError(f"cannot write in the output folder {out_dir}: {describe_os_error(error)}") from error
        if isinstance(outcome, int):
            break
        if not wait or (deadline is not None and time.monotonic() >= deadline):
            raise OutputLocked(out_dir, outcome)
        if not announced and on_wait is not None:
            on_wait(f"waiting for the render into {out_dir} to finish ({describe_holder(outcome)})")
        announced = True
        time.sleep(POLL_SECONDS)
    try:
        _write_holder(outcome)
    except OSError as error:
        os.close(outcome)
        raise OutputFolderError(f"cannot write in the output folder {out_dir}: {describe_os_error(error)}") from error
    _held[key] = OutputLock(key, path, outcome)
    return _held[key]
