"""What to cite: the BibTeX each plugin ships for what it registers, and the entries a set of runs needs.

A plugin package ships its references as package data, a ``citations.bib`` beside its top-level
``__init__.py`` (declared as package data in its ``pyproject.toml``). They are data, not code, on
purpose: every key digests the plugin's Python files (``discovery.code_digest``), so a reference
added or corrected there never changes a key nor makes a store recompute.

Each entry names what it cites in a field ``xharness``: ``what:name`` items separated by commas or
white space, ``what`` one of ``task`` (either role), ``model``, ``leaderboard``, ``study`` or
``translations`` (a task's translations, cited by runs that read them)::

    @inproceedings{yang2019pawsx,
      title = {{PAWS-X}: A Cross-lingual Adversarial Dataset for Paraphrase Identification},
      ...
      xharness = {task:pawsx},
    }

One entry may cite several things and one thing may have several entries (a task and its training
data). Only the ``citations.bib`` of the package that registered a name is read for that name. The
core's own file (``harness/citations.bib``) marks with ``xharness = {always}`` what every use cites:
the protocol paper (X-STILTs, Phang et al., 2020) and xharness itself. The ``xharness`` field is
left out when an entry is printed.

The parser reads what BibTeX files hold in practice: ``@type{key, name = {…} | "…" | number |
macro, …}`` with nested braces, ``#`` concatenation, ``@comment``, ``@string`` and ``@preamble``
(read past, macros are not expanded), text outside entries and ``%`` lines as comments.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

#: The file a plugin package ships its references in (package data, next to its ``__init__.py``).
FILENAME = "citations.bib"
#: The field of an entry that names what it cites; left out when the entry is printed.
FIELD = "xharness"
#: The ``xharness`` item of the core's entries cited for every use (the protocol paper, xharness).
ALWAYS = "always"
WHATS = ("task", "model", "leaderboard", "study", "translations")


class BibError(ValueError):
    """A citations.bib that cannot be read as BibTeX: the file, the line and what is wrong."""


@dataclass(frozen=True)
class Entry:
    """One BibTeX entry: its type (lower case), key and fields in file order (name lower case → the
    value as written, without its outer delimiters; ``bare`` names the undelimited ones)."""

    type: str
    key: str
    fields: tuple[tuple[str, str], ...]
    bare: frozenset[str] = frozenset()
    source: str = ""

    def get(self, name: str, default: str | None = None) -> str | None:
        return next((value for key, value in self.fields if key == name), default)

    @property
    def cites(self) -> tuple[str, ...]:
        """The ``what:name`` items (and ``always``) of its ``xharness`` field."""
        return tuple(item for item in re.split(r"[\s,]+", self.get(FIELD) or "") if item)

    def bibtex(self) -> str:
        """The entry as BibTeX, without the ``xharness`` field."""
        lines = [f"@{self.type}{{{self.key},"]
        width = max((len(k) for k, _ in self.fields if k != FIELD), default=0)
        for name, value in self.fields:
            if name == FIELD:
                continue
            shown = value if name in self.bare else "{" + value + "}"
            lines.append(f"  {name.ljust(width)} = {shown},")
        return "\n".join(lines) + "\n}"

    def text(self) -> str:
        """One line for a reader: authors (year). Title. Venue."""
        authors = _authors(self.get("author") or self.get("editor") or "")
        year = plain(self.get("year") or "n.d.")
        title = plain(self.get("title") or self.key).rstrip(".")
        venue = _venue(self)
        parts = [f"{authors} ({year})." if authors else f"({year}).", title + ("" if title[-1:] in "?!" else ".")]
        if venue:
            parts.append(("In " if self.get("booktitle") else "") + venue.rstrip(".") + ".")
        if self.get("url") and self.type in ("misc", "software", "online"):
            parts.append(plain(self.get("url")))
        return " ".join(parts)


# -------------------------------------------------------------------------------------------- parsing

_NAME = re.compile(r"[A-Za-z0-9_:\-./+']+")
_SKIPPED = ("comment", "preamble", "string")


def parse(text: str, source: str = "<string>") -> list[Entry]:
    """Every entry of a BibTeX text, in order; :class:`BibError` (with the line) where it is malformed."""
    entries: list[Entry] = []
    position, length = 0, len(text)
    keys: set[str] = set()
    while True:
        at = _next_entry(text, position)
        if at < 0:
            return entries
        match = re.compile(r"@\s*([A-Za-z]+)\s*([{(])").match(text, at)
        if match is None:
            raise _error(text, at, source, "expected @type{ after @")
        kind, opening = match.group(1).lower(), match.group(2)
        closing = "}" if opening == "{" else ")"
        if kind in _SKIPPED:
            position = _skip_group(text, match.end() - 1, source)
            continue
        cursor = _space(text, match.end())
        key = _NAME.match(text, cursor)
        if key is None:
            raise _error(text, cursor, source, f"@{kind} entry without a key")
        cursor = _space(text, key.end())
        fields: list[tuple[str, str]] = []
        bare: set[str] = set()
        while True:
            if cursor >= length:
                raise _error(text, at, source, f"entry {key.group()!r} is not closed")
            if text[cursor] == closing:
                cursor += 1
                break
            if text[cursor] != ",":
                raise _error(text, cursor, source, f"expected ',' or '{closing}' in entry {key.group()!r}")
            cursor = _space(text, cursor + 1)
            if cursor < length and text[cursor] == closing:  # a trailing comma
                cursor += 1
                break
            name = _NAME.match(text, cursor)
            if name is None:
                raise _error(text, cursor, source, f"expected a field name in entry {key.group()!r}")
            cursor = _space(text, name.end())
            if cursor >= length or text[cursor] != "=":
                raise _error(text, cursor, source, f"expected '=' after field {name.group()!r}")
            value, is_bare, cursor = _value(text, _space(text, cursor + 1), source)
            field_name = name.group().lower()
            if any(existing == field_name for existing, _ in fields):
                raise _error(text, name.start(), source, f"field {field_name!r} twice in entry {key.group()!r}")
            fields.append((field_name, value))
            if is_bare:
                bare.add(field_name)
            cursor = _space(text, cursor)
        if key.group() in keys:
            raise _error(text, at, source, f"key {key.group()!r} is used twice")
        keys.add(key.group())
        entries.append(Entry(kind, key.group(), tuple(fields), frozenset(bare), source))
        position = cursor


def _next_entry(text: str, position: int) -> int:
    """The next ``@`` outside a ``%`` comment line, or -1."""
    while True:
        at = text.find("@", position)
        if at < 0:
            return -1
        line_start = text.rfind("\n", 0, at) + 1
        if text[line_start:at].lstrip().startswith("%"):
            position = at + 1
            continue
        return at


def _space(text: str, position: int) -> int:
    while position < len(text) and text[position].isspace():
        position += 1
    return position


def _skip_group(text: str, position: int, source: str) -> int:
    """Past the ``{…}`` or ``(…)`` that starts at ``position``."""
    opening = text[position]
    if opening == "(":
        end = text.find(")", position)
        if end < 0:
            raise _error(text, position, source, "'(' is not closed")
        return end + 1
    return _braced(text, position, source)[1]


def _braced(text: str, position: int, source: str) -> tuple[str, int]:
    """The text inside the braces that open at ``position`` (nested braces kept) and the position after.
    As BibTeX does, every brace counts, a backslash before it or not."""
    depth = 0
    for index in range(position, len(text)):
        if text[index] == "{":
            depth += 1
        elif text[index] == "}":
            depth -= 1
            if depth == 0:
                return text[position + 1:index], index + 1
    raise _error(text, position, source, "'{' is not closed")


def _value(text: str, position: int, source: str) -> tuple[str, bool, int]:
    """A field's value (parts joined by ``#`` concatenated), whether it was bare, and the position after."""
    parts: list[str] = []
    bare = True
    while True:
        if position >= len(text):
            raise _error(text, position, source, "a field has no value")
        char = text[position]
        if char == "{":
            part, position = _braced(text, position, source)
            bare = False
        elif char == '"':
            end = position + 1
            depth = 0
            while end < len(text) and not (text[end] == '"' and depth == 0):
                depth += {"{": 1, "}": -1}.get(text[end], 0)
                end += 1
            if end >= len(text):
                raise _error(text, position, source, "'\"' is not closed")
            part, position = text[position + 1:end], end + 1
            bare = False
        else:
            word = _NAME.match(text, position)
            if word is None:
                raise _error(text, position, source, "expected a value ({…}, \"…\", a number or a macro)")
            part, position = word.group(), word.end()
        parts.append(part)
        position = _space(text, position)
        if position < len(text) and text[position] == "#":
            position = _space(text, position + 1)
            continue
        return "".join(parts), bare and len(parts) == 1, position


