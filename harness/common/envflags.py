"""The one reader of yes/no environment variables (xharness's own and the Hugging Face offline ones).

``1``, ``true``, ``yes`` and ``on`` mean yes; ``0``, ``false``, ``no`` and ``off`` mean no (any case,
spaces ignored), as huggingface_hub reads its own flags; an unset or empty variable is its default.
Anything else is read as the default too, and a line on stderr says so, once a process, naming it.
"""

from __future__ import annotations

import os
import sys

TRUE = ("1", "true", "yes", "on")
FALSE = ("0", "false", "no", "off")
_WARNED: set[str] = set()


def flag(name: str, default: bool = False) -> bool:
    """Whether the environment variable ``name`` says yes (``default`` when it is unset or unreadable)."""
    raw = os.environ.get(name, "")
    value = raw.strip().lower()
    if not value:
        return default
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    if name not in _WARNED:
        _WARNED.add(name)
        print(f"warning: {name}={raw!r} is neither yes ({', '.join(TRUE)}) nor no ({', '.join(FALSE)}); "
              f"read as {'yes' if default else 'no'}", file=sys.stderr)
    return default
