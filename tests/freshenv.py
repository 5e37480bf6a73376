"""Shared by the plugin-author tests: a fresh virtual environment that reuses this one's packages."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path


def fresh_venv(root: Path) -> tuple[Path, dict[str, str]]:
    """A new venv that sees this environment's packages without installing them (no downloads).

    A `.pth` line that starts with `import` runs at start-up: `site.addsitedir` adds this
    environment's site-packages *and* processes its own `.pth` files, which is what makes its
    editable installs (the core and the built-in plugins) importable and their entry points visible.
    pip itself comes from there too (`--without-pip` saves installing a copy)."""
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    project_site = sysconfig.get_paths()["purelib"]
    Path(purelib, "xharness_project_site.pth").write_text(f"import site; site.addsitedir({project_site!r})\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "XHARNESS_PLUGINS",
                                                            "XHARNESS_DISABLE_PLUGIN_AUTOLOAD")}
    env.update(HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", XHARNESS_CACHE=str(root / "cache"),
               HF_HOME=str(root / "hf-home"), HF_DATASETS_CACHE=str(root / "hf-datasets"),
               PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INDEX="1", TOKENIZERS_PARALLELISM="false")
    return python, env


def run_in(python: Path, args: list[str], env: dict[str, str], cwd: Path,
           timeout: int = 300) -> subprocess.CompletedProcess:
    """Run ``python args`` there; a non-zero exit fails the test with the ends of both outputs."""
    result = subprocess.run([str(python), *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=timeout)
    assert result.returncode == 0, (f"{' '.join(args)} exited {result.returncode}:\n{result.stdout[-3000:]}\n"
                                    f"{result.stderr[-3000:]}")
    return result
