"""Name clashes between plugins, whatever the load order or names (issues 14 and 22).

A name a built-in plugin (shipped with xharness) registers stays the built-in's: a third party's
registration of it is left out, said in one line on that plugin. A name two or more third parties
register is unavailable: asking for it is a one-line error naming every claimant and
XHARNESS_PLUGINS. Everything else the plugins register keeps working.
"""

import dataclasses
import importlib
import itertools
import json
import sys
import textwrap
import types

import pytest
from click.testing import CliRunner

import harness
from harness.contract.errors import UserError
from harness.contract.discovery import NameClashError, discover
from harness.contract.spec import Leaderboard, LeaderboardTask, LocalSource, ModelSpec, TaskSpec

XTREME_TARGETS = {"pawsx", "xnli", "udpos", "panx", "xquad", "mlqa", "tydiqa", "bucc2018", "tatoeba"}
XTREME_R_TARGETS = {"xcopa", "lareqa", "mewslix"}  # the xtreme-r plugin's own


def _task(name: str, kind: str = "classification") -> TaskSpec:
    return TaskSpec(name=name, kind=kind, description="test task", languages=("en", "de"), metric="accuracy",
                    labels=("no", "yes"), num_choices=4,
                    local=LocalSource(file=lambda split, lang: f"{split}-{lang}.tsv", read=lambda p, s, l: []))


def _board(name: str) -> Leaderboard:
    return Leaderboard(name, "d", tasks=(LeaderboardTask("t", "accuracy", ("en",), "g", "tsv"),), groups=("g",))


def _plugin(**hooks) -> types.SimpleNamespace:
    return types.SimpleNamespace(**{name: harness.hookimpl(fn) for name, fn in hooks.items()})


def _registering(targets=(), inters=(), models=(), boards=()) -> types.SimpleNamespace:
    def each(items):
        def hook(register):
            for item in items:
                register(item)
        return hook

    return _plugin(register_target_tasks=each(targets), register_intermediate_tasks=each(inters),
                   register_models=each(models), register_leaderboards=each(boards))


# -- the registry ------------------------------------------------------------------------------

def test_two_claimants_make_the_name_unavailable_and_keep_everything_else():
    first = _registering(targets=[_task("same"), _task("only-first")])
    second = _registering(targets=[_task("same"), _task("only-second")])
    registry = discover([("first", first), ("second", second)], autoload=False)
    assert "same" not in registry.tasks["target"]
    assert registry.task("target", "only-first").plugin == "first"
    assert registry.task("target", "only-second").plugin == "second"
    assert registry.plugins["first"].ok and registry.plugins["second"].ok
    assert registry.plugins["first"].clashes == registry.plugins["second"].clashes == ["target task:same"]
    assert "target task:same" in registry.plugins["first"].note
    with pytest.raises(NameClashError) as caught:
        registry.task("target", "same")
    message = str(caught.value)
    assert isinstance(caught.value, UserError) and caught.value.exit_code == 2
    assert message == ("target task 'same' is registered by both plugin 'first' and plugin 'second'; it is "
                       "unavailable until one is left out: set XHARNESS_PLUGINS to the plugins to load "
                       "(see `xharness list`)")
    assert registry.conflict_list() == [{"what": "target task", "name": "same", "plugins": ["first", "second"]}]


def test_the_same_name_in_another_role_is_no_clash():
    inter = _registering(inters=[_task("shared")])
    target = _registering(targets=[_task("shared")])
    registry = discover([("inter", inter), ("target", target)], autoload=False)
    assert registry.task("intermediate", "shared").plugin == "inter"
    assert registry.task("target", "shared").plugin == "target"
    assert registry.conflict_list() == []


def test_three_claimants_are_all_named():
    plugins = [(name, _registering(targets=[_task("x")])) for name in ("c", "a", "b")]
    registry = discover(plugins, autoload=False)
    with pytest.raises(NameClashError) as caught:
        registry.task("target", "x")
    message = str(caught.value)
    assert "registered by plugins 'a', 'b' and 'c'" in message
    assert "until all but one are left out" in message and "XHARNESS_PLUGINS" in message
    assert registry.conflict_list() == [{"what": "target task", "name": "x", "plugins": ["a", "b", "c"]}]
    assert all(registry.plugins[n].ok and registry.plugins[n].clashes == ["target task:x"] for n in "abc")


