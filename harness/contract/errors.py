"""Errors a user can cause. The CLI prints them as one line, never as a traceback."""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable


class UserError(Exception):
    """A mistake the user can fix; the message says what to do. Exit code 1."""

    exit_code = 1


class UnknownNameError(UserError):
    """An unknown task, model or language (exit code 2, with the closest names)."""

    exit_code = 2

    def __init__(self, what: str, name: str, known: Iterable[str], failed: Iterable[str] = ()):
        known = sorted(set(known))
        close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
        if close:
            hint = "did you mean " + " or ".join(repr(c) for c in close) + "?"
        else:
            shown = ", ".join(known[:12]) + (" …" if len(known) > 12 else "")
            hint = f"known: {shown}" if known else "none is registered (see `xharness list`)"
        failed = sorted(set(failed))
        if failed:  # the name may be theirs: say so rather than only "unknown"
            hint += (f"; plugin{'s' if len(failed) > 1 else ''} {', '.join(failed)} failed to load and may provide it "
                     f"(`xharness list --plugin {failed[0]}` shows why)")
        super().__init__(f"unknown {what} {name!r}; {hint}")
        self.name = name
        self.suggestions = close


class DataFormatError(UserError):
    """A malformed data file: names the file and the line."""

    def __init__(self, path: object, line: int | None, problem: str):
        where = f"{path}:{line}" if line is not None else str(path)
        super().__init__(f"{where}: {problem}")

    @classmethod
    def not_utf8(cls, path: str | os.PathLike[str]) -> DataFormatError | None:
        """The error for a file that is not UTF-8, naming the line of its first invalid byte;
        None when the whole file decodes (the UnicodeDecodeError came from another file).

        The file is scanned again because a UnicodeDecodeError's offsets count from the start of
        the chunk the codec was decoding, not from the start of the file.
        """
        with open(path, "rb") as handle:
            for number, raw in enumerate(handle, start=1):
                try:
                    raw.decode("utf-8")
                except UnicodeDecodeError as exc:
                    bad = " ".join(f"0x{byte:02x}" for byte in raw[exc.start:exc.end])
                    return cls(path, number, f"not UTF-8 text ({exc.reason} {bad} at byte {exc.start + 1} of the line)")
        return None
