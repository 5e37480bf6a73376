"""`xharness new-plugin`: the package it writes keeps the plugin contract for every kind and role,
and — installed into a fresh virtual environment — shows in `xharness list`, runs under
`--preset smoke` and passes its own generated tests. Nothing is downloaded: the fresh environment
reuses this one's packages through a `.pth` file, and pip installs with `--no-index --no-deps`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from freshenv import fresh_venv, run_in

from harness.authoring import scaffold
from harness.cli import cli


# -- in-process: names, errors, every kind and role ------------------------------------------------

def test_names_follow_the_package_conventions():
    names = scaffold.names_for("xharness-my-task")
    assert (names.distribution, names.module, names.task) == ("xharness-my-task", "xharness_my_task", "my_task")
    assert scaffold.names_for("MyNLI").task == "mynli"


@pytest.mark.parametrize("args, problem", [
    (["new-plugin", "bad name"], "plugin name 'bad name' is not valid"),
    (["new-plugin", "xharness-"], "is not valid"),
    (["new-plugin", "xharness"], "names no task"),
    (["new-plugin", "xharness-qa", "--kind", "span_qa"],
     "--kind 'span_qa' is not supported by new-plugin; supported kinds: classification, multiple_choice, tagging"),
])
def test_bad_requests_are_one_line_errors(tmp_path, args, problem):
    result = CliRunner().invoke(cli, [*args, "--output", str(tmp_path)])
    assert result.exit_code == 1, result.output
    assert result.output.startswith("error: ") and problem in result.output
    assert result.output.count("\n") == 1, result.output
    assert not any(tmp_path.iterdir())  # nothing written


def test_an_existing_non_empty_folder_is_refused(tmp_path):
    (tmp_path / "xharness-taken").mkdir()
    (tmp_path / "xharness-taken" / "mine.txt").write_text("keep me")
    result = CliRunner().invoke(cli, ["new-plugin", "xharness-taken", "--output", str(tmp_path)])
    assert result.exit_code == 1 and result.output.count("\n") == 1
    assert "already exists and is not empty" in result.output
    assert sorted(p.name for p in (tmp_path / "xharness-taken").iterdir()) == ["mine.txt"]
    (tmp_path / "xharness-empty").mkdir()  # an empty folder is fine
    assert CliRunner().invoke(cli, ["new-plugin", "xharness-empty", "--output", str(tmp_path)]).exit_code == 0


@pytest.mark.parametrize("role", scaffold.ROLES)
@pytest.mark.parametrize("kind", scaffold.template_kinds())
def test_every_kind_and_role_keeps_the_contract(tmp_path, monkeypatch, kind, role):
    """The generated module registers its task, backbone alias and study, and its samples read and
    featurise (harness.testing's checks without the smoke run, which the fresh-venv test does)."""
    import importlib

    from harness.grids import study
    from harness.contract.discovery import discover
    from harness.testing import check_plugin

    name = f"xharness-gen-{kind.replace('_', '-')}-{role}"
    result = CliRunner().invoke(cli, ["new-plugin", name, "--task", role, "--kind", kind, "--model", "--study",
                                      "--output", str(tmp_path)])
    assert result.exit_code == 0, result.output
    folder = tmp_path / name
    names = scaffold.names_for(name)
    assert f'{name} = "{names.module}"' in (folder / "pyproject.toml").read_text()
    monkeypatch.syspath_prepend(str(folder))
    module = importlib.import_module(names.module)
    try:
        assert check_plugin(module, name=name) == []
        registry = discover(extra=[(name, module)], autoload=False)
        spec = registry.task(role, names.task).spec
        assert spec.kind == kind and registry.model(names.model).spec.hub_id == "org/model"
        languages = ("en", "de", "es") if role == "target" else ("en",)
        assert spec.languages == languages
        samples = sorted(str(p.relative_to(spec.samples)) for p in spec.samples.rglob("*.*"))
        expected = ["train/en", "dev/en"] + [f"{s}/{lang}" for lang in languages[1:] for s in ("dev", "test")]
        expected += ["test/en"] if role == "target" else []
        suffix = ".conll" if kind == "tagging" else ".tsv"
        assert samples == sorted(e + suffix for e in expected)
        grids = study.load(registry.study(names.task)).grids(study.StudyOptions(preset="smoke"), registry)
        assert [g.target for g in grids] == ([[names.task]] if role == "target" else [])
        readme = (folder / "README.md").read_text()
        assert "tests/test_plugin.py" in readme and "MODEL_HUB_ID" in readme and "study.py" in readme
    finally:
        for loaded in [m for m in sys.modules if m == names.module or m.startswith(names.module + ".")]:
            del sys.modules[loaded]


# -- a fresh virtual environment: install, list, smoke run, the generated tests ----------------------

PLUGINS = {"plain": ("xharness-newtask", []), "model": ("xharness-newtask-model", ["--model"])}


@pytest.fixture(scope="session")  # per worker: a module xdist splits does not rebuild it
def installed(tmp_path_factory):
    root = tmp_path_factory.mktemp("new-plugin")
    python, env = fresh_venv(root)
    folders = {}
    for key, (name, flags) in PLUGINS.items():
        run_in(python, ["-m", "harness", "new-plugin", name, *flags, "--output", str(root / "plugins")], env, root)
        folders[key] = root / "plugins" / name
    editable = [arg for folder in folders.values() for arg in ("-e", str(folder))]
    run_in(python, ["-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index", "-q", *editable], env, root)
    listed = json.loads(run_in(python, ["-m", "harness", "list", "--json"], env, root).stdout)
    groups = json.loads(run_in(python, ["-c", "import json; from importlib.metadata import entry_points; "
                                            "print(json.dumps(sorted(e.name for e in entry_points(group='xharness'))))"],
                             env, root).stdout)
    return {"root": root, "python": python, "env": env, "folders": folders, "listed": listed, "groups": groups}


@pytest.mark.slow
@pytest.mark.parametrize("key", PLUGINS)
def test_generated_plugin_installs_lists_runs_and_passes_its_tests(installed, key):
    name, flags = PLUGINS[key]
    names = scaffold.names_for(name)
    python, env, root = installed["python"], installed["env"], installed["root"]

    # the project's own plugins (editable installs in this environment) and the new one are all found
    assert {"xtreme", "stilts", "models", name} <= set(installed["groups"]), installed["groups"]
    listed = installed["listed"]
    tasks = {t["name"]: t for t in listed["tasks"]}
    assert tasks[names.task]["plugin"] == name and tasks[names.task]["role"] == "target"
    assert tasks[names.task]["languages"] == ["en", "de", "es"]
    plugins = {p["name"]: p for p in listed["plugins"]}
    assert plugins[name]["ok"] and plugins[name]["version"] == "0.1.0", plugins[name]
    assert all(p["ok"] for p in listed["plugins"]), [p for p in listed["plugins"] if not p["ok"]]
    models = {m["name"]: m for m in listed["models"]}
    if "--model" in flags:
        assert models[names.model]["hub_id"] == "org/model" and models[names.model]["plugin"] == name
    else:
        assert names.model not in models

    if "--model" not in flags:  # both tasks come from one template, and each plugin's own tests smoke-run it:
        # one `xharness run` through the installed command is enough
        run = run_in(python, ["-m", "harness", "run", "--inter", "none", "--target", names.task, "--preset", "smoke",
                            "--output", str(root / "runs")], env, root, timeout=300)
        found = list((root / "runs" / "runs").glob(f"none__{names.task}__tiny__*/results.json"))
        assert len(found) == 1, run.stdout[-2000:]
        record = json.loads(found[0].read_text())
        assert set(record["scores"]["per_language"]) == {"en", "de", "es"}

    tests = run_in(python, ["-m", "pytest", "-q", "-p", "no:cacheprovider", str(installed["folders"][key] / "tests")],
                 env, installed["folders"][key], timeout=300)
    expected = 4 if "--model" in flags else 3
    assert f"{expected} passed" in tests.stdout, tests.stdout[-2000:]


def test_xharness_install_and_plugins_in_the_harness_environment(tmp_path):
    """`xharness install` runs pip with xharness's own Python and names the plugin it added; `xharness
    plugins` lists it (a fresh environment, the example plugin from this repository, nothing downloaded)."""
    python, env = fresh_venv(tmp_path)
    example = Path(__file__).resolve().parents[1] / "examples" / "xharness-americasnli"
    before = {p["name"] for p in json.loads(run_in(python, ["-m", "harness", "plugins", "--json"], env, tmp_path).stdout)}
    assert "xharness-americasnli" not in before
    done = run_in(python, ["-m", "harness", "install", "--no-deps", "--no-build-isolation", "--no-index", "-q",
                           "-e", str(example)], env, tmp_path)
    assert "plugin xharness-americasnli (xharness-americasnli 0.1.0): ok; provides" in done.stdout
    assert "target task:americasnli" in done.stdout
    listed = {p["name"]: p for p in json.loads(run_in(python, ["-m", "harness", "plugins", "--json"], env, tmp_path).stdout)}
    assert listed["xharness-americasnli"]["ok"]
    failed = subprocess.run([str(python), "-m", "harness", "install", "--no-index", "-q", "no-such-plugin-xyz"],
                            capture_output=True, text=True, env=env, cwd=tmp_path)
    assert failed.returncode == 1 and failed.stderr.strip().splitlines()[-1].startswith("error: pip install")


def test_the_scaffold_templates_ship_as_package_data():
    """new-plugin's templates are files (harness/authoring/templates: *.tmpl, and each template kind's
    folder with its samples), read from there; tests/test_packaging.py checks that the built wheel and
    sdist carry every one of them (every non-code file of the package)."""
    from harness.authoring import scaffold

    root = Path(__file__).resolve().parents[1]
    folder = root / "harness" / "authoring" / "templates"
    templates = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")
                       if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".py")
    assert "head.tmpl" in templates and "pyproject.tmpl" in templates
    assert {f"kinds/{kind}/kind.json" for kind in scaffold.template_kinds()} <= set(templates)
    assert "kinds/tagging/samples/test/de.conll" in templates
    assert scaffold.HEAD == (folder / "head.tmpl").read_text(encoding="utf-8")


