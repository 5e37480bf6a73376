"""docs/tutorial.md stays true: its `$ ` commands are read from the text and run, in a fresh virtual
environment, against the finished plugin in examples/xharness-americasnli (which stands for the
steps that edit files by hand), and its code blocks are the plugin's code.

Command mapping, so nothing is downloaded: `xharness ...` runs as `python -m harness ...`;
`pip install -e X` as `python -m pip install --no-deps --no-build-isolation --no-index -q -e X`;
a run with `--preset smoke` gets `--output` in the test's folder; runs that need the full data or a
GPU are not run, but every task and model they name must be installed."""

from __future__ import annotations

import json
import re
import shlex
import shutil
from pathlib import Path

import pytest
from freshenv import fresh_venv, run_in

REPO = Path(__file__).resolve().parent.parent
TUTORIAL = REPO / "docs" / "tutorial.md"
EXAMPLE = REPO / "examples" / "xharness-americasnli"
MODULE = EXAMPLE / "xharness_americasnli" / "__init__.py"
LANGUAGES = ("aym", "bzd", "cni", "gn", "hch", "nah", "oto", "quy", "shp", "tar")


#: Where the tutorial's own kind (section 12) lives; its code blocks are that plugin's code.
KIND_SECTION = "## 12. A task kind of your own"
KIND_EXAMPLE = REPO / "examples" / "xharness-sts" / "xharness_sts"


def blocks(language: str, section: str = "task") -> list[str]:
    """The ``language`` code blocks of the task plugin's sections (1-11) or of the kind's (12)."""
    text = TUTORIAL.read_text(encoding="utf-8")
    before, _, after = text.partition(KIND_SECTION)
    return re.findall(rf"^```{language}\n(.*?)^```", before if section == "task" else after, re.S | re.M)


def commands() -> list[list[str]]:
    return [shlex.split(line[2:]) for block in blocks("console") for line in block.splitlines() if line.startswith("$ ")]


def test_the_tutorial_is_linked_and_has_its_commands():
    assert "(docs/tutorial.md)" in (REPO / "README.md").read_text(encoding="utf-8")
    found = [" ".join(c[:2]) for c in commands()]
    for wanted in ("xharness new-plugin", "pip install", "xharness list", "xharness run", "python -m"):
        assert wanted in found, f"docs/tutorial.md lost its `{wanted}` step"


@pytest.mark.parametrize("section, files", [("task", [MODULE]),
                                             ("kind", sorted(KIND_EXAMPLE.glob("*.py")))])
def test_code_blocks_are_the_plugins_code(section, files):
    """Each line of each python block is a line of the finished plugin (so the text cannot drift):
    sections 1-11 of examples/xharness-americasnli, section 12 of examples/xharness-sts."""
    lines = {line.rstrip() for path in files for line in path.read_text(encoding="utf-8").splitlines()}
    shown = blocks("python", section)
    assert shown, f"docs/tutorial.md lost its {section} code blocks"
    for block in shown:
        missing = [line for line in block.splitlines() if line.strip() and line.rstrip() not in lines]
        assert not missing, f"docs/tutorial.md shows code that {', '.join(str(f.relative_to(REPO)) for f in files)} " \
            f"does not have:\n" + "\n".join(missing)


def _value(command: list[str], option: str) -> list[str]:
    return command[command.index(option) + 1].split(",") if option in command else []


@pytest.mark.slow
def test_the_tutorials_commands_run(tmp_path):
    python, env = fresh_venv(tmp_path)
    work = tmp_path / "work"  # a repository root holding a copy of the finished example
    shutil.copytree(EXAMPLE, work / "examples" / EXAMPLE.name,
                    ignore=shutil.ignore_patterns("*.egg-info", "__pycache__", ".pytest_cache", "build"))
    scratch = tmp_path / "scratch"  # where the template is written afresh
    scratch.mkdir()
    listed = None
    not_run = []
    for command in commands():
        text = " ".join(command)
        if command[:2] == ["xharness", "new-plugin"]:
            args = command[1:]
            args[args.index("--output") + 1] = str(scratch / args[args.index("--output") + 1])
            run_in(python, ["-m", "harness", *args], env, scratch)
            generated = scratch / "examples" / EXAMPLE.name
            assert (generated / "xharness_americasnli" / "__init__.py").is_file()
            assert (generated / "tests" / "test_plugin.py").is_file()
            # the finished pyproject.toml is the template's with its description filled in
            changed = set((generated / "pyproject.toml").read_text().splitlines()) ^ \
                set((EXAMPLE / "pyproject.toml").read_text().splitlines())
            assert all(line.startswith("description = ") for line in changed), changed
        elif command[0] == "python" and command[1].endswith("make_samples.py"):
            run_in(python, command[1:], env, work)
            written = work / "examples" / EXAMPLE.name / "xharness_americasnli" / "samples"
            shipped = EXAMPLE / "xharness_americasnli" / "samples"
            files = sorted(p.relative_to(shipped) for p in shipped.rglob("*") if p.is_file())
            assert files == sorted(p.relative_to(written) for p in written.rglob("*") if p.is_file())
            assert all((written / f).read_bytes() == (shipped / f).read_bytes() for f in files), \
                "tools/make_samples.py no longer writes the shipped samples"
        elif command[:3] == ["pip", "install", "-e"]:
            run_in(python, ["-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index", "-q",
                          "-e", command[3]], env, work)
        elif command[:2] == ["xharness", "list"]:
            shown = run_in(python, ["-m", "harness", *command[1:]], env, work).stdout
            for name in ("americasnli", "xharness-americasnli", "xlmr-americas", "FacebookAI/xlm-roberta-base"):
                assert name in shown, f"`{text}` does not show {name}:\n{shown}"
            listed = json.loads(run_in(python, ["-m", "harness", "list", "--json"], env, work).stdout)
            plugin = next(p for p in listed["plugins"] if p["name"] == "xharness-americasnli")
            assert plugin["ok"] and plugin["distribution"] == "xharness-americasnli", plugin
        elif command[:2] == ["xharness", "run"] and "--preset" in command and _value(command, "--preset") == ["smoke"]:
            shown = run_in(python, ["-m", "harness", *command[1:], "--output", str(tmp_path / "runs")], env, work).stdout
            record = json.loads(next((tmp_path / "runs" / "runs").glob("*/results.json")).read_text())
            assert record["target_task"] == "americasnli"
            assert sorted(record["scores"]["per_language"]) == sorted(LANGUAGES)
            assert all(lang in shown for lang in LANGUAGES), shown
        elif command[:3] == ["python", "-m", "pytest"]:
            shown = run_in(python, [*command[1:], "-p", "no:cacheprovider"], env, work).stdout
            assert re.search(r"\b\d+ passed\b", shown) and "failed" not in shown, shown
        elif command[0] == "xharness" and command[1] in ("run", "sweep"):
            not_run.append(command)  # full data and a GPU; what it names must be installed
        else:
            pytest.fail(f"docs/tutorial.md has a command this test does not know how to check: {text}")
    assert listed is not None, "the tutorial never lists the plugins"
    targets = {t["name"] for t in listed["tasks"] if t["role"] == "target"}
    intermediate = {t["name"] for t in listed["tasks"] if t["role"] == "intermediate"} | {"none"}
    models = {m["name"] for m in listed["models"]}
    assert not_run, "the tutorial shows no real run"
    for command in not_run:
        assert set(_value(command, "--target")) <= targets, command
        assert set(_value(command, "--inter")) <= intermediate, command
        assert set(_value(command, "--model")) <= models, command