def test_model_clash_raises_but_unknown_model_is_still_none():
    first = _registering(models=[ModelSpec("m", "one", hub_id="org/one"), ModelSpec("m1", "x", hub_id="org/m1")])
    second = _registering(models=[ModelSpec("m", "two", hub_id="org/two")])
    registry = discover([("first", first), ("second", second)], autoload=False)
    assert registry.model("nothing-registers-this") is None
    assert registry.model("m1").plugin == "first"
    assert "m" not in registry.models
    with pytest.raises(NameClashError, match="model 'm' is registered by both plugin 'first' and plugin 'second'"):
        registry.model("m")


def test_leaderboard_clash_is_absent_from_the_table_and_raises_on_lookup():
    first = _registering(boards=[_board("board"), _board("other")])
    second = _registering(boards=[_board("board")])
    registry = discover([("first", first), ("second", second)], autoload=False)
    assert set(registry.leaderboards) == {"other"}
    assert registry.leaderboard("other").plugin == "first"
    assert registry.clash("leaderboard", "board") is not None and registry.clash("leaderboard", "other") is None
    with pytest.raises(NameClashError, match="leaderboard 'board' is registered by both plugin 'first'"):
        registry.leaderboard("board")
    with pytest.raises(UserError, match="unknown leaderboard 'boards'"):
        registry.leaderboard("boards")


def test_a_plugin_registering_a_name_twice_itself_is_rejected_whole():
    clumsy = _registering(targets=[_task("x"), _task("x"), _task("y")])
    other = _registering(targets=[_task("x")])
    for order in ([("clumsy", clumsy), ("other", other)], [("other", other), ("clumsy", clumsy)]):
        registry = discover(order, autoload=False)
        assert "registered twice by plugin 'clumsy'" in registry.plugins["clumsy"].error
        assert "y" not in registry.tasks["target"]
        assert registry.task("target", "x").plugin == "other"  # a rejected plugin claims nothing
        assert registry.conflict_list() == [] and registry.plugins["other"].clashes == []


def test_an_invalid_plugin_claims_nothing_and_the_others_keep_working():
    import dataclasses

    bad = _registering(targets=[_task("x"), dataclasses.replace(_task("weird"), labels=("only",))])
    good = _registering(targets=[_task("x")])
    registry = discover([("bad", bad), ("good", good)], autoload=False)
    assert "needs at least two labels" in registry.plugins["bad"].error
    assert registry.task("target", "x").plugin == "good" and registry.conflict_list() == []


def _state(registry):
    return (registry.tasks, registry.models, registry.leaderboards, registry.conflicts,
            {name: (p.ok, p.error, p.provides, p.clashes) for name, p in registry.plugins.items()})


