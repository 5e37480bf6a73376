"""Name clashes between plugins (issue 14): no claimant wins, whatever the load order or names.

A name registered by two or more plugins is unavailable, asking for it is a one-line error naming
every claimant and XHARNESS_PLUGINS, and everything else the plugins register keeps working.
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
def test_third_party_clash_leaves_the_builtin_plugin_working(install_newcomer, newcomer, monkeypatch, tmp_path):
    from harness.cell import protocol
    from harness.cli import cli

    install_newcomer(newcomer)
    data = _list_json()
    targets = {t["name"]: t["plugin"] for t in data["tasks"] if t["role"] == "target"}
    assert {n: p for n, p in targets.items() if p == "xtreme"} == {n: "xtreme" for n in XTREME_TARGETS - {"pawsx"}}
    assert "pawsx" not in targets and targets["mytask"] == newcomer
    assert {"what": "target task", "name": "pawsx", "plugins": sorted([newcomer, "xtreme"])} in data["conflicts"]
    assert {"what": "model", "name": "tiny", "plugins": sorted([newcomer, "models"])} in data["conflicts"]
    assert len(data["conflicts"]) == 2
    assert [b["name"] for b in data["leaderboards"]] == ["xtreme", "xtreme-r"]
    models = {m["name"]: m["plugin"] for m in data["models"]}
    assert "tiny" not in models and models["my-model"] == newcomer and models["xlm-roberta-large"] == "models"
    plugins = {p["name"]: p for p in data["plugins"]}
    assert all(p["ok"] for p in plugins.values()) and {newcomer, "xtreme", "stilts", "models"} <= set(plugins)
    assert "target task:pawsx" in plugins["xtreme"]["note"] and "target task:pawsx" in plugins[newcomer]["note"]
    assert plugins["stilts"]["note"] is None

    text = CliRunner().invoke(cli, ["list"], terminal_width=200)
    assert text.exit_code == 0 and "Conflicts" in text.output
    assert f"{min(newcomer, 'xtreme')}, {max(newcomer, 'xtreme')}" in text.output

    def no_training(plan):
        raise AssertionError("training started despite the clash")

    monkeypatch.setattr(protocol, "execute", no_training)
    output = tmp_path / "runs"
    for extra, what, other in (([], "target task 'pawsx'", "xtreme"),
                               (["--model", "tiny"], "model 'tiny'", "models")):
        args = ["run", "--inter", "none", "--target", "pawsx" if not extra else "xnli", "--preset", "smoke",
                "--output", str(output), *extra]
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 2, result.output
        line = result.output.strip()
        assert len(line.splitlines()) == 1 and "Traceback" not in line
        first, second = sorted([newcomer, other])
        assert f"{what} is registered by both plugin '{first}' and plugin '{second}'" in line
        assert "XHARNESS_PLUGINS" in line
    assert not output.exists()

    # leaving the newcomer out restores the built-in pawsx
    monkeypatch.setenv("XHARNESS_PLUGINS", "models,stilts,xtreme")
    data = _list_json()
    assert data["conflicts"] == [] and newcomer not in {p["name"] for p in data["plugins"]}
    pawsx = next(t for t in data["tasks"] if t["name"] == "pawsx")
    assert pawsx["plugin"] == "xtreme" and pawsx["role"] == "target"
    assert discover().task("target", "pawsx").plugin == "xtreme"
    # and leaving xtreme out gives the newcomer's
    monkeypatch.setenv("XHARNESS_PLUGINS", f"models,stilts,{newcomer}")
    assert discover().task("target", "pawsx").plugin == newcomer


def _normalised(data: dict, newcomer: str) -> dict:
    """`xharness list --json` with the newcomer's name replaced and name-sorted lists re-sorted."""
    data = json.loads(json.dumps(data).replace(newcomer, "NEW"))
    data["plugins"].sort(key=lambda p: p["name"])
    for conflict in data["conflicts"]:
        conflict["plugins"].sort()
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


def test_three_installed_claimants_are_all_named(install_newcomer):
    install_newcomer("aaadup")
    install_newcomer("zzzdup")
    registry = discover()
    with pytest.raises(NameClashError, match="plugins 'aaadup', 'xtreme' and 'zzzdup'"):
        registry.task("target", "pawsx")
    with pytest.raises(NameClashError, match="plugins 'aaadup', 'models' and 'zzzdup'"):
        registry.model("tiny")
    assert set(registry.tasks["target"]) == (XTREME_TARGETS | XTREME_R_TARGETS) - {"pawsx"}  # mytask clashes too
    assert registry.clash("target task", "mytask").plugins == ["aaadup", "zzzdup"]
    assert registry.clash("model", "my-model").plugins == ["aaadup", "zzzdup"]
    assert sorted(registry.leaderboards) == ["xtreme", "xtreme-r"]
