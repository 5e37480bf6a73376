"""Stopping cleanly on SIGTERM, SIGUSR2 and SIGINT.

Without a handler SIGTERM kills the process where it stands: temporary folders stay behind and
the user gets no word. Here the signals raise :class:`Interrupted` in the main thread, so every
``finally``/``except BaseException`` on the way out runs (temporary folders are removed) and the
CLI ends with one line saying what was kept and how to continue.

SIGTERM and SIGUSR2 are what Slurm sends before preemption or the time limit. While a training
loop runs (inside :func:`deferred`) they do not stop the process at once: the loop notices
:func:`requested` at its next update, writes a checkpoint and then raises :class:`Interrupted`,
so no step of training is lost. The exit code is then :data:`EXIT_RESUMABLE` (75, EX_TEMPFAIL:
"try again"), whatever the moment; SIGINT (Ctrl-C) stops at once with 130.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

#: Exit code after SIGTERM/SIGUSR2: everything finished or checkpointed is kept; rerun to continue.
EXIT_RESUMABLE = 75
#: Signals that ask for a checkpoint and a stop (Slurm's preemption and time-limit signals).
CHECKPOINT_SIGNALS = (signal.SIGTERM, signal.SIGUSR2)
EXIT_CODES = {signal.SIGINT: 130, signal.SIGTERM: EXIT_RESUMABLE, signal.SIGUSR2: EXIT_RESUMABLE}

_requested: int | None = None
_deferring = 0


class Interrupted(BaseException):
    """Raised on a stop signal; a BaseException so that ``except Exception`` cannot swallow it."""

    def __init__(self, signum: int, *, checkpointed: bool = False):
        self.signum = signum
        self.name = signal.Signals(signum).name
        self.exit_code = EXIT_CODES.get(signum, 128 + signum)
        self.checkpointed = checkpointed  # a training checkpoint was written on the way out
        self.kept: list[str] = []  # what finished and stays on disk, filled in on the way out
        self.workers: str | None = None  # a sweep's: what became of its worker processes
        super().__init__(f"interrupted by {self.name}")


def _handle(signum: int, frame) -> None:
    global _requested
    if signum in CHECKPOINT_SIGNALS and _deferring:
        _requested = signum  # the training loop checkpoints at its next update, then stops
        return
    raise Interrupted(signum)


def requested() -> int | None:
    """The signal that asked for a checkpoint and a stop, if one arrived."""
    return _requested


@contextmanager
def deferred() -> Iterator[None]:
    """While the block runs, SIGTERM/SIGUSR2 wait for the caller to checkpoint (see :func:`requested`)."""
    global _deferring
    _deferring += 1
    try:
        if _requested is not None:  # arrived just before training started: stop before it does
            raise Interrupted(_requested)
        yield
    finally:
        _deferring -= 1


@contextmanager
def stop_cleanly() -> Iterator[dict[int, object]]:
    """Install the handlers while the block runs (main thread only); yields the handlers replaced."""
    global _requested
    if threading.current_thread() is not threading.main_thread():
        yield {}
        return
    _requested = None
    previous = {sig: signal.signal(sig, _handle) for sig in EXIT_CODES}
    try:
        yield previous
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        _requested = None
