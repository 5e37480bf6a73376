"""The command line through click's runner, and start-up cost in a real subprocess."""

import json
import re
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner

from harness.data import hub
from harness.cli import cli


@pytest.fixture
def runner():
    return CliRunner()


def test_help_for_every_command(runner):
    for args in ([], ["list"], ["run"]):
        result = runner.invoke(cli, [*args, "--help"])
        assert result.exit_code == 0 and "Usage" in result.output


def test_list_text(runner):
    result = runner.invoke(cli, ["list"], terminal_width=200)
    assert result.exit_code == 0, result.output
    for word in ("pawsx", "hellaswag", "tiny", "xlm-roberta-large", "xtreme", "stilts", "models", "accuracy"):
        assert word in result.output
    assert "7: en de es fr ja ko zh" in result.output


def test_list_json(runner):
    result = runner.invoke(cli, ["list", "--json"])
    assert result.exit_code == 0
    data = json.loads(result.output)
    pawsx = next(t for t in data["tasks"] if t["name"] == "pawsx")
    assert pawsx["role"] == "target" and pawsx["kind"] == "classification" and len(pawsx["languages"]) == 7
    assert pawsx["plugin"] == "xtreme" and pawsx["plugin_version"]
    assert any(m["name"] == "tiny" and m["source"] == "built" for m in data["models"])
    assert all(p["ok"] for p in data["plugins"])


@pytest.mark.parametrize("args, message", [
    (["--inter", "hellaswg", "--target", "pawsx"], "did you mean 'hellaswag'"),
    (["--inter", "none", "--target", "paws"], "did you mean 'pawsx'"),
    (["--inter", "none", "--target", "pawsx", "--model", "xlm-roberta-lage"], "did you mean 'xlm-roberta-large'"),
    (["--inter", "none", "--target", "pawsx", "--languages", "de,ded"], "unknown language for pawsx 'ded'"),
    (["--inter", "none", "--target", "pawsx", "--preset", "smok"], "did you mean 'smoke'"),
])
def test_unknown_names_exit_2_with_suggestion(runner, args, message):
    result = runner.invoke(cli, ["run", *args, "--preset", "smoke"] if "--preset" not in args else ["run", *args])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1


@pytest.mark.parametrize("args, message, exit_code", [
    # no "did you mean 'es'" for a language PAWS-X lacks: its languages, in one line
    (["--target", "pawsx", "--languages", "sw"], "unknown language for pawsx 'sw'; pawsx's languages: en, de, es, fr, "
                                                 "ja, ko, zh", 2),
    (["--target", "pawsx", "--languages", "german"], "'german' is a language name: use its code 'de'", 2),
    (["--target", "pawsx", "--languages", "Swahili"], "'Swahili' is a language name (code 'sw'), which is not among "
                                                      "them", 2),
    (["--target", "pawsx", "--languages", "jp"], "did you mean 'ja'? pawsx's languages:", 2),
    (["--inter", "pawsx", "--target", "xnli"], "'pawsx' is a target task (name it with --target), not an intermediate "
                                               "task (--inter)", 2),
    (["--target", "hellaswag"], "'hellaswag' is an intermediate task (name it with --inter), not a target task "
                                "(--target)", 2),
    (["--target", "pawsx", "--model", "/nonexistent/model"], "--model /nonexistent/model: no such folder", 1),
])
def test_suggestions_point_the_right_way(runner, args, message, exit_code):
    """Issue 23: did-you-mean only for close names of the same kind; language names read as codes; a
    task in the other role and a model path that does not exist said as such."""
    args = ["--inter", "none", *args] if "--inter" not in args else args
    result = runner.invoke(cli, ["run", *args, "--preset", "smoke"])
    assert result.exit_code == exit_code, result.output
    assert message in result.output and "did you mean 'es'" not in result.output and "'en'?" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_score_on_folders_without_a_task_folder_says_what_it_looked_for(runner, tmp_path):
    (tmp_path / "p").mkdir()
    (tmp_path / "l").mkdir()
    result = runner.invoke(cli, ["score", "--predictions", str(tmp_path / "p"), "--labels", str(tmp_path / "l")])
    assert result.exit_code == 1 and len(result.output.strip().splitlines()) == 1
    assert "found no task folder (e.g. pawsx/test-" in result.output and "xtreme: pawsx, xnli" in result.output


