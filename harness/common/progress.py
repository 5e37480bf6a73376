"""Progress bars and log lines on the main process only (rich, on stderr)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager


class Reporter:
    """Log lines and progress bars on stderr (``Reporter(False)``: silent). ``log(message)``
    prints one line; ``with reporter.task(description, total) as advance:`` shows a bar that
    ``advance()`` moves by one."""

    def __init__(self, enabled: bool = True):
        self.enabled = enabled
        self._console = None
        self._progress = None

    @property
    def console(self):
        if self._console is None:
            from rich.console import Console

            self._console = Console(stderr=True)
        return self._console

    def log(self, message: str) -> None:
        if self.enabled:
            self.console.print(message, highlight=False, soft_wrap=True)

    @contextmanager
    def task(self, description: str, total: int) -> Iterator[Callable[[], None]]:
        if not self.enabled:
            yield lambda: None
            return
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      TimeRemainingColumn(), console=self.console, transient=True,
                      disable=not self.console.is_terminal) as progress:
            handle = progress.add_task(description, total=total)
            yield lambda: progress.advance(handle)
