"""Test set-up: no network, private caches, and the shared real-data samples."""

import os

# Before any Hugging Face import: never wait on the hub.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"
if os.environ.get("PYTEST_XDIST_WORKER"):
    # one thread per worker (and per process a test starts): workers on every core, each using every
    # core too, would fight over them (the suite took 17 minutes on two cores that way, 6 without)
    for _name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[_name] = "1"

import shutil  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"

_SESSION_TMP = Path(tempfile.mkdtemp(prefix="xharness-tests-"))
os.environ["XHARNESS_CACHE"] = str(_SESSION_TMP / "xharness-cache")
os.environ["HF_DATASETS_CACHE"] = str(_SESSION_TMP / "hf-datasets")
os.environ["HF_HOME"] = str(_SESSION_TMP / "hf-home")


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(_SESSION_TMP, ignore_errors=True)
    target = os.environ.get("XHARNESS_WRITE_DURATIONS")
    if target and _MEASURED and not os.environ.get("PYTEST_XDIST_WORKER"):
        import json

        ranked = dict(sorted(((m, round(t, 1)) for m, t in _MEASURED.items()), key=lambda kv: (-kv[1], kv[0])))
        Path(target).write_text(json.dumps(ranked, indent=1) + "\n", encoding="utf-8")


def _shared(relative: str) -> Path:
    path = SHARED / relative
    if not path.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{path} is missing: CI must have ../shared beside the checkout")
        pytest.skip(f"{path} not available")
    return path


@pytest.fixture
def shared_data() -> Path:
    return _shared("data")


@pytest.fixture(scope="session")
def shared_data_once() -> Path:
    """``shared_data`` for fixtures that outlive a test (module or session scope)."""
    return _shared("data")


@pytest.fixture(scope="session")
def e5_model() -> Path:
    return _shared("models/multilingual-e5-small")


@pytest.fixture(scope="session")
def registry():
    from harness.contract.discovery import discover

    return discover()


@pytest.fixture(scope="session")
def tiny_model_dir(registry) -> Path:
    """The tiny backbone, built through the installed models plugin (found by discovery)."""
    target = _SESSION_TMP / "tiny-model"
    if not target.exists():
        registry.model("tiny").spec.build(target)
    return target


_SMOKE: dict[str, Path] = {}


@pytest.fixture(scope="session")
def smoke_run():
    """One `xharness run --inter hellaswag --target pawsx --preset smoke`, shared by several tests."""
    from click.testing import CliRunner

    from harness.cli import cli

    output = _SESSION_TMP / "smoke-runs"
    result = CliRunner().invoke(cli, ["run", "--inter", "hellaswag", "--target", "pawsx", "--preset", "smoke",
                                      "--output", str(output)])
    found = sorted((output / "runs").glob("*/results.json"))
    if len(found) == 1:
        _SMOKE["results"] = found[0]
    return output, result


@pytest.fixture(scope="session")
def smoke_results(smoke_run) -> Path:
    """results.json of that run (later tests add runs of other settings to the same folder)."""
    assert smoke_run[1].exit_code == 0, smoke_run[1].output
    return _SMOKE["results"]


#: Each test module's measured seconds on two cores (setup, calls and teardown added up), heaviest
#: first: the order in which pytest-xdist hands modules to workers (``--dist loadfile``: a module at a
#: time, to whichever worker is free), so the long ones start first and the last to start are short
#: (longest-processing-time-first scheduling). Refresh it after adding or slowing tests with
#: ``XHARNESS_WRITE_DURATIONS=tests/durations.json python -m pytest``; a module missing from it
#: counts as instant and keeps its collected place among those.
DURATIONS = Path(__file__).resolve().parent / "durations.json"


def _module_of(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


def pytest_collection_modifyitems(session, config, items):
    """Modules in descending measured duration (``durations.json``); within a module, tests marked slow
    first, then in their collected order (a module stays together, so its fixtures are set up once)."""
    import json

    try:
        seconds = json.loads(DURATIONS.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        seconds = {}
    first_seen: dict = {}
    for index, item in enumerate(items):
        first_seen.setdefault(_module_of(item.nodeid), index)
    order = {id(item): index for index, item in enumerate(items)}
    items.sort(key=lambda item: (-float(seconds.get(_module_of(item.nodeid), 0.0)), first_seen[_module_of(item.nodeid)],
                                 item.get_closest_marker("slow") is None, order[id(item)]))


_MEASURED: dict[str, float] = {}


def pytest_runtest_logreport(report):
    """Add up each module's seconds (on the controller, every worker's reports arrive here)."""
    if os.environ.get("XHARNESS_WRITE_DURATIONS") and report.when in ("setup", "call", "teardown"):
        module = _module_of(report.nodeid)
        _MEASURED[module] = _MEASURED.get(module, 0.0) + report.duration


