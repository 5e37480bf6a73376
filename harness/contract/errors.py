"""Errors a user can cause. The CLI prints them as one line, never as a traceback."""

from __future__ import annotations

import difflib
import functools
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



class WrongRoleError(UnknownNameError):
    """A task named for the role it does not have (an intermediate task as a target, say): said as
    such, with the option that takes it, rather than as an unknown name."""

    def __init__(self, name: str, role: str, other: str, other_option: str | None = None,
                 option: str | None = None):
        def article(word: str) -> str:
            return "an" if word[0] in "aeiou" else "a"

        usage = f" (name it with {other_option})" if other_option else ""
        UserError.__init__(self, f"{name!r} is {article(other)} {other} task{usage}, not {article(role)} {role} task"
                                 + (f" ({option})" if option else ""))
        self.name, self.suggestions = name, []


class UnknownLanguageError(UnknownNameError):
    """A language a task does not have. "Did you mean" only for a code one letter away from one
    it has; a language's English name (``german``, ``Swahili``) is read as its ISO 639 code."""

    def __init__(self, task: str, name: str, known: Iterable[str]):
        known = list(dict.fromkeys(known))
        code = language_code(name)
        what = f"language for {task}"
        listed = f"{task}'s languages: {', '.join(known)}"
        if code is not None and code != name:
            hint = (f"{name!r} is a language name: use its code {code!r}" if code in known else
                    f"{name!r} is a language name (code {code!r}), which is not among them; {listed}")
        else:
            close = [k for k in known if len(k) == len(name) and sum(a != b for a, b in zip(k, name.lower())) <= 1]
            hint = ("did you mean " + " or ".join(repr(c) for c in close) + "? " if close else "") + listed
        UserError.__init__(self, f"unknown {what} {name!r}; {hint}")
        self.name = name
        self.suggestions = [code] if code in known else []


def language_code(name: str) -> str | None:
    """The shortest ISO 639 code of a language given by its English name or one of its codes
    (``German``, ``de`` -> ``de``), from the language list the ``datasets`` library ships for
    dataset cards (read as a file: nothing is imported). None when ``name`` is neither."""
    codes, shortest = _language_names()
    lowered = name.strip().lower()
    full = codes.get(lowered)
    if full is not None:
        return shortest[full]
    return shortest.get(lowered)


@functools.lru_cache(maxsize=1)
def _language_names() -> tuple[dict[str, str], dict[str, str]]:
    """(code -> lower-case English name, lower-case English name -> its shortest code)."""
    import importlib.util
    import json
    from pathlib import Path

    codes: dict[str, str] = {}
    shortest: dict[str, str] = {}
    found = importlib.util.find_spec("datasets")
    for location in list(found.submodule_search_locations or []) if found else []:
        path = Path(location) / "utils" / "resources" / "languages.json"
        if path.is_file():
            table = json.loads(path.read_text(encoding="utf-8"))
            for code, full in sorted(table.items(), key=lambda item: (len(item[0]), item[0])):
                if code.isalpha() and code.islower():
                    base = full.split(" (")[0].strip().lower()  # "Swahili (macrolanguage)" -> "swahili"
                    codes[code] = base
                    shortest.setdefault(base, code)
            break
    return codes, shortest


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