def _error(text: str, position: int, source: str, problem: str) -> BibError:
    return BibError(f"{source}:{text.count(chr(10), 0, position) + 1}: {problem}")


# ------------------------------------------------------------------------------------- plain text

_ACCENTS = {"'": "\u0301", "`": "\u0300", "^": "\u0302", '"': "\u0308", "~": "\u0303", "=": "\u0304",
            ".": "\u0307", "c": "\u0327", "v": "\u030c", "u": "\u0306", "H": "\u030b", "k": "\u0328"}
_SYMBOLS = {r"\ss": "ß", r"\o": "ø", r"\O": "Ø", r"\aa": "å", r"\AA": "Å", r"\ae": "æ", r"\AE": "Æ",
            r"\l": "ł", r"\L": "Ł", r"\i": "ı", r"\&": "&", r"\%": "%", r"\_": "_", r"\$": "$", "--": "–", "~": " "}


def plain(value: str) -> str:
    """A BibTeX value as plain text: accents as Unicode, braces dropped, white space collapsed."""
    def accent(match: re.Match) -> str:
        letter = match.group(2) or match.group(3)
        letter = "ı" if letter == r"\i" else letter
        return unicodedata.normalize("NFC", letter + _ACCENTS[match.group(1)])

    text = re.sub(r"\\([`'^\"~=.])\s*(?:\{(\\i|[A-Za-z])\}|(\\i|[A-Za-z]))", accent, value)
    text = re.sub(r"\\([cvuHk])\s*(?:\{(\\i|[A-Za-z])\}|\s(\\i|[A-Za-z]))", accent, text)
    for command, symbol in _SYMBOLS.items():
        text = re.sub(re.escape(command) + (r"(?![A-Za-z])" if command[-1].isalpha() else ""), symbol, text)
    text = text.replace("{", "").replace("}", "")
    return " ".join(text.split())


