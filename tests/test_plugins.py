"""Plugin discovery: healthy, broken, duplicate, misspelt and switched-off plugins."""

import sys
import textwrap
import types
from pathlib import Path

import pytest

import harness
from harness.contract.errors import UserError
from harness.contract.discovery import discover
from harness.contract.spec import LocalSource, ModelSpec, TaskSpec


def _task(name: str, kind: str = "classification") -> TaskSpec:
    return TaskSpec(name=name, kind=kind, description="test task", languages=("en", "de"), metric="accuracy",
                    labels=("no", "yes"), num_choices=4,
                    local=LocalSource(file=lambda split, lang: f"{split}-{lang}.tsv", read=lambda p, s, l: []))


def _plugin(**hooks) -> types.SimpleNamespace:
    return types.SimpleNamespace(**{name: harness.hookimpl(fn) for name, fn in hooks.items()})


def test_throwaway_plugin_registers_tasks_and_models():
    plugin = _plugin(register_target_tasks=lambda register: register(_task("toy")),
                     register_models=lambda register: register(ModelSpec("toy-model", "m", hub_id="org/toy")))
    registry = discover([("toy", plugin)], autoload=False)
    assert registry.task("target", "toy").plugin == "toy"
    assert registry.model("toy-model").spec.hub_id == "org/toy"
    assert registry.plugins["toy"].ok
    assert registry.plugins["toy"].provides == ["target task:toy", "model:toy-model"]


def test_duplicate_name_names_both_plugins_and_neither_wins():
    first = _plugin(register_target_tasks=lambda register: register(_task("same")))
    second = _plugin(register_target_tasks=lambda register: register(_task("same")))
    registry = discover([("first", first), ("second", second)], autoload=False)
    assert registry.plugins["first"].ok and registry.plugins["second"].ok
    assert "same" not in registry.tasks["target"]
    with pytest.raises(UserError, match="plugin 'first' and plugin 'second'"):
        registry.task("target", "same")


def test_misspelt_hook_is_reported_not_ignored():
    plugin = _plugin(register_target_task=lambda register: register(_task("x")))
    registry = discover([("typo", plugin)], autoload=False)
    assert not registry.plugins["typo"].ok
    assert "register_target_task" in registry.plugins["typo"].error
    assert "x" not in registry.tasks["target"]


def test_failing_registration_is_isolated_and_rolled_back():
    def register_twice(register):
        register(_task("good-part"))
        raise RuntimeError("boom")

    healthy = _plugin(register_target_tasks=lambda register: register(_task("fine")))
    broken = _plugin(register_target_tasks=register_twice)
    registry = discover([("broken", broken), ("healthy", healthy)], autoload=False)
    assert "RuntimeError: boom" in registry.plugins["broken"].error
    assert "good-part" not in registry.tasks["target"]  # nothing half-registered
    assert "fine" in registry.tasks["target"]


def test_invalid_spec_is_rejected_with_the_reason():
    import dataclasses

    plugin = _plugin(register_target_tasks=lambda register: register(dataclasses.replace(_task("weird"), labels=())))
    registry = discover([("weird", plugin)], autoload=False)
    assert "needs at least two labels" in registry.plugins["weird"].error


def test_a_task_of_an_unregistered_kind_is_left_out_with_a_note():
    plugin = _plugin(register_target_tasks=lambda register: (register(_task("weird", kind="regression")),
                                                             register(_task("fine"))))
    registry = discover([("weird", plugin)], autoload=False)
    assert registry.plugins["weird"].ok and "fine" in registry.tasks["target"]
    assert "weird" not in registry.tasks["target"]
    assert "no working plugin registers its kind 'regression'" in registry.plugins["weird"].note


