"""docs/plugin-contract.md and docs/cli.md stay true to the code (tools/make_docs.py writes them)."""

import dataclasses
import difflib
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
GENERATOR = REPO / "tools" / "make_docs.py"

_spec = importlib.util.spec_from_file_location("make_docs", GENERATOR)
make_docs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_docs)

#: The spec classes a plugin registers (or nests in one); more may be added, none may go missing.
SPEC_CLASSES = {"TaskSpec", "HubSource", "LocalSource", "KindSpec", "ModelSpec", "Leaderboard",
                "LeaderboardTask", "StudySpec"}

#: Commands the CLI reference must show; commands added later are picked up by the walk.
COMMANDS = {"xharness", "xharness list", "xharness run", "xharness sweep", "xharness report", "xharness score",
            "xharness export", "xharness study", "xharness study list", "xharness study run", "xharness study analyse"}


@pytest.fixture(scope="module")
def rendered() -> dict[str, str]:
    return make_docs.render()


def test_every_hook_and_spec_field_is_documented():
    missing = make_docs.missing_docs()
    assert not missing, "undocumented parts of the plugin contract:\n  " + "\n  ".join(missing)


def test_the_generator_sees_every_hook_and_spec_class():
    from harness.contract import hookspecs

    hooks = {name for name, _ in make_docs.hooks()}
    assert hooks >= {"register_intermediate_tasks", "register_target_tasks", "register_models",
                     "register_leaderboards", "register_task_kinds", "register_studies"}
    assert hooks == {name for name in vars(hookspecs) if name.startswith("register_")}
    classes = {cls.__name__ for cls in make_docs.spec_classes()}
    assert classes >= SPEC_CLASSES, f"spec classes not found: {sorted(SPEC_CLASSES - classes)}"
    for name, hook in make_docs.hooks():
        assert make_docs.registered_class(hook) in classes, f"{name}: what its register() takes is not found"
    assert all(not when.startswith("never") for when in make_docs.call_order().values()), make_docs.call_order()


def test_parse_params_joins_continuation_lines_and_stops_at_the_next_entry():
    doc = """Summary.

    :param a: first line
        second line.
    :param b: only line.

    Not part of b.
    """
    assert make_docs.parse_params(doc) == {"a": "first line second line.", "b": "only line."}
    assert make_docs.prose(doc) == "Summary.\n\nNot part of b."


def test_the_contract_shows_every_field_with_its_type(rendered):
    text = rendered["plugin-contract.md"]
    for cls in make_docs.spec_classes():
        assert f"### {cls.__name__}\n" in text
        for field in dataclasses.fields(cls):
            assert f"- **`{field.name}`** (`{make_docs.field_type(field)}`," in text, f"{cls.__name__}.{field.name}"
    for name in ("XHARNESS_PLUGINS", "XHARNESS_DISABLE_PLUGIN_AUTOLOAD", "[project.entry-points.xharness]"):
        assert name in text


def test_the_cli_reference_walks_every_command(rendered):
    paths = {path for path, _, _ in make_docs.commands()}
    assert paths >= COMMANDS, f"commands not found: {sorted(COMMANDS - paths)}"
    for path in paths:
        assert f"\n## {path}\n\n```text\nUsage: {path} " in rendered["cli.md"], path


@pytest.mark.parametrize("name", ["plugin-contract.md", "cli.md"])
def test_committed_docs_match_the_generator(rendered, name):
    path = REPO / "docs" / name
    committed = path.read_text(encoding="utf-8") if path.exists() else ""
    if committed != rendered[name]:
        diff = list(difflib.unified_diff(committed.splitlines(), rendered[name].splitlines(),
                                         f"docs/{name} (committed)", f"docs/{name} (generated)", lineterm="", n=1))
        shown = "\n".join(diff[:40]) + ("\n..." if len(diff) > 40 else "")
        pytest.fail(f"docs/{name} is out of date: run python tools/make_docs.py\n{shown}", pytrace=False)


def test_the_generator_imports_no_heavy_library():
    code = ("import importlib.util, sys\n"
            f"spec = importlib.util.spec_from_file_location('make_docs', {str(GENERATOR)!r})\n"
            "module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)\n"
            "module.render(); module.missing_docs()\n"
            "print(sorted(m for m in ('torch', 'transformers', 'datasets', 'accelerate') if m in sys.modules))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]", f"the generator imported {result.stdout.strip()}"
