"""Plugin authors' ergonomics: supported core versions, and `xharness list --plugin NAME [--verbose]`."""

import json
import types

import pytest

from click.testing import CliRunner

import harness
from harness.cli import cli
from harness.contract.discovery import discover
from harness.contract.spec import LocalSource, TaskSpec


def _task(name: str) -> TaskSpec:
    return TaskSpec(name=name, kind="classification", description="test task", languages=("en", "de"),
                    metric="accuracy", labels=("no", "yes"),
                    local=LocalSource(file=lambda s, l: f"{s}-{l}.tsv", read=lambda p, s, l: []))


def _plugin(core: str | None = None, **hooks) -> types.SimpleNamespace:
    plugin = types.SimpleNamespace(**{name: harness.hookimpl(fn) for name, fn in hooks.items()})
    if core is not None:
        plugin.XHARNESS_CORE = core
    return plugin


def test_a_plugin_for_another_core_is_reported_and_not_loaded():
    future = _plugin(">=99", register_target_tasks=lambda register: register(_task("future-task")))
    current = _plugin(f"=={harness.__version__}", register_target_tasks=lambda register: register(_task("now-task")))
    registry = discover([("future", future), ("current", current)], autoload=False)
    error = registry.plugins["future"].error
    assert error == (f"supports xharness core >=99, but this is {harness.__version__}: not loaded; install a version "
                     f"of the plugin made for this core (or a core it supports)")
    assert "future-task" not in registry.tasks["target"] and registry.plugins["future"].provides == []
    assert registry.plugins["current"].ok and "now-task" in registry.tasks["target"]
    odd = discover([("odd", _plugin("version two", register_target_tasks=lambda r: None))], autoload=False)
    assert "is not a version specifier" in odd.plugins["odd"].error


def test_list_plugin_shows_one_plugin_and_its_traceback_when_verbose(monkeypatch):
    def boom(register):
        raise RuntimeError("the reader module is missing")

    plugins = [("mine", _plugin(register_target_tasks=lambda register: register(_task("mytask")))),
               ("broken", _plugin(register_target_tasks=boom))]
    monkeypatch.setattr("harness.cli.base._registry", lambda: discover(plugins, autoload=False))
    shown = CliRunner().invoke(cli, ["list", "--plugin", "mine"])
    assert shown.exit_code == 0 and "status: ok" in shown.output and "target task: mytask" in shown.output
    brief = CliRunner().invoke(cli, ["list", "--plugin", "broken"])
    assert "failed: RuntimeError: the reader module is missing" in brief.output
    assert "Traceback" not in brief.output and "--verbose" in brief.output
    verbose = CliRunner().invoke(cli, ["list", "--plugin", "broken", "--verbose"])
    assert "Traceback (most recent call last)" in verbose.output and "in boom" in verbose.output
    data = json.loads(CliRunner().invoke(cli, ["list", "--plugin", "broken", "--json", "--verbose"]).output)
    assert data["ok"] is False and "RuntimeError" in data["traceback"]
    unknown = CliRunner().invoke(cli, ["list", "--plugin", "nosuch"])
    assert unknown.exit_code == 2 and unknown.output.startswith("error: unknown plugin 'nosuch'")


def test_a_model_alias_may_name_a_local_folder(tiny_model_dir, tmp_path):
    """A lab's checkpoint under a short name: the alias resolves to the folder, keyed by its files."""
    import types

    from harness.api import ModelSpec, hookimpl
    from harness.contract.errors import UserError
    from harness.cell.planning import resolve_model
    from harness.contract.discovery import discover

    def plugin(location: str):
        module = types.ModuleType("labmodels")

        @hookimpl
        def register_models(register):
            register(ModelSpec("labtiny", "our checkpoint", hub_id=location))

        module.register_models = register_models
        return module

    registry = discover(extra=[("labmodels", plugin(str(tiny_model_dir)))], autoload=False)
    choice = resolve_model("labtiny", registry)
    assert choice.source == "local" and choice.location == str(tiny_model_dir.resolve())
    identity = choice.identity()
    assert identity["plugin"] == "labmodels" and len(identity["sha256"]) == 64
    missing = discover(extra=[("labmodels", plugin(str(tmp_path / "nowhere")))], autoload=False)
    with pytest.raises(UserError) as caught:
        resolve_model("labtiny", missing)
    assert "model labtiny (plugin labmodels) points at" in str(caught.value) and "not a folder" in str(caught.value)