def test_registration_order_does_not_change_the_outcome():
    specs = {"x": _task("x"), "a": _task("a"), "b": _task("b"), "i": _task("i"), "m": ModelSpec("m", "", hub_id="o/m"),
             "n": ModelSpec("n", "", hub_id="o/n"), "L": _board("L")}
    plugins = {
        "alpha": _registering(targets=[specs["x"], specs["a"]], models=[specs["m"]]),
        "beta": _registering(targets=[specs["x"]], inters=[specs["i"]], models=[specs["m"], specs["n"]],
                             boards=[specs["L"]]),
        "gamma": _registering(targets=[specs["x"], specs["b"]], boards=[specs["L"]]),
        "delta": _registering(inters=[specs["i"]]),
        "broken": _registering(targets=[specs["a"], dataclasses.replace(_task("bad"), labels=())]),
    }
    # A then B == B then A, for every pair
    for one, two in itertools.permutations(plugins, 2):
        forward = discover([(one, plugins[one]), (two, plugins[two])], autoload=False)
        backward = discover([(two, plugins[two]), (one, plugins[one])], autoload=False)
        assert _state(forward) == _state(backward), (one, two)
    # and every order of all five plugins
    states = [_state(discover([(n, plugins[n]) for n in order], autoload=False))
              for order in itertools.permutations(plugins)]
    assert all(state == states[0] for state in states)
    registry = discover(list(plugins.items()), autoload=False)
    assert registry.conflict_list() == [
        {"what": "intermediate task", "name": "i", "plugins": ["beta", "delta"]},
        {"what": "target task", "name": "x", "plugins": ["alpha", "beta", "gamma"]},
        {"what": "model", "name": "m", "plugins": ["alpha", "beta"]},
        {"what": "leaderboard", "name": "L", "plugins": ["beta", "gamma"]},
    ]
    assert set(registry.tasks["target"]) == {"a", "b"} and registry.task("target", "a").plugin == "alpha"
    assert set(registry.models) == {"n"} and registry.leaderboards == {}
    assert not registry.plugins["broken"].ok


# -- end to end: an installed third-party plugin beside the built-in ones --------------------------

NEWCOMER = '''
from harness import hookimpl, LocalSource, ModelSpec, TaskSpec

def _task(name):
    return TaskSpec(name=name, kind="classification", description="third-party task", languages=("en", "de"),
                    metric="accuracy", labels=("no", "yes"),
                    local=LocalSource(file=lambda split, lang: f"{split}-{lang}.tsv", read=lambda p, s, l: []))

@hookimpl
def register_target_tasks(register):
    register(_task("pawsx"))
    register(_task("mytask"))

@hookimpl
def register_models(register):
    register(ModelSpec("tiny", "a third party's tiny", hub_id="someone/tiny"))
    register(ModelSpec("my-model", "a third party's model", hub_id="someone/my-model"))
'''


@pytest.fixture
def install_newcomer(tmp_path, monkeypatch):
    """Install (on sys.path) a distribution whose `xharness` entry point has the given name.

    Returns the site folder; ``sys.path.remove(site)`` uninstalls it again.
    """
    monkeypatch.delenv("XHARNESS_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    monkeypatch.delenv("XHARNESS_PLUGINS", raising=False)
    monkeypatch.setattr(sys, "path", list(sys.path))  # restored afterwards, whatever a test removes
    modules = []

    def install(entry_point: str) -> str:
        site = tmp_path / f"site-{entry_point}"
        site.mkdir()
        module = f"{entry_point}_clash_plugin"
        (site / f"{module}.py").write_text(textwrap.dedent(NEWCOMER))
        info = site / f"{entry_point}_dist-0.3.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {entry_point}-dist\nVersion: 0.3.0\n")
        (info / "entry_points.txt").write_text(f"[xharness]\n{entry_point} = {module}\n")
        sys.path.insert(0, str(site))
        importlib.invalidate_caches()
        modules.append(module)
        return str(site)

    yield install
    for module in modules:
        sys.modules.pop(module, None)
    importlib.invalidate_caches()


