"""Fast answers about the Hugging Face hub, without importing transformers or datasets.

An unreachable hub makes every hub lookup hang for tens of seconds before failing. We probe
once with a short timeout and, if the hub is out of reach, switch the HF libraries to offline
mode *before* they are imported, so cached data still loads and missing data fails at once.
"""

from __future__ import annotations

import os
import socket
import threading
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlparse

OFFLINE_VARS = ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE")


def offline_requested() -> bool:
    from harness.common.envflags import flag

    return any(flag(v) for v in OFFLINE_VARS)


@lru_cache(maxsize=1)
def hub_reachable(timeout: float = 1.5) -> bool:
    if offline_requested():
        return False
    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co")
    parsed = urlparse(endpoint)
    host, port = parsed.hostname or "huggingface.co", parsed.port or (80 if parsed.scheme == "http" else 443)
    answer: list[bool] = []

    def probe() -> None:
        try:
            socket.create_connection((host, port), timeout=timeout).close()
            answer.append(True)
        except OSError:
            answer.append(False)

    # DNS resolution ignores socket timeouts, so the probe runs in a thread we can abandon.
    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(timeout)
    return bool(answer and answer[0])


def go_offline() -> None:
    for name in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"):
        os.environ[name] = "1"


def _hf_home() -> Path:
    return Path(os.environ.get("HF_HOME", Path.home() / ".cache" / "huggingface"))


def hub_cache_dir() -> Path:
    return Path(os.environ.get("HF_HUB_CACHE", os.environ.get("HUGGINGFACE_HUB_CACHE", _hf_home() / "hub")))


def datasets_cache_dir() -> Path:
    return Path(os.environ.get("HF_DATASETS_CACHE", _hf_home() / "datasets"))


def dataset_maybe_cached(path: str) -> bool:
    repo = path.replace("/", "--")
    return (hub_cache_dir() / f"datasets--{repo}").exists() or (
        datasets_cache_dir() / path.replace("/", "___")
    ).exists()


def model_maybe_cached(model_id: str) -> bool:
    return (hub_cache_dir() / f"models--{model_id.replace('/', '--')}").exists()
