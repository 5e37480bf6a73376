"""A store a lab shares is never executed (issue 20): a co-user who plants pickles everywhere in it,
and reseals every manifest so that the digests agree, can at worst cost a recomputation or a
wrong number, never run code in another user's process. Also: `xharness verify`, and plugin code
in the keys."""

import importlib
import io
import json
import pickle
import shutil
import sys
import textwrap
from pathlib import Path

import pytest
from clicheck import one_error_line
from click.testing import CliRunner

from harness.cli import cli
from harness.store.runstore import MANIFEST, seal

FAST = ["--inter", "hellaswag", "--target", "pawsx", "--preset", "smoke", "--languages", "en,de",
        "--inter-epochs", "1", "--target-epochs", "2"]


class Payload:
    """Unpickling this writes the marker file: the proof that a file of the store ran code."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return exec, (f"open({self.marker!r}, 'a').write('ran\\n')",)


def invoke(*args: str):
    return CliRunner().invoke(cli, [str(a) for a in args])


def clean_exit(result) -> bool:
    """Ended by the CLI itself (0, or one error line and exit 1/2), not by an uncaught exception."""
    return result.exception is None or isinstance(result.exception, SystemExit)


@pytest.fixture(scope="session")  # per worker: a module xdist splits does not rebuild it
def clean_store(tmp_path_factory) -> Path:
    """A store that `run` (checkpoints kept), `sweep` and `study run typology` wrote."""
    store = tmp_path_factory.mktemp("trust") / "store"
    result = invoke("run", *FAST, "--keep-checkpoints", "--output", store)
    assert result.exit_code == 0, result.output
    result = invoke("sweep", *FAST[:-4], "--output", store)  # the same cells with their default epochs
    assert result.exit_code == 0, result.output
    result = invoke("study", "run", "typology", "--preset", "smoke", "--output", store)
    assert result.exit_code == 0, result.output
    return store


def _torch_payload(marker: Path) -> bytes:
    import torch

    buffer = io.BytesIO()
    torch.save({"format": 2, "model": Payload(marker)}, buffer)
    return buffer.getvalue()


def plant(store: Path, marker: Path) -> list[Path]:
    """Replace every file of ``store`` by a payload (a torch file for .pt/.bin), add the pickle
    entries and weights an old or hostile writer could leave, and reseal every manifest."""
    plain, torch_file = pickle.dumps(Payload(marker)), _torch_payload(marker)
    planted = []
    for path in sorted(p for p in store.rglob("*") if p.is_file() and not p.is_symlink()):
        path.write_bytes(torch_file if path.suffix in (".pt", ".bin") else plain)
        planted.append(path)
    for entry in list((store / "features").glob("*.safetensors")):  # the old format under every key
        old = entry.with_suffix(".pkl")
        old.write_bytes(plain)
        planted.append(old)
    for encoder in store.glob("intermediate/*/encoder"):  # pickle weights beside the safetensors ones
        (encoder / "pytorch_model.bin").write_bytes(torch_file)
        planted.append(encoder / "pytorch_model.bin")
    for manifest in store.rglob(MANIFEST):
        seal(manifest.parent)  # the digests now agree with the payloads
    return planted


def test_every_file_a_co_user_can_write_is_read_without_running_it(clean_store, tmp_path):
    store, marker = tmp_path / "store", tmp_path / "marker"
    shutil.copytree(clean_store, store)
    planted = plant(store, marker)
    kinds = {p.suffix for p in planted}
    assert {".safetensors", ".pkl", ".pt", ".json", ".bin", ".lock", ".owner", ".log"} <= kinds, kinds
    assert any(p.name == "plan.json" for p in planted) and any(p.name == "state.pt" for p in planted)

    commands = {
        "run (reuse, then retrain and resume from the planted checkpoints)": ["run", *FAST, "--output", store],
        "sweep --status": ["sweep", *FAST[:-4], "--output", store, "--status"],
        "sweep": ["sweep", *FAST[:-4], "--output", store],
        "study analyse": ["study", "analyse", "typology", store],
        "study run": ["study", "run", "typology", "--preset", "smoke", "--output", store],
        "report": ["report", store],
        "verify": ["verify", store],
    }
    for what, args in commands.items():
        result = invoke(*args)
        assert not marker.exists(), f"{what} ran code planted in the store"
        assert clean_exit(result), f"{what}: {result.exception!r}\n{result.output}"
    # the planted run was not believed: it was set aside and computed again, from scratch
    run = invoke("run", *FAST, "--output", store)
    assert run.exit_code == 0 and "reusing finished run" in run.output, run.output
    assert list((store / "damaged").iterdir()), "the planted phases were not set aside"
    assert not marker.exists()


def _numbers(scores: dict) -> tuple:
    return scores["per_language"], scores["average"]


def test_a_planted_checkpoint_is_set_aside_and_training_starts_over(clean_store, tmp_path):
    """Resume reads state.pt with torch.load(weights_only=True): a pickle there is refused, in words."""
    store, marker = tmp_path / "store", tmp_path / "marker"
    shutil.copytree(clean_store, store)
    expected = [json.loads(p.read_text())["scores"] for p in sorted(store.glob("runs/hellaswag__*/results.json"))]
    shutil.rmtree(store / "runs")  # both phases' checkpoints are left, as after a stop
    shutil.rmtree(store / "intermediate")
    states = sorted(store.glob("checkpoints/*/*/*/state.pt"))
    assert states
    for state in states:
        state.write_bytes(_torch_payload(marker))
        seal(state.parent)
    result = invoke("run", *FAST, "--output", store)
    assert not marker.exists()
    assert result.exit_code == 0, result.output
    assert "holds more than plain tensors and numbers" in result.output
    got = [json.loads(p.read_text())["scores"] for p in sorted(store.glob("runs/hellaswag__*/results.json"))]
    # trained again from the start: the same scores (per language and average; the flags also name the
    # epochs a run trained, which differ between the clean store's runs)
    assert _numbers(expected[0]) in [_numbers(g) for g in got]


def test_old_pickle_feature_entries_are_never_opened_and_said_so_once(clean_store, tmp_path, caplog):
    store, marker = tmp_path / "store", tmp_path / "marker"
    shutil.copytree(clean_store, store)
    for entry in (store / "features").glob("*.safetensors"):
        entry.with_suffix(".pkl").write_bytes(pickle.dumps(Payload(marker)))
        entry.unlink()
    shutil.rmtree(store / "runs")
    shutil.rmtree(store / "intermediate")
    with caplog.at_level("WARNING", logger="harness.data.features"):
        result = invoke("run", *FAST, "--output", store)
    assert result.exit_code == 0, result.output
    assert not marker.exists()
    notes = [r.getMessage() for r in caplog.records if "old pickle format" in r.getMessage()]
    assert len(notes) == 1 and "rebuilt as safetensors" in notes[0]
    assert list((store / "features").glob("*.safetensors"))


# -- xharness verify ----------------------------------------------------------------------------

def test_verify_passes_a_sound_store_and_names_each_fault(clean_store, tmp_path):
    sound = invoke("verify", clean_store)
    assert sound.exit_code == 0, sound.output
    assert "all sound" in sound.output

    store = tmp_path / "store"
    shutil.copytree(clean_store, store)
    run_dir = sorted((store / "runs").iterdir())[0]
    results = run_dir / "results.json"
    flipped = bytearray(results.read_bytes())
    flipped[10] ^= 0x01
    results.write_bytes(bytes(flipped))  # a bit flip
    weights = next(store.glob("intermediate/*/encoder/model.safetensors"))
    weights.write_bytes(weights.read_bytes()[:-100])  # truncated
    entry = next((store / "features").glob("*.safetensors"))
    content = entry.read_bytes()
    entry.write_bytes(content[:-1] + bytes([content[-1] ^ 0x01]))  # a bit flip in the last byte of a feature entry
    extra = sorted((store / "runs").iterdir())[1] / "predictions" / "extra.tsv"
    extra.write_text("added after sealing\n")
    (store / "logs" / "planted.log").symlink_to("/etc/passwd")
    (store / "features" / "0123.pkl").write_bytes(b"old")
    (store / "runs" / ".half-written.123.tmp").mkdir()
    result = invoke("verify", store, "--json")
    assert result.exit_code == 1, result.output
    report = json.loads(result.output)
    found = {(f["status"], Path(f["path"]).name): f["why"] for f in report["findings"]}
    assert "SHA-256" in found[("damaged", run_dir.name)]
    assert "changed size" in found[("damaged", weights.parent.parent.name)]
    assert "SHA-256" in found[("damaged", entry.name)]
    assert "does not list" in found[("damaged", extra.parent.parent.name)]
    assert "symbolic link" in found[("foreign", "planted.log")]
    assert "old pickle format" in found[("foreign", "0123.pkl")]
    assert ("temporary", ".half-written.123.tmp") in found
    assert len(found) == 7, found
    text = invoke("verify", store)
    assert text.exit_code == 1 and "3 damaged" not in text.output and "4 damaged, 2 foreign, 1 temporary" in text.output


def test_verify_of_a_missing_folder_is_one_line(tmp_path):
    result = invoke("verify", tmp_path / "nowhere")
    assert result.exit_code == 1
    assert result.output.strip().count("\n") == 0 and "is not a folder" in result.output


# -- plugin code in the keys --------------------------------------------------------------------

PLUGIN = textwrap.dedent('''
    import dataclasses

    from harness import hookimpl
    from xharness_xtreme.pawsx import PAWSX

    MYPAWS = dataclasses.replace(PAWSX, name="mypaws")


    @hookimpl
    def register_target_tasks(register):
        register(MYPAWS)
''')


def test_editing_a_plugin_in_place_never_reuses_what_it_computed(tmp_path, monkeypatch):
    """An editable plugin fixed in place (same name, same version) gets new keys: nothing it
    computed before the fix is reused."""
    from harness.contract.discovery import discover
    from harness.common.progress import Reporter
    from harness.cell.protocol import RunRequest, execute, plan_run

    source = tmp_path / "plugin" / "mypaws_plugin.py"
    source.parent.mkdir()
    source.write_text(PLUGIN)
    monkeypatch.syspath_prepend(str(source.parent))
    module = importlib.import_module("mypaws_plugin")
    request = RunRequest(inter="none", target="mypaws", preset="smoke", output=tmp_path / "store", languages=["en"],
                         overrides={"target_epochs": 1})

    class Quiet(Reporter):
        lines: list[str] = []

        def log(self, message: str) -> None:
            self.lines.append(message)

    first_path, first = execute(plan_run(request, discover(extra=[("mypaws", module)])), reporter_factory=Quiet)
    again_path, _ = execute(plan_run(request, discover(extra=[("mypaws", module)])), reporter_factory=Quiet)
    assert again_path == first_path and any("reusing finished run" in line for line in Quiet.lines)
    assert first["code"]["target"]["plugin:mypaws"] is not None

    source.write_text(PLUGIN + "\nMYPAWS = dataclasses.replace(MYPAWS, description='fixed a bug')\n")
    Quiet.lines.clear()
    fixed_path, fixed = execute(plan_run(request, discover(extra=[("mypaws", module)])), reporter_factory=Quiet)
    assert fixed_path != first_path and not any("reusing" in line for line in Quiet.lines)
    assert fixed["code"]["target"]["plugin:mypaws"] != first["code"]["target"]["plugin:mypaws"]
    sys.modules.pop("mypaws_plugin", None)


def test_the_code_digest_ignores_prose_layout_and_where_core_names_come_from(tmp_path):
    """Comments, docstrings, line breaks and importing a core name from harness.api rather than the
    module that defines it keep the digest (and so every key); a change to what the code does does not."""
    from harness.contract.discovery import code_digest

    def digest(text: str) -> str:
        path = tmp_path / "p" / "task.py"
        path.parent.mkdir(exist_ok=True)
        path.write_text(text)
        return code_digest([path], root=path.parent)

    base = digest('"""A task."""\nfrom harness.contract.errors import UserError\nfrom harness.analysis.report import build\n\n'
                  'def f(x):\n    return x + 1\n')
    assert digest('"""Another docstring."""\n# a comment\nfrom harness.api import UserError, build_report as build\n'
                  'def f(x):\n    """Adds one."""\n    return (x\n            + 1)  # still one\n') == base
    assert digest('from harness.api import UserError, build_report as build\ndef f(x):\n    return x + 2\n') != base
    assert digest('from harness.api import UserError, build_report\ndef f(x):\n    return x + 1\n') != base
    assert digest('from harness.api import UserError, build_report as build\nfrom os import path\n'
                  'def f(x):\n    return x + 1\n') != base


def test_editing_a_kinds_module_changes_the_keys_of_its_tasks_only(registry):
    from harness.contract.discovery import code_identity

    pawsx, udpos = registry.task("target", "pawsx"), registry.task("target", "udpos")
    both = code_identity(registry, [pawsx, udpos])
    assert set(both) == {"plugin:xtreme", "kind:classification", "kind:tagging"}
    assert all(len(digest) == 64 for digest in both.values())
    assert code_identity(registry, [pawsx]) == {k: v for k, v in both.items() if k != "kind:tagging"}


# -- the store writes only inside itself ----------------------------------------------------------

@pytest.mark.parametrize("name", ["checkpoints", "locks", "features", "runs"])
def test_a_file_where_the_store_keeps_a_folder_is_one_line(tmp_path, name):
    store = tmp_path / "store"
    store.mkdir()
    (store / name).write_text("not a folder")
    result = invoke("run", *FAST, "--output", store)
    assert result.exit_code == 1
    line = one_error_line(result)
    assert f"{store / name} is a file" in line and "move that file" in line


def test_a_symbolic_link_at_a_lock_or_phase_path_is_refused(clean_store, tmp_path):
    store = tmp_path / "store"
    shutil.copytree(clean_store, store)
    victim = tmp_path / "victim.txt"
    victim.write_text("someone else's file\n")
    for lock in sorted((store / "locks").glob("runs--*.lock")):
        lock.unlink()
        lock.symlink_to(victim)
    shutil.rmtree(store / "runs")
    result = invoke("run", *FAST, "--output", store)
    assert result.exit_code == 1
    line = one_error_line(result)
    assert "is a symbolic link" in line and "remove the link" in line
    assert victim.read_text() == "someone else's file\n"

    other = tmp_path / "other"
    shutil.copytree(clean_store, other)
    for phase in sorted((other / "intermediate").iterdir()):  # the cell's phase 2 among them
        elsewhere = tmp_path / f"elsewhere-{phase.name}"
        phase.rename(elsewhere)
        phase.symlink_to(elsewhere)
    result = invoke("run", *FAST, "--output", other)
    assert result.exit_code == 1 and "a phase folder" in one_error_line(result)


def test_a_result_replaced_by_a_link_is_not_believed(clean_store, tmp_path):
    """Even a link to a file with the very bytes the manifest lists: a sealed folder holds files."""
    store = tmp_path / "store"
    shutil.copytree(clean_store, store)
    for results in store.glob("runs/*/results.json"):
        copy = tmp_path / f"{results.parent.name}.json"
        shutil.copy(results, copy)
        results.unlink()
        results.symlink_to(copy)
    result = invoke("run", *FAST, "--output", store)
    assert result.exit_code == 0, result.output
    assert "results.json is a symbolic link" in result.output and "moved it to" in result.output


def test_temporary_files_of_a_killed_process_are_removed_by_the_next_run(clean_store, tmp_path):
    """A writer's temporary names carry its host and pid: one whose process is gone is removed,
    one whose process still runs is left alone, whatever folder of the store it is in."""
    import subprocess

    from harness.common.fsutil import temp_prefix

    store = tmp_path / "store"
    shutil.copytree(clean_store, store)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    mine = temp_prefix("x")[len(".x."):-1]  # "<host>-<pid>" of this (live) process
    stale_tag = mine.rpartition("-")[0] + f"-{dead.pid}"
    left = [store / "features" / f".{'a' * 32}.safetensors.{stale_tag}.k3j4h5.tmp",
            store / "locks" / f".runs--x.owner.{stale_tag}.abcdef.tmp",
            store / "sweeps" / f".grid.json.{stale_tag}.qwerty.tmp"]
    live = store / "features" / f".{'b' * 32}.safetensors.{mine}.k3j4h5.tmp"
    for path in [*left, live]:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"half")
    result = invoke("run", *FAST, "--output", store)
    assert result.exit_code == 0, result.output
    assert not any(p.exists() for p in left), [p.name for p in left if p.exists()]
    assert live.exists()
    assert result.output.count("left by a process that stopped") == len(left)


def test_a_half_built_model_of_a_killed_process_is_removed(tmp_path, monkeypatch, registry):
    import subprocess

    from harness.common.fsutil import temp_prefix
    from harness.cell.planning import resolve_model
    from harness.cell.protocol import _ensure_built

    monkeypatch.setenv("XHARNESS_CACHE", str(tmp_path / "cache"))
    model = resolve_model("tiny", registry)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    tag = temp_prefix("x")[len(".x."):-1].rpartition("-")[0] + f"-{dead.pid}"
    half = Path(model.location).parent / f".{Path(model.location).name}.{tag}.abc123.tmp"
    half.mkdir(parents=True)
    (half / "config.json").write_text("{}")
    _ensure_built(model)
    assert not half.exists() and (Path(model.location) / "config.json").is_file()


def test_submitit_job_files_are_kept_out_of_the_store(tmp_path, monkeypatch):
    """submitit's jobs unpickle what they run: its folder is the user's own (0700), not the store's."""
    import os
    import stat

    from harness.grids.sweep import slurm_folder

    monkeypatch.setenv("XHARNESS_CACHE", str(tmp_path / "cache"))
    folder = slurm_folder(tmp_path / "store")
    assert tmp_path / "cache" in folder.parents and not (tmp_path / "store").exists()
    info = os.stat(folder)
    assert stat.S_IMODE(info.st_mode) == 0o700 and info.st_uid == os.getuid()
    assert slurm_folder(tmp_path / "store") == folder and slurm_folder(tmp_path / "other") != folder


def test_the_checkpoint_after_the_last_epoch_keeps_only_the_state_the_phase_ends_with(clean_store):
    """No update follows the last epoch: its checkpoint holds the best state, the loop and the RNGs, not
    the optimizer's moments nor the current weights (a quarter of an earlier checkpoint's size)."""
    from harness.training.checkpoint import read_state

    phases = [folder for folder in clean_store.glob("checkpoints/*/*") if folder.is_dir()]
    assert phases
    for phase in phases:
        newest = sorted(p for p in phase.iterdir() if not p.name.startswith("."))[-1]  # the older ones are gone
        last, _ = read_state(newest / "state.pt")
        assert last["loop"]["update"] == last["history"]["updates"] and last["best_state"] is not None
        assert last["model"] is None and last["optimizer"] is None and last["scheduler"] is None
    # (a mid-training checkpoint still carries everything the next update needs: tests/test_resume.py
    # resumes from them bitwise)
