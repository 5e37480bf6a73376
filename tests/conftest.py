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


def pytest_collection_modifyitems(session, config, items):
    """Long tests first: modules holding a test marked slow lead (in their collected order), and
    within a module its slow tests lead. pytest-xdist hands out tests in this order (worksteal:
    each worker a contiguous share, an idle one taking the back half of another's queue), so a long
    test no longer starts last and leaves one core idle while it runs; a module stays together, so
    its fixtures are set up once."""
    def slow(item) -> bool:
        return item.get_closest_marker("slow") is not None

    slow_modules = {item.module for item in items if slow(item)}
    first_seen: dict = {}
    for index, item in enumerate(items):
        first_seen.setdefault(item.module, index)
    order = {id(item): index for index, item in enumerate(items)}
    items.sort(key=lambda item: (item.module not in slow_modules, first_seen[item.module], not slow(item),
                                 order[id(item)]))
