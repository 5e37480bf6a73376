"""Stopping cleanly on SIGTERM and SIGINT.

Without a handler SIGTERM kills the process where it stands: temporary folders stay behind and
the user gets no word. Here both signals raise :class:`Interrupted` in the main thread, so every
``finally``/``except BaseException`` on the way out runs (temporary folders are removed) and the
CLI ends with one line saying what was kept and how to continue.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

#: Exit codes follow the shell's 128 + signal number, so schedulers read them as usual.
EXIT_CODES = {signal.SIGINT: 130, signal.SIGTERM: 143}


class Interrupted(BaseException):
    """Raised by the signal handlers; a BaseException so that ``except Exception`` cannot swallow it."""

    def __init__(self, signum: int):
        self.signum = signum
        self.name = signal.Signals(signum).name
        self.exit_code = EXIT_CODES.get(signum, 128 + signum)
        self.kept: list[str] = []  # what finished and stays on disk, filled in on the way out
        super().__init__(f"interrupted by {self.name}")


def _raise(signum: int, frame) -> None:
    raise Interrupted(signum)


@contextmanager
def stop_cleanly() -> Iterator[None]:
    """Turn SIGTERM and SIGINT into :class:`Interrupted` while the block runs (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, _raise) for sig in EXIT_CODES}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