@pytest.mark.parametrize("width", [60, 80, 200])
def test_list_never_cuts_a_name(runner, monkeypatch, width):
    """Every task, kind, model and plugin name appears whole at any terminal width, no line wider."""
    from rich.console import Console

    from harness.cli import plugins as listing
    from harness.contract.discovery import discover

    monkeypatch.setattr(listing, "_console", lambda: Console(highlight=False, width=width))
    result = runner.invoke(cli, ["list"])
    assert result.exit_code == 0
    registry = discover()
    names = [*{n for table in registry.tasks.values() for n in table}, *registry.models, *registry.kinds,
             *registry.plugins]
    words = set(re.findall(r"[\w.-]+", result.output))
    assert not [name for name in names if name not in words], result.output
    assert max(len(line) for line in result.output.splitlines()) <= width


def test_offline_without_data_fails_fast_with_one_line(runner, monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    hub.hub_reachable.cache_clear()
    began = time.perf_counter()
    result = runner.invoke(cli, ["run", "--inter", "hellaswag", "--target", "pawsx", "--output", str(tmp_path)])
    elapsed = time.perf_counter() - began
    assert result.exit_code == 1
    line = result.output.strip()
    assert len(line.splitlines()) == 1
    assert "Rowan/hellaswag" in line and "--data-dir" in line and "--preset smoke" in line
    assert elapsed < 2.0


def test_unreachable_hub_is_detected_quickly_without_offline_variables(monkeypatch):
    for name in hub.OFFLINE_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # the discard port: nothing listens there
    hub.hub_reachable.cache_clear()
    began = time.perf_counter()
    assert hub.hub_reachable() is False
    assert time.perf_counter() - began < 2.0
    hub.hub_reachable.cache_clear()


def test_missing_local_file_names_it(runner, tmp_path):
    (tmp_path / "x-final" / "en").mkdir(parents=True)
    result = runner.invoke(cli, ["run", "--inter", "none", "--target", "pawsx", "--model", "tiny",
                                 "--data-dir", str(tmp_path), "--output", str(tmp_path / "out")])
    assert result.exit_code == 1
    assert "x-final/en/train.tsv not found under --data-dir" in result.output


def test_list_imports_no_heavy_library_and_is_fast():
    code = ("import sys, time; t = time.perf_counter(); from harness.cli import main; sys.argv = ['xharness', 'list'];\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "heavy = [m for m in ('torch', 'transformers', 'datasets', 'accelerate') if m in sys.modules]\n"
            "print('HEAVY', heavy, 'SECONDS', time.perf_counter() - t)")
    began = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    total = time.perf_counter() - began
    assert out.returncode == 0, out.stderr
    assert "HEAVY []" in out.stdout, out.stdout[-300:]
    assert "pawsx" in out.stdout
    assert total < 3.0  # interpreter start-up included; the command itself takes a fraction of that


def test_malformed_test_file_fails_before_any_training(runner, tmp_path, shared_data):
    import shutil

    data = tmp_path / "data"
    shutil.copytree(shared_data / "pawsx", data / "pawsx")
    shutil.copytree(shared_data / "hellaswag", data / "hellaswag")
    broken = data / "pawsx" / "x-final" / "ko" / "test_2k.tsv"
    lines = broken.read_text(encoding="utf-8").splitlines()
    lines[2] = lines[2].rsplit("\t", 1)[0]  # drop the label of the second record
    broken.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = runner.invoke(cli, ["run", "--inter", "hellaswag", "--target", "pawsx", "--model", "tiny",
                                 "--data-dir", str(data), "--output", str(tmp_path / "out")])
    assert result.exit_code == 1, result.output
    assert f"{broken}:3: expected 4 tab-separated fields, found 3" in result.output
    assert not (tmp_path / "out" / "intermediate").exists()  # nothing was trained


@pytest.mark.parametrize("module", ["harness", "harness.cli"])
def test_python_dash_m_reaches_every_command(module):
    """`python -m harness.cli study --help` said "No such command" (the __main__ guard ran before the
    study and new-plugin commands were defined)."""
    import subprocess
    import sys

    from harness.cli import cli

    names = sorted(cli.commands)
    assert {"study", "new-plugin", "data", "plugins", "install"} <= set(names)
    code = ("import runpy, sys; sys.argv = ['xharness'] + sys.argv[1:]; "
            f"runpy.run_module({module!r}, run_name='__main__')")
    for name in names:
        done = subprocess.run([sys.executable, "-c", code, name, "--help"], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0 and "Usage:" in done.stdout, (name, done.stdout[-300:], done.stderr[-500:])