def _list_json() -> dict:
    from harness.cli import cli

    result = CliRunner().invoke(cli, ["list", "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


@pytest.mark.parametrize("newcomer", ["aaadup", "zzzdup"])  # sorts before / after the built-in 'xtreme'
def test_a_third_party_naming_a_builtin_task_is_left_out_and_the_builtin_keeps_it(install_newcomer, newcomer,
                                                                                 monkeypatch, tmp_path):
    """Issue 22: a clash with a built-in name keeps the built-in (for everyone, whatever the names sort
    as) and leaves the newcomer's registration out, in one line on its plugin; its other names work."""
    from harness.cli import cli

    install_newcomer(newcomer)
    data = _list_json()
    targets = {t["name"]: t["plugin"] for t in data["tasks"] if t["role"] == "target"}
    assert {n: p for n, p in targets.items() if p == "xtreme"} == {n: "xtreme" for n in XTREME_TARGETS}
    assert targets["mytask"] == newcomer
    assert data["conflicts"] == []
    assert {"what": "target task", "name": "pawsx", "kept": "xtreme", "left_out": [newcomer]} in data["left_out"]
    assert {"what": "model", "name": "tiny", "kept": "models", "left_out": [newcomer]} in data["left_out"]
    assert len(data["left_out"]) == 2
    models = {m["name"]: m["plugin"] for m in data["models"]}
    assert models["tiny"] == "models" and models["my-model"] == newcomer
    plugins = {p["name"]: p for p in data["plugins"]}
    assert all(p["ok"] for p in plugins.values()) and {newcomer, "xtreme", "stilts", "models"} <= set(plugins)
    assert plugins[newcomer]["note"] == ("left out, a built-in plugin has the name (rename yours): "
                                         "model:tiny, target task:pawsx")
    assert plugins["xtreme"]["note"] is None and plugins["models"]["note"] is None

    text = CliRunner().invoke(cli, ["list"], terminal_width=200)
    assert text.exit_code == 0 and "Left out" in text.output and "Conflicts" not in text.output
    # the built-in pawsx and tiny still run, for everyone
    registry = discover()
    assert registry.task("target", "pawsx").plugin == "xtreme" and registry.model("tiny").plugin == "models"
    result = CliRunner().invoke(cli, ["run", "--inter", "none", "--target", "pawsx", "--preset", "smoke",
                                      "--languages", "en,de", "--output", str(tmp_path / "runs")])
    assert result.exit_code == 0, result.output
    (record,) = (tmp_path / "runs" / "runs").glob("*/results.json")
    recorded = json.loads(record.read_text())
    assert recorded["data"]["target"]["plugin"] == "xtreme" and recorded["model"]["plugin"] == "models"

    # leaving xtreme out gives the newcomer's pawsx
    monkeypatch.setenv("XHARNESS_PLUGINS", f"models,stilts,{newcomer}")
    assert discover().task("target", "pawsx").plugin == newcomer


def _normalised(data: dict, newcomer: str) -> dict:
    """`xharness list --json` with the newcomer's name replaced and name-sorted lists re-sorted."""
    data = json.loads(json.dumps(data).replace(newcomer, "NEW"))
    data["plugins"].sort(key=lambda p: p["name"])
    for conflict in data["conflicts"]:
        conflict["plugins"].sort()
    for entry in data["left_out"]:
        entry["left_out"].sort()
    return data


def test_the_outcome_is_the_same_for_an_early_and_a_late_name(install_newcomer):
    site = install_newcomer("aaadup")
    early = _list_json()
    sys.path.remove(site)
    importlib.invalidate_caches()
    install_newcomer("zzzdup")
    late = _list_json()
    assert "aaadup" not in json.dumps(late)
    assert _normalised(early, "aaadup") == _normalised(late, "zzzdup")


def test_two_newcomers_are_both_left_out_of_a_builtin_name_and_clash_between_themselves(install_newcomer):
    install_newcomer("aaadup")
    install_newcomer("zzzdup")
    registry = discover()
    # the built-in names stay the built-ins'; both newcomers are left out of them
    assert registry.task("target", "pawsx").plugin == "xtreme" and registry.model("tiny").plugin == "models"
    assert registry.rejection_list() == [
        {"what": "target task", "name": "pawsx", "kept": "xtreme", "left_out": ["aaadup", "zzzdup"]},
        {"what": "model", "name": "tiny", "kept": "models", "left_out": ["aaadup", "zzzdup"]}]
    # between two third parties no claimant wins
    with pytest.raises(NameClashError, match="both plugin 'aaadup' and plugin 'zzzdup'"):
        registry.task("target", "mytask")
    assert set(registry.tasks["target"]) == XTREME_TARGETS | XTREME_R_TARGETS
    assert registry.clash("target task", "mytask").plugins == ["aaadup", "zzzdup"]
    assert registry.clash("model", "my-model").plugins == ["aaadup", "zzzdup"]
    assert sorted(registry.leaderboards) == ["xtreme", "xtreme-r"]
