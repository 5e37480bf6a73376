"""The package a user installs: the core (xtreme-harness) and the four bundled plugins build as wheels
and sdists that pass ``twine check``, carry their package data, and each say the version written once,
in its package's ``__version__``.

The wheels are built as ``tools/build_dists.py`` builds them for a wheelhouse (sdist first, the wheel
from it), without build isolation, so nothing is downloaded. Installing them into a fresh environment
(``pip install --find-links WHEELHOUSE "xtreme-harness[all]"``) downloads the dependencies and is
done by hand (README: Install).
"""

from __future__ import annotations

import ast
import importlib.util
import subprocess
import sys
import tarfile
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import build_dists  # noqa: E402

#: project folder -> its import package (the one whose __version__ is the distribution's version)
PACKAGES = {".": "harness", "plugins/xtreme": "xharness_xtreme", "plugins/stilts": "xharness_stilts",
            "plugins/models": "xharness_models", "plugins/studies": "xharness_studies"}
PLUGIN_EXTRAS = {"xtreme", "stilts", "models", "studies"}
TRACKER_EXTRAS = {"wandb", "mlflow", "tensorboard", "trackio"}


def _version(project: str) -> str:
    """The ``__version__ = "..."`` of the project's package, read from its source (as setuptools does)."""
    source = ROOT / project / PACKAGES[project] / "__init__.py"
    for node in ast.parse(source.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "__version__" for t in node.targets):
            return ast.literal_eval(node.value)
    raise AssertionError(f"no __version__ in {source}")


def _pyproject(project: str) -> dict:
    return tomllib.loads((ROOT / project / "pyproject.toml").read_text(encoding="utf-8"))


def _package_data(project: str) -> list[str]:
    """Every file in the project's package that is not Python code: what its wheel must carry besides."""
    package = ROOT / project / PACKAGES[project]
    return sorted(p.relative_to(package.parent).as_posix() for p in package.rglob("*")
                  if p.is_file() and "__pycache__" not in p.parts and p.suffix not in (".py", ".pyc"))


def test_each_version_is_written_once_and_xharness_version_prints_it():
    """pyproject.toml reads the version from the package (setuptools' dynamic ``attr``), never states
    it; ``xharness --version`` prints the core's."""
    for project, package in PACKAGES.items():
        data = _pyproject(project)
        assert "version" not in data["project"] and data["project"]["dynamic"] == ["version"], project
        assert data["tool"]["setuptools"]["dynamic"]["version"] == {"attr": f"{package}.__version__"}, project
        assert data["project"].get("readme") == "README.md" and (ROOT / project / "README.md").is_file(), project
    import harness

    assert harness.__version__ == _version(".")
    done = subprocess.run([sys.executable, "-m", "harness", "--version"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"xharness, version {harness.__version__}"


def test_the_extras_name_every_plugin_distribution_and_all_of_them():
    """``xtreme-harness[xtreme]`` (and stilts, models, studies) installs that plugin's distribution,
    named as in its own pyproject.toml; ``[all]`` is every plugin and tracker extra."""
    extras = _pyproject(".")["project"]["optional-dependencies"]
    for family in PLUGIN_EXTRAS:
        (requirement,) = extras[family]
        assert requirement.startswith(_pyproject(f"plugins/{family}")["project"]["name"] + ">="), requirement
    assert TRACKER_EXTRAS <= set(extras)
    (everything,) = extras["all"]
    named = set(everything.split("[", 1)[1].rstrip("]").split(","))
    assert everything.startswith("xtreme-harness[") and named == PLUGIN_EXTRAS | TRACKER_EXTRAS


@pytest.fixture(scope="session")
def dists(tmp_path_factory) -> dict[str, dict[str, Path]]:
    """project -> {"wheel": path, "sdist": path}, all five built once per worker."""
    out = tmp_path_factory.mktemp("wheelhouse")
    built = {}
    for project in PACKAGES:
        files = build_dists.build_project(project, out, isolation=False)
        (wheel,) = [f for f in files if f.suffix == ".whl"]
        (sdist,) = [f for f in files if f.name.endswith(".tar.gz")]
        built[project] = {"wheel": wheel, "sdist": sdist}
    return built


@pytest.mark.slow
def test_wheels_and_sdists_build_and_pass_twine_check(dists):
    assert importlib.util.find_spec("twine"), "twine is in the test extra: pip install -e '.[test]'"
    files = [str(f) for built in dists.values() for f in built.values()]
    done = subprocess.run([sys.executable, "-m", "twine", "check", "--strict", *files],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("PASSED") == 10, done.stdout
    for project, built in dists.items():
        metadata = Parser().parsestr(zipfile.ZipFile(built["wheel"]).read(
            next(n for n in zipfile.ZipFile(built["wheel"]).namelist() if n.endswith(".dist-info/METADATA"))
        ).decode("utf-8"))
        assert metadata["Name"] == _pyproject(project)["project"]["name"], project
        assert metadata["Version"] == _version(project), project
        assert built["wheel"].name.split("-")[1] == built["sdist"].name[:-len(".tar.gz")].rsplit("-", 1)[1] \
            == _version(project)
        assert metadata["Description-Content-Type"] == "text/markdown" and metadata.get_payload().strip(), project
    core = Parser().parsestr(zipfile.ZipFile(dists["."]["wheel"]).read(
        f"xtreme_harness-{_version('.')}.dist-info/METADATA").decode("utf-8"))
    assert set(core.get_all("Provides-Extra")) >= PLUGIN_EXTRAS | TRACKER_EXTRAS | {"all", "test"}


@pytest.mark.slow
def test_wheels_and_sdists_carry_the_package_data(dists):
    """Every file of a package that is not code (new-plugin's templates, report's reference tables,
    the plugins' bundled samples, the tiny model's tokenizer) is in its wheel and its sdist; the sdist
    builds the wheel on its own (build_dists builds the wheel from it)."""
    data = {project: _package_data(project) for project in PACKAGES}
    assert any(n.startswith("harness/authoring/templates/") and n.endswith(".tmpl") for n in data["."])
    assert "harness/authoring/templates/kinds/tagging/samples/test/de.conll" in data["."]
    assert any(n.startswith("harness/analysis/reference/") and n.endswith(".json") for n in data["."])
    assert "xharness_models/tiny_tokenizer.json" in data["plugins/models"]
    assert any(n.startswith("xharness_xtreme/samples/pawsx/") for n in data["plugins/xtreme"])
    assert any(n.startswith("xharness_stilts/samples/hellaswag/") for n in data["plugins/stilts"])
    for project, built in dists.items():
        in_wheel = set(zipfile.ZipFile(built["wheel"]).namelist())
        assert set(data[project]) <= in_wheel, (project, sorted(set(data[project]) - in_wheel)[:10])
        code = sorted(p.relative_to(ROOT / project).as_posix()
                      for p in (ROOT / project / PACKAGES[project]).rglob("*.py") if "__pycache__" not in p.parts)
        assert set(code) <= in_wheel, (project, sorted(set(code) - in_wheel)[:10])
        assert not any("__pycache__" in n or n.endswith(".pyc") for n in in_wheel), project
        with tarfile.open(built["sdist"]) as sdist:
            top = built["sdist"].name[:-len(".tar.gz")]
            in_sdist = {n[len(top) + 1:] for n in sdist.getnames()}
        assert set(data[project]) | set(code) | {"pyproject.toml", "README.md"} <= in_sdist, project
    with tarfile.open(dists["."]["sdist"]) as sdist:
        assert f"xtreme_harness-{_version('.')}/CHANGELOG.md" in sdist.getnames()
