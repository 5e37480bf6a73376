"""Task kinds are plugins: registered through a hook (the core's own too), used by other plugins'
tasks, reported like broken plugins when they fail, and run end to end like a built-in kind."""

import dataclasses
import json
import sys
import textwrap
import types

import pytest
from click.testing import CliRunner

import harness
from harness import kinds
from harness.contract.discovery import discover
from harness.contract.errors import UserError
from harness.contract.spec import KindSpec, LocalSource, TaskSpec


def _plugin(**hooks) -> types.SimpleNamespace:
    return types.SimpleNamespace(**{name: harness.hookimpl(fn) for name, fn in hooks.items()})


def _task(name: str, kind: str) -> TaskSpec:
    return TaskSpec(name=name, kind=kind, description="test task", languages=("en", "de"), metric="accuracy",
                    labels=("no", "yes"), local=LocalSource(file=lambda s, l: f"{s}-{l}.tsv", read=lambda p, s, l: []))


@pytest.fixture
def kind_module(tmp_path, monkeypatch):
    """An importable module holding a third-party kind: classification on mean-pooled tokens."""
    (tmp_path / "meanpool_kind.py").write_text(textwrap.dedent('''
        from harness.kinds.classification import Classification
        from harness.kinds.base import run_encoder

        class MeanPooled(Classification):
            name = "mean_classification"

            def forward(self, encoder, head, batch):
                hidden = run_encoder(encoder, batch)
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1, keepdim=True) / mask.sum(1, keepdim=True)
                return head(pooled)  # the head reads position 0

        KIND = MeanPooled()
    '''))
    (tmp_path / "broken_kind.py").write_text("raise ImportError('the kind needs a library that is missing')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield
    for name in ("meanpool_kind", "broken_kind"):
        sys.modules.pop(name, None)


MEAN = KindSpec("mean_classification", "classification on mean-pooled tokens", "meanpool_kind:KIND")


def test_the_core_registers_its_own_kinds_through_the_hook():
    registry = discover(autoload=False)
    assert set(registry.kinds) == {spec.name for spec in kinds.BUILTIN}
    assert {item.plugin for item in registry.kinds.values()} == {"core"}
    assert "task kind:dual_encoder" in registry.plugins["core"].provides
    assert registry.kinds["dual_encoder"].spec.settings["top_k"] == 20


def test_every_builtin_kind_names_its_hub_task_type():
    """``xharness export`` files results under the kind's Hub task type: one table, every kind in it."""
    assert {spec.name for spec in kinds.BUILTIN} == set(kinds.HUB_TASKS)
    assert all(spec.hub_task == kinds.HUB_TASKS[spec.name] for spec in kinds.BUILTIN)
    assert discover(autoload=False).kind_set.spec("span_qa").hub_task == "question-answering"


def test_a_task_may_use_a_kind_that_another_plugin_registers_later(kind_module):
    # "a-tasks" is registered before "z-kinds" (names are sorted), yet its task finds the kind
    tasks = _plugin(register_target_tasks=lambda register: register(_task("meanpawsx", "mean_classification")))
    adds = _plugin(register_task_kinds=lambda register: register(MEAN))
    registry = discover([("a-tasks", tasks), ("z-kinds", adds)], autoload=False)
    assert registry.task("target", "meanpawsx").plugin == "a-tasks"
    assert registry.kinds["mean_classification"].plugin == "z-kinds"
    assert registry.kind_set.get("mean_classification").name == "mean_classification"
    assert registry.kind_set.trained("mean_classification")


def test_two_registries_in_one_process_keep_their_own_kinds(kind_module):
    """The kinds travel with the registry and the plan, not in module globals: a registry made
    later (without the plugin) neither loses nor lends the earlier one's kinds."""
    adds = _plugin(register_task_kinds=lambda register: register(MEAN))
    tasks = _plugin(register_target_tasks=lambda register: register(_task("meanpawsx", "mean_classification")))
    with_kind = discover([("tasks", tasks), ("z-kinds", adds)], autoload=False)
    without = discover(autoload=False)
    assert "mean_classification" in with_kind.kind_set and "mean_classification" not in without.kind_set
    assert with_kind.kind_set.get("mean_classification").name == "mean_classification"
    with pytest.raises(UserError, match="not registered"):
        without.kind_set.get("mean_classification")
    assert with_kind.kind_set.trained("mean_classification")  # still there after the other discovery


def test_a_kind_that_names_no_installed_module_breaks_its_plugin_and_its_tasks_are_noted():
    adds = _plugin(register_task_kinds=lambda register: register(KindSpec("ghost", "d", "no_such_module_xyz:KIND")))
    tasks = _plugin(register_target_tasks=lambda register: (register(_task("haunted", "ghost")),
                                                            register(_task("plain", "classification"))))
    registry = discover([("adds", adds), ("tasks", tasks)], autoload=False)
    assert not registry.plugins["adds"].ok and "no_such_module_xyz" in registry.plugins["adds"].error
    assert "haunted" not in registry.tasks["target"] and "plain" in registry.tasks["target"]
    assert "no working plugin registers its kind 'ghost'" in registry.plugins["tasks"].note


def test_a_malformed_kind_spec_is_rejected_with_the_reason():
    adds = _plugin(register_task_kinds=lambda register: register(KindSpec("odd", "d", "harness.kinds")))
    registry = discover([("adds", adds)], autoload=False)
    assert "load must be 'package.module:ATTRIBUTE'" in registry.plugins["adds"].error
    wrong = _plugin(register_task_kinds=lambda register: register("not a spec"))
    registry = discover([("wrong", wrong)], autoload=False)
    assert "expects a KindSpec" in registry.plugins["wrong"].error


def test_a_broken_plugins_kinds_go_with_it(kind_module):
    def boom(register):
        raise RuntimeError("boom")

    adds = _plugin(register_task_kinds=lambda register: register(MEAN), register_models=boom)
    tasks = _plugin(register_target_tasks=lambda register: register(_task("meanpawsx", "mean_classification")))
    registry = discover([("adds", adds), ("tasks", tasks)], autoload=False)
    assert "RuntimeError: boom" in registry.plugins["adds"].error
    assert "mean_classification" not in registry.kinds and "meanpawsx" not in registry.tasks["target"]
    assert "meanpawsx" in registry.plugins["tasks"].note


def test_a_kind_clashing_only_with_a_plugin_that_then_breaks_goes_to_the_other(kind_module):
    def boom(register):
        raise RuntimeError("boom")

    broken = _plugin(register_task_kinds=lambda register: register(MEAN), register_models=boom)
    sound = _plugin(register_task_kinds=lambda register: register(MEAN),
                    register_target_tasks=lambda register: register(_task("meanpawsx", "mean_classification")))
    for order in ([("broken", broken), ("sound", sound)], [("sound", sound), ("broken", broken)]):
        registry = discover(order, autoload=False)
        assert registry.kinds["mean_classification"].plugin == "sound", order
        assert registry.conflict_list() == [] and registry.plugins["sound"].clashes == []
        assert registry.task("target", "meanpawsx").plugin == "sound"


def test_two_plugins_registering_one_kind_make_it_and_its_tasks_unavailable(kind_module):
    first = _plugin(register_task_kinds=lambda register: register(MEAN))
    second = _plugin(register_task_kinds=lambda register: register(MEAN))
    tasks = _plugin(register_target_tasks=lambda register: register(_task("meanpawsx", "mean_classification")))
    registry = discover([("first", first), ("second", second), ("tasks", tasks)], autoload=False)
    assert "mean_classification" not in registry.kinds
    assert [c["plugins"] for c in registry.conflict_list()] == [["first", "second"]]
    assert "registered by several plugins" in registry.plugins["tasks"].note


def test_a_kind_whose_module_fails_to_import_stops_the_run_in_one_line(kind_module, tmp_path, monkeypatch):
    from harness.cli import cli

    broken = KindSpec("broken_kind", "d", "broken_kind:KIND")

    def targets(register):
        from xharness_xtreme.pawsx import PAWSX

        register(dataclasses.replace(PAWSX, name="brokenpawsx", kind="broken_kind"))

    plugin = _plugin(register_task_kinds=lambda register: register(broken), register_target_tasks=targets)
    monkeypatch.setattr("harness.cli.base._registry", lambda: discover([("brokenkind", plugin)]))
    result = CliRunner().invoke(cli, ["run", "--inter", "none", "--target", "brokenpawsx", "--preset", "smoke",
                                      "--output", str(tmp_path / "runs")])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "task kind 'broken_kind' of plugin 'brokenkind' failed to load" in lines[0]
    assert "the kind needs a library that is missing" in lines[0]
    assert not (tmp_path / "runs" / "runs").exists()


def test_list_shows_kinds_with_their_settings(kind_module, monkeypatch):
    from harness.cli import cli

    adds = _plugin(register_task_kinds=lambda register: register(MEAN))
    monkeypatch.setattr("harness.cli.base._registry", lambda: discover([("adds", adds)]))
    shown = json.loads(CliRunner().invoke(cli, ["list", "--json"]).output)
    by_name = {k["name"]: k for k in shown["kinds"]}
    assert by_name["mean_classification"]["plugin"] == "adds"
    assert by_name["dual_encoder"]["settings"]["query_max_length"] == 96 and by_name["retrieval"]["trained"] is False
    table = CliRunner().invoke(cli, ["list"]).output
    assert "Task kinds" in table and "mean_classification" in table and "query_max_length=96" in table


def test_a_plugin_kind_runs_a_cell_end_to_end(kind_module, tmp_path):
    """PAWS-X samples under a third-party kind, through plan_run and execute like any target."""
    from xharness_xtreme.pawsx import PAWSX

    from harness.cell.protocol import RunRequest, execute, plan_run

    plugin = _plugin(register_task_kinds=lambda register: register(MEAN),
                     register_target_tasks=lambda register: register(
                         dataclasses.replace(PAWSX, name="meanpawsx", kind="mean_classification")))
    registry = discover([("meankind", plugin)])
    plan = plan_run(RunRequest(inter="none", target="meanpawsx", preset="smoke", output=tmp_path / "runs",
                               languages=["en", "de"]), registry)
    _, record = execute(plan)
    assert record["target_task"] == "meanpawsx" and set(record["scores"]["per_language"]) == {"de", "en"}
    assert all(0 <= v <= 100 for v in record["scores"]["per_language"].values())
    assert record["phases"]["target"]["history"]["epochs"]