@pytest.mark.parametrize("package", ["kind", "model"])
def test_a_kind_package_and_a_model_package_keep_the_contract(tmp_path, monkeypatch, package):
    """`--package kind` writes a task kind of its own (KindSpec + kind.py on harness.api) with a task of
    it, which the kit checks and smoke-runs as it does a built-in kind; `--package model` a backbone
    alias alone. Both import harness.api only (and harness.testing in their tests)."""
    import ast
    import importlib

    from harness.contract.discovery import discover
    from harness.testing import check_plugin

    name = f"xharness-gen{package}"
    result = CliRunner().invoke(cli, ["new-plugin", name, "--package", package, "--output", str(tmp_path)])
    assert result.exit_code == 0, result.output
    folder = tmp_path / name
    names = scaffold.names_for(name)
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("harness"):
                assert node.module in ("harness.api", "harness.testing"), (path, node.module)
    monkeypatch.syspath_prepend(str(folder))
    module = importlib.import_module(names.module)
    try:
        registry = discover(extra=[(name, module)], autoload=False)
        if package == "model":
            assert registry.model(names.model).spec.hub_id == "org/model"
            assert not any(item.plugin == name for table in registry.tasks.values() for item in table.values())
            assert check_plugin(module, name=name) == []
        else:
            kind = f"{names.task}_kind"
            assert registry.kinds[kind].plugin == name
            assert registry.task("target", names.task).spec.kind == kind
            assert check_plugin(module, name=name, smoke=True) == []
            assert registry.kind_set.get(kind).name == kind
    finally:
        for loaded in [m for m in sys.modules if m == names.module or m.startswith(names.module + ".")]:
            del sys.modules[loaded]
