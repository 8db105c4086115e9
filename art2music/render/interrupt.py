"""Stopping a render cleanly on SIGINT (Ctrl-C) or SIGTERM (``kill``, a scheduler's time limit).

While :func:`signals_interrupt` is active, the first SIGINT or SIGTERM raises :class:`RenderInterrupted`
in the main thread; the render loop then writes ``results.json`` and the gallery for what it finished,
and the command exits with ``128 + signal`` (130 for SIGINT, 143 for SIGTERM), the shell's convention.
Signals that arrive while it is stopping are ignored, so the results being written are not cut short.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from typing import Iterator

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class RenderInterrupted(BaseException):
    """A stop signal arrived. A ``BaseException`` (like ``KeyboardInterrupt``), so that code catching
    ``Exception`` lets it through; unlike ``KeyboardInterrupt``, Lightning re-raises it instead of exiting."""

    def __init__(self, signum: int):
        self.signum = signum
        super().__init__(f"interrupted by {signal.Signals(signum).name}")

    @property
    def signal_name(self) -> str:
        return signal.Signals(self.signum).name

    @property
    def exit_code(self) -> int:
        """``128 + signal number``: 130 for SIGINT, 143 for SIGTERM."""
        return 128 + self.signum


@contextlib.contextmanager
def signals_interrupt() -> Iterator[None]:
    """Turn the first SIGINT/SIGTERM into :class:`RenderInterrupted` (main thread only; elsewhere a no-op)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    stopping = False

    def handler(signum: int, frame) -> None:
        nonlocal stopping
        if stopping:
            return
        stopping = True
        raise RenderInterrupted(signum)

    previous = {signum: signal.signal(signum, handler) for signum in STOP_SIGNALS}
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)
