"""Build the wheels and sdists of the core and of the bundled plugins into one folder (a wheelhouse).

Until the distributions are published on PyPI, this folder is where ``pip install "xtreme-harness[all]"``
finds them::

    pip install build                            # once (it is in the test extra too)
    python tools/build_dists.py --out wheelhouse
    pip install --find-links wheelhouse "xtreme-harness[all]"   # everything else comes from PyPI

Each project (the core at the repository root, plugins/xtreme, plugins/stilts, plugins/models,
plugins/studies) is copied to a temporary folder first, so the checkout gets no build/ or egg-info
folders, and built as ``python -m build`` does by default: its sdist, then the wheel from that sdist
(so a file the sdist leaves out cannot slip into the wheel from the checkout). ``--check`` runs
``twine check --strict`` on what was built.

usage: python tools/build_dists.py [--out DIR] [--no-isolation] [--check] [PROJECT ...]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: every distribution this repository publishes, as folders relative to ROOT (the core first)
PROJECTS = (".", "plugins/xtreme", "plugins/stilts", "plugins/models", "plugins/studies")
#: never copied into a build: outputs, caches, and at the root the folders no distribution is built from
#: (the core's sdist holds what its pyproject.toml and MANIFEST.in name: harness/, the README and the changelog)
_SKIP = {"__pycache__", ".pytest_cache", "build", "dist", "site", "xharness-runs", ".venv", ".git"}
_SKIP_AT_ROOT = {"plugins", "examples", "tests", "docs", "benchmarks", "tools", ".ci", "shared"}


def _ignore():
    def ignore(folder: str, names: list[str]) -> set[str]:
        skip = {n for n in names if n in _SKIP or n.endswith(".egg-info") or n.endswith((".pyc", ".pyo"))}
        if Path(folder).resolve() == ROOT:
            skip |= {n for n in names if n in _SKIP_AT_ROOT}
        return skip
    return ignore


def build_project(project: str, out: Path, *, isolation: bool = True) -> list[Path]:
    """Build one project's sdist and (from it) its wheel into ``out``; the paths of the two files."""
    source = (ROOT / project).resolve()
    before = set(out.glob("*"))
    with tempfile.TemporaryDirectory(prefix="xharness-build-") as tmp:
        copy = Path(tmp) / source.name
        shutil.copytree(source, copy, ignore=_ignore())
        command = [sys.executable, "-m", "build", "--outdir", str(out), str(copy)]
        if not isolation:
            command.insert(3, "--no-isolation")
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"error: building {project} failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
    return sorted(set(out.glob("*")) - before)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("projects", nargs="*", default=list(PROJECTS),
                        help="folders relative to the repository root (default: the core and the four plugins)")
    parser.add_argument("--out", type=Path, default=ROOT / "dist", help="where the files go (default: dist/)")
    parser.add_argument("--no-isolation", action="store_true",
                        help="build with this Python's setuptools instead of a fresh one in an isolated environment")
    parser.add_argument("--check", action="store_true", help="run twine check --strict on the built files")
    args = parser.parse_args(argv)
    try:
        import build  # noqa: F401
    except ImportError:
        parser.error("needs the 'build' package: pip install build (or the test extra: pip install -e '.[test]')")
    args.out.mkdir(parents=True, exist_ok=True)
    built = []
    for project in args.projects:
        files = build_project(project, args.out.resolve(), isolation=not args.no_isolation)
        built += files
        print(f"{project}: {', '.join(f.name for f in files)}")
    if args.check:
        done = subprocess.run([sys.executable, "-m", "twine", "check", "--strict", *map(str, built)])
        if done.returncode != 0:
            return done.returncode
    print(f"{len(built)} files in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
