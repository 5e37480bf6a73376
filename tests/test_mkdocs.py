"""The documentation stays whole: the site (mkdocs.yml over docs/) builds with no warning, every page
of docs/ is in its nav, and CONTRIBUTING.md's "## Layout" lists the core's modules as they are.

The site build needs mkdocs-material (the `test` extra); where it is not installed the build test is
skipped, unless CI is set (then it fails, as a missing ../shared does)."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"
HARNESS = REPO / "harness"
#: Subpackages whose modules the layout need not list, one by one (the folder itself must be listed).
MODULES_NOT_LISTED: set[str] = set()
IGNORED = {"__init__.py", "__main__.py", "__pycache__"}


def _need_mkdocs() -> None:
    missing = [name for name in ("mkdocs", "material") if importlib.util.find_spec(name) is None]
    if missing:
        message = f"not installed: {', '.join(missing)} (pip install -e '.[test]')"
        if os.environ.get("CI"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)


def test_the_site_builds_without_a_warning(tmp_path):
    """`mkdocs build --strict`: a broken link, a missing snippet or a page left out of the nav fails."""
    _need_mkdocs()
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file", str(REPO / "mkdocs.yml"),
                           "--site-dir", str(tmp_path / "site")],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    output = done.stdout + done.stderr
    warnings = [line for line in output.splitlines() if line.startswith(("WARNING", "ERROR"))]
    assert done.returncode == 0 and not warnings, f"mkdocs build --strict failed:\n{output}"
    assert (tmp_path / "site" / "index.html").is_file()


def _nav_pages() -> set[str]:
    text = (REPO / "mkdocs.yml").read_text(encoding="utf-8")
    nav = text[text.index("\nnav:"):]
    return set(re.findall(r"([\w./-]+\.md)\s*$", nav, re.M))


def test_every_page_of_docs_is_in_the_nav():
    pages = {path.relative_to(DOCS).as_posix() for path in DOCS.rglob("*.md")}
    nav = _nav_pages()
    assert not pages - nav, f"pages of docs/ missing from the nav in mkdocs.yml: {sorted(pages - nav)}"
    assert not nav - pages, f"mkdocs.yml's nav names pages docs/ does not have: {sorted(nav - pages)}"


def _layout_block() -> list[str]:
    text = (REPO / "CONTRIBUTING.md").read_text(encoding="utf-8")
    found = re.search(r"^## Layout\n(.*?)^```\n(.*?)^```", text, re.S | re.M)
    assert found, 'CONTRIBUTING.md has no code block under "## Layout"'
    return found.group(2).splitlines()


def listed_under_harness() -> set[str]:
    """Paths (relative to harness/, folders ending in /) of the entries nested under `harness/`.

    An entry is `<indent><path>  <description>`, its indentation two spaces per level; a line indented
    as far as the descriptions (or further) continues the description above it."""
    lines = _layout_block()
    top = next((line for line in lines if line.startswith("harness/")), None)
    assert top, 'the "## Layout" block of CONTRIBUTING.md has no `harness/` line'
    description_column = len(top) - len(top[len("harness/"):].lstrip())
    entries: set[str] = set()
    parents: list[str] = []   # the folder at each level under harness/
    inside = False
    for line in lines:
        indent = len(line) - len(line.lstrip(" "))
        if not line.strip() or (inside and indent >= description_column):
            continue  # a blank line, or a description's next line
        if indent == 0:
            inside = line.startswith("harness/")
            continue
        if not inside:
            continue
        assert indent % 2 == 0, f"CONTRIBUTING.md layout: odd indentation in {line!r}"
        level = indent // 2
        assert level <= len(parents) + 1, f"CONTRIBUTING.md layout: {line!r} is nested under no folder"
        name = line.split()[0]
        parents = parents[:level - 1]
        path = "".join(parents) + name
        entries.add(path)
        if name.endswith("/"):
            parents.append(name)
    return entries


def on_disk(folder: Path, prefix: str = "") -> set[str]:
    """The modules and subpackages the layout must list, relative to harness/ (folders end in /)."""
    wanted: set[str] = set()
    for path in sorted(folder.iterdir()):
        if path.name in IGNORED or path.name.startswith("."):
            continue
        if path.is_dir() and (path / "__init__.py").is_file():
            wanted.add(f"{prefix}{path.name}/")
            if f"{prefix}{path.name}" not in MODULES_NOT_LISTED:
                wanted |= on_disk(path, f"{prefix}{path.name}/")
        elif path.suffix == ".py":
            wanted.add(f"{prefix}{path.name}")
    return wanted


def test_contributing_layout_matches_the_tree():
    listed = listed_under_harness()
    missing_on_disk = sorted(entry for entry in listed if not (HARNESS / entry.rstrip("/")).exists())
    assert not missing_on_disk, f"CONTRIBUTING.md's layout lists what harness/ does not have: {missing_on_disk}"
    not_listed = sorted(on_disk(HARNESS) - listed)
    assert not not_listed, f"CONTRIBUTING.md's layout does not list these modules or subpackages: {not_listed}"