def _authors(value: str) -> str:
    names = []
    for name in re.split(r"\s+and\s+", value.strip()) if value.strip() else []:
        if "," in name:
            last, _, first = name.partition(",")
            name = f"{first.strip()} {last.strip()}"
        names.append(plain(name))
    if names and names[-1] == "others":
        return ", ".join(names[:-1]) + " et al."
    if len(names) <= 2:
        return " and ".join(names)
    return ", ".join(names[:-1]) + ", and " + names[-1]


def _venue(entry: Entry) -> str:
    for name in ("booktitle", "journal"):
        if entry.get(name):
            venue = plain(entry.get(name))
            if name == "journal" and entry.get("volume"):
                venue += f" {plain(entry.get('volume'))}"
            return venue
    if entry.get("eprint") and (entry.get("archiveprefix") or entry.get("eprinttype") or "").lower() == "arxiv":
        return f"arXiv:{plain(entry.get('eprint'))}"
    if entry.type == "software" and entry.get("version"):
        return f"Software, version {plain(entry.get('version'))}"
    for name in ("howpublished", "publisher", "institution", "organization", "school"):
        if entry.get(name):
            return plain(entry.get(name))
    return ""


# ----------------------------------------------------------------------------------- what to cite

@dataclass(frozen=True)
class Wanted:
    """Something to cite: ``what`` (task, model, leaderboard, study), its name, and the plugin that
    registered it (None: no installed plugin does)."""

    what: str
    name: str
    plugin: str | None

    @property
    def missing_line(self) -> str:
        where = f"plugin {self.plugin}" if self.plugin else "not installed"
        return f"no BibTeX entry for {self.what} {self.name} ({where})"


@dataclass
class Citations:
    """The entries to cite, each once, in order (xharness and the protocol first, then tasks,
    leaderboards, models), what has none, and the ``citations.bib`` files that could not be read."""

    entries: list[Entry] = field(default_factory=list)
    missing: list[Wanted] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def keys(self) -> list[str]:
        return [entry.key for entry in self.entries]

    def comment_lines(self) -> list[str]:
        return [f"% {wanted.missing_line}" for wanted in self.missing] + \
               [f"% unreadable: {problem}" for problem in self.problems]

    def bibtex(self) -> str:
        parts = [entry.bibtex() for entry in self.entries]
        comments = self.comment_lines()
        return "\n\n".join(parts + (["\n".join(comments)] if comments else [])) + "\n"

    def text(self) -> str:
        lines = [f"[{number}] {entry.text()}" for number, entry in enumerate(self.entries, start=1)]
        return "\n".join(lines + self.comment_lines()) + "\n"


_CACHE: dict[tuple[str, tuple[int, int] | None], tuple[list[Entry], str | None]] = {}


def package_entries(package: str | None) -> tuple[list[Entry], str | None]:
    """The entries of a top-level package's ``citations.bib`` (none when it ships none) and the
    problem reading it, if any. Read once a process while the file is unchanged."""
    from importlib.resources import files

    if not package or package == "__main__":
        return [], None
    try:
        resource = files(package).joinpath(FILENAME)
        if not resource.is_file():
            return [], None
        stamp = _mtime(resource)
        if (package, stamp) not in _CACHE or stamp is None:
            text = resource.read_text(encoding="utf-8")
            try:
                _CACHE[(package, stamp)] = (parse(text, source=f"{package}/{FILENAME}"), None)
            except BibError as exc:
                _CACHE[(package, stamp)] = ([], str(exc))
        return _CACHE[(package, stamp)]
    except (ImportError, ValueError, TypeError, OSError, UnicodeDecodeError) as exc:
        return [], f"{package}/{FILENAME}: {exc}"


