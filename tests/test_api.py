"""harness.api is the one public surface: plugins (and what `xharness new-plugin` writes) import
nothing else from harness (their tests: harness.testing too), importing it loads neither torch nor
datasets, every name it lists resolves, and a notebook's run/report give typed results."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ALLOWED = {"harness.api"}
ALLOWED_IN_TESTS = {"harness.api", "harness.testing"}


def core_imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import of a harness module (``import harness.x``, ``from harness.x
    import ...``, ``from harness import ...``) in one file, at any depth."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and \
                node.module.split(".")[0] == "harness":
            found.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0] == "harness"]
    return found


def offending(paths, allowed) -> list[str]:
    return [f"{p.relative_to(ROOT) if p.is_relative_to(ROOT) else p}:{line}: {module}" for p in paths
            for line, module in core_imports(p) if module not in allowed]


def test_bundled_plugins_import_only_the_api():
    files = sorted([*ROOT.glob("plugins/*/xharness_*/**/*.py"), *ROOT.glob("plugins/*/tools/*.py"),
                    *ROOT.glob("examples/*/xharness_*/**/*.py"), *ROOT.glob("examples/*/tools/*.py")])
    assert len(files) > 25
    assert not offending(files, ALLOWED), "plugins importing harness internals:\n" + "\n".join(offending(files, ALLOWED))
    tests = sorted(ROOT.glob("examples/*/tests/*.py"))
    assert tests and not offending(tests, ALLOWED_IN_TESTS)


def test_the_checker_sees_every_spelling(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import harness.contract.spec\nfrom harness import TaskSpec\ndef f():\n    from harness.contract.errors import UserError\n"
                   "from harness.api import TaskSpec\n")
    assert sorted(core_imports(bad)) == [(1, "harness.contract.spec"), (2, "harness"), (4, "harness.contract.errors"), (5, "harness.api")]
    assert len(offending([bad], ALLOWED)) == 3


@pytest.mark.parametrize("kind", ["classification", "multiple_choice", "tagging"])
def test_scaffolded_plugins_import_only_the_api(tmp_path, kind):
    from harness.authoring import scaffold

    folder = scaffold.new_plugin("xharness-apitest", tmp_path, role="target", kind=kind, model=True, study=True)
    package = [p for p in folder.rglob("*.py") if "tests" not in p.parts]
    tests = [p for p in folder.rglob("*.py") if "tests" in p.parts]
    assert package and tests
    assert not offending(package, ALLOWED)
    assert not offending(tests, ALLOWED_IN_TESTS)
    # the core range has an upper bound, so the version guard protects the plugin; the API range is declared
    from packaging.requirements import Requirement
    import tomllib

    (requirement,) = tomllib.loads((folder / "pyproject.toml").read_text())["project"]["dependencies"]
    parsed = Requirement(requirement)
    assert parsed.name == "xtreme-harness" and "0.2.0" in parsed.specifier and "1.0" not in parsed.specifier
    assert 'XHARNESS_API = ">=1.0,<2"' in (folder / "xharness_apitest" / "__init__.py").read_text()


def test_every_listed_name_resolves_and_importing_the_api_stays_light():
    code = ("import sys, harness.api as api\n"
            "heavy = sorted(m for m in ('torch', 'transformers', 'datasets') if m in sys.modules)\n"
            "assert not heavy, heavy\n"
            "missing = [n for n in api.__all__ if getattr(api, n, None) is None]\n"
            "assert not missing, missing\n"
            "print(api.API_VERSION)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().count(".") == 1


def test_run_options_are_the_commands_options():
    """harness.api.run takes xharness run's options by name: the two lists are one."""
    from harness.cli import run_command
    from harness.cell.planning import RUN_OPTIONS

    cell = {p.name for p in run_command.params} - {"inter", "target", "model", "seed", "output", "data_dir", "preset",
                                                   "languages", "checkpoint_minutes", "keep_checkpoints", "no_wait",
                                                   "experiment", "trackers"}  # api.run's own parameters
    assert cell == set(RUN_OPTIONS)


def test_an_unknown_option_is_one_line():
    from harness import api

    with pytest.raises(api.UserError, match="unknown option.*lrr") as caught:
        api.run("none", "pawsx", preset="smoke", lrr=1e-5)
    assert "\n" not in str(caught.value)


def test_a_notebook_runs_a_cell_and_reports_it(tmp_path):
    from harness import api
    from harness.analysis.report import render

    result = api.run("none", "pawsx", preset="smoke", output=tmp_path / "runs", languages="en,de", target_epochs=1)
    assert isinstance(result, api.RunResult) and (result.folder / "results.json").is_file()
    assert set(result.scores) == {"en", "de"} and result.metric == "accuracy"
    assert all(0 <= v <= 100 for v in result.scores.values())
    again = api.run("none", "pawsx", preset="smoke", output=tmp_path / "runs", languages="en,de", target_epochs=1)
    assert again.folder == result.folder and again.scores == result.scores  # reused, as on the command line
    grid = api.sweep(["none"], ["pawsx"], preset="smoke", output=tmp_path / "runs", languages="en,de",
                     target_epochs=1, dry_run=True)
    assert grid.ok and list(grid.folders.values()) == [result.folder]
    shown = render(api.report([tmp_path / "runs"], resamples=0), "markdown")
    assert "pawsx" in shown


def test_a_plugin_written_for_another_api_major_version_is_reported_and_not_loaded():
    import types

    from harness.api import TaskSpec, hookimpl  # noqa: F401 (the plugin below is built from the API)
    from harness.contract.discovery import discover
    from xharness_xtreme.pawsx import PAWSX

    def plugin(api: str):
        module = types.ModuleType(f"future_{api.replace('.', '_').replace('>', '').replace('=', '')}")
        module.XHARNESS_API = api

        @hookimpl
        def register_target_tasks(register):
            register(__import__("dataclasses").replace(PAWSX, name="futurepaws"))

        module.register_target_tasks = register_target_tasks
        return module

    registry = discover(extra=[("future", plugin(">=2.0"))], autoload=False)
    info = registry.plugins["future"]
    assert not info.ok and "written for harness.api >=2.0" in str(info.error) and "futurepaws" not in registry.tasks["target"]
    assert discover(extra=[("now", plugin(">=1.0,<2"))], autoload=False).plugins["now"].ok