@pytest.fixture
def fake_distributions(tmp_path, monkeypatch):
    """Two installed-looking distributions on sys.path: one healthy, one whose import fails."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "fake_good_plugin.py").write_text(textwrap.dedent('''
        from harness import hookimpl, TaskSpec, LocalSource
        @hookimpl
        def register_intermediate_tasks(register):
            register(TaskSpec(name="fake-inter", kind="multiple_choice", description="d", languages=("en",),
                              metric="accuracy", num_choices=2,
                              local=LocalSource(file=lambda s, l: "x", read=lambda p, s, l: [])))
    '''))
    (site / "fake_bad_plugin.py").write_text("import module_that_does_not_exist_anywhere\n")
    for dist, module, version in (("fake_good", "fake_good_plugin", "1.2.3"), ("fake_bad", "fake_bad_plugin", "0.0.1")):
        info = site / f"{dist}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist.replace('_', '-')}\nVersion: {version}\n")
        (info / "entry_points.txt").write_text(f"[xharness]\n{dist} = {module}\n")
    monkeypatch.syspath_prepend(str(site))
    yield site
    for module in ("fake_good_plugin", "fake_bad_plugin"):
        sys.modules.pop(module, None)


def test_entry_point_discovery_with_a_broken_distribution(fake_distributions, monkeypatch):
    monkeypatch.delenv("XHARNESS_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    monkeypatch.delenv("XHARNESS_PLUGINS", raising=False)
    registry = discover()
    good, bad = registry.plugins["fake_good"], registry.plugins["fake_bad"]
    assert good.ok and good.version == "1.2.3" and good.distribution == "fake-good"
    assert registry.task("intermediate", "fake-inter").plugin_version == "1.2.3"
    assert not bad.ok and "module_that_does_not_exist_anywhere" in bad.error
    # the built-in plugins keep working beside the broken one
    assert "pawsx" in registry.tasks["target"] and "hellaswag" in registry.tasks["intermediate"]


def test_autoload_switched_off(fake_distributions, monkeypatch):
    monkeypatch.setenv("XHARNESS_DISABLE_PLUGIN_AUTOLOAD", "1")
    registry = discover()
    # only the core's own kinds, registered by its built-in plugin
    assert set(registry.plugins) == {"core"} and registry.tasks["target"] == {}
    assert {"classification", "dual_encoder", "retrieval"} <= set(registry.kinds)


def test_autoload_restricted_to_named_plugins(fake_distributions, monkeypatch):
    monkeypatch.delenv("XHARNESS_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    monkeypatch.setenv("XHARNESS_PLUGINS", "fake_good,xtreme")
    registry = discover()
    assert set(registry.plugins) == {"core", "fake_good", "xtreme"}


def test_builtin_plugins_are_found_through_entry_points(registry):
    assert registry.task("target", "pawsx").plugin == "xtreme"
    assert registry.task("intermediate", "hellaswag").plugin == "stilts"
    assert {"tiny", "xlm-roberta-large", "xlm-roberta-base", "bert-base-multilingual-cased"} <= set(registry.models)
    core = Path(harness.__file__).parent
    import re

    importing = re.compile(r"^\s*(from|import)\s+xharness_", re.MULTILINE)
    assert not any(importing.search(p.read_text()) for p in core.rglob("*.py")), "the core must not import plugins"


def test_list_shows_a_broken_plugin_and_still_lists_the_rest(fake_distributions, monkeypatch):
    from click.testing import CliRunner

    from harness.cli import cli

    monkeypatch.delenv("XHARNESS_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    monkeypatch.delenv("XHARNESS_PLUGINS", raising=False)
    result = CliRunner().invoke(cli, ["list"])
    assert result.exit_code == 0
    assert "fake_bad" in result.output and "ModuleNotFoundError" in result.output
    assert "fake-inter" in result.output and "pawsx" in result.output


def test_leaderboard_with_unknown_metric_is_rejected():
    from harness.contract.spec import Leaderboard, LeaderboardTask

    board = Leaderboard("b", "d", tasks=(LeaderboardTask("t", "bleu", ("en",), "g", "tsv"),), groups=("g",))
    plugin = _plugin(register_leaderboards=lambda register: register(board))
    registry = discover([("boards", plugin)], autoload=False)
    assert "unknown metric 'bleu'" in registry.plugins["boards"].error
    assert registry.leaderboards == {}


@pytest.mark.parametrize("value, autoload", [("1", False), ("on", False), ("TRUE", False), (" yes ", False),
                                             ("0", True), ("off", True), ("no", True), ("", True)])
def test_one_reader_of_yes_no_variables(monkeypatch, value, autoload):
    """XHARNESS_DISABLE_PLUGIN_AUTOLOAD, XHARNESS_FEATURE_CACHE and the HF offline flags are read by one
    function: "off" means no everywhere (it used to switch autoload off)."""
    from harness.common.envflags import flag
    from harness.contract.discovery import discover

    monkeypatch.setenv("XHARNESS_DISABLE_PLUGIN_AUTOLOAD", value)
    assert ("xtreme" in discover().plugins) is autoload
    monkeypatch.setenv("XHARNESS_FEATURE_CACHE", value)
    assert flag("XHARNESS_FEATURE_CACHE", default=True) is ((not autoload) if value.strip() else True)


def test_an_unreadable_flag_is_the_default_with_one_warning(monkeypatch, capsys):
    from harness.common import envflags

    monkeypatch.setattr(envflags, "_WARNED", set())
    monkeypatch.setenv("XHARNESS_DISABLE_PLUGIN_AUTOLOAD", "maybe")
    assert envflags.flag("XHARNESS_DISABLE_PLUGIN_AUTOLOAD") is False
    assert envflags.flag("XHARNESS_DISABLE_PLUGIN_AUTOLOAD") is False
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "XHARNESS_DISABLE_PLUGIN_AUTOLOAD='maybe'" in lines[0] and "read as no" in lines[0]