def _mtime(resource: Any) -> tuple[int, int] | None:
    """The file's modification time and size (None where it is not a plain file, as in a zip)."""
    try:
        import os

        found = os.stat(str(resource))
        return found.st_mtime_ns, found.st_size
    except (OSError, TypeError):
        return None


def plugin_package(registry: Any, plugin: str | None) -> str | None:
    """The top-level package of a registered plugin (where its ``citations.bib`` lies)."""
    info = registry.plugins.get(plugin) if plugin else None
    module = getattr(info, "module", None)
    return module.split(".")[0] if module else None


def entries_for(registry: Any, what: str, name: str, plugin: str | None) -> list[Entry]:
    """The entries of ``plugin``'s package that cite ``what:name``."""
    entries, _ = package_entries(plugin_package(registry, plugin))
    return [entry for entry in entries if f"{what}:{name}" in entry.cites]


def _plugin_of(registry: Any, what: str, name: str) -> str | None:
    if what == "task":
        found = [table[name] for table in registry.tasks.values() if name in table]
    else:
        table = {"model": registry.models, "leaderboard": registry.leaderboards, "study": registry.studies,
                 "translations": registry.translations}[what]
        found = [table[name]] if name in table else []
    return found[0].plugin if found else None


def leaderboards_of(registry: Any, tasks: Iterable[str]) -> list[str]:
    """The registered leaderboards that contain any of ``tasks``, by name."""
    tasks = set(tasks)
    return sorted(name for name, item in registry.leaderboards.items() if tasks & {t.name for t in item.spec.tasks})


def collect(registry: Any, *, tasks: Iterable[str] = (), models: Iterable[str] = (),
            leaderboards: Iterable[str] | None = None, studies: Iterable[str] = (),
            core_versions: Iterable[str] = (), translations: Iterable[str] = ()) -> Citations:
    """The citations for ``tasks`` (both roles), ``models``, ``studies`` and ``leaderboards``
    (default: those that contain one of the tasks), plus the core's ``always`` entries (the protocol
    paper, xharness). Names no installed plugin registers are listed as missing, never an error.
    ``core_versions``: the xharness versions that made the runs cited; xharness's own entry names
    them (default: the version its file names, this one's)."""
    tasks = list(dict.fromkeys(tasks))
    if leaderboards is None:
        leaderboards = leaderboards_of(registry, tasks)
    wanted = [Wanted(what, name, _plugin_of(registry, what, name))
              for what, names in (("task", tasks), ("leaderboard", leaderboards), ("model", models),
                                  ("study", studies), ("translations", translations))
              for name in dict.fromkeys(names)]
    found = Citations()
    seen: dict[str, Entry] = {}
    packages = ["harness"] + [plugin_package(registry, w.plugin) for w in wanted]
    for package in dict.fromkeys(p for p in packages if p):
        problem = package_entries(package)[1]
        if problem:
            found.problems.append(problem)

    def add(entry: Entry) -> None:
        if entry.key not in seen:  # the same key from two packages: the first one is printed
            seen[entry.key] = entry
            found.entries.append(entry)

    versions = ", ".join(sorted(set(core_versions)))
    for entry in package_entries("harness")[0]:
        if ALWAYS in entry.cites:
            if versions and entry.type == "software" and entry.get("version") is not None:
                entry = replace(entry, fields=tuple((k, versions if k == "version" else v) for k, v in entry.fields))
            add(entry)
    for item in wanted:
        entries = entries_for(registry, item.what, item.name, item.plugin) if item.plugin else []
        for entry in entries:
            add(entry)
        if not entries:
            found.missing.append(item)
    return found


def for_records(registry: Any, records: Iterable[Mapping[str, Any]]) -> Citations:
    """The citations for runs (their ``results.json`` records): their intermediate and target tasks,
    their backbones, the leaderboards that contain their tasks, the protocol paper and xharness (at
    the versions that made the runs, ``versions.core``)."""
    inter: set[str] = set()
    targets: set[str] = set()
    models: set[str] = set()
    versions: set[str] = set()
    translated: set[str] = set()
    for record in records:
        transfer = ((record.get("hyperparameters") or {}).get("target") or {}).get("transfer")
        if isinstance(transfer, Mapping) and str(transfer.get("setting", "")).startswith("translate-") \
                and record.get("target_task"):
            translated.add(record["target_task"])  # the run read that task's translations
        core = (record.get("versions") or {}).get("core")
        if isinstance(core, str):
            versions.add(core)
        inter.update(record.get("intermediate_tasks") or [])
        if record.get("target_task"):
            targets.add(record["target_task"])
        model = record.get("model")
        name = model.get("name") if isinstance(model, Mapping) else model
        if name:
            models.add(name)
    return collect(registry, tasks=[*sorted(inter), *sorted(targets - inter)], models=sorted(models),
                   core_versions=versions, translations=sorted(translated))
