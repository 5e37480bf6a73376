"""Write tests/data/pinned_cells.json: the keys and scores of a few smoke cells, one per kind.

Run it only when a change is meant to change keys or scores (and say so in the commit); the test
``tests/test_pinned_cells.py`` reruns the same cells and compares, so that a refactor which moves
code around is proven to give the same keys, scores and predictions as before.

usage: python tools/pin_cells.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "data" / "pinned_cells.json"

#: (intermediate, target, languages): together they cover every built-in kind that trains or embeds
CELLS = [("hellaswag", "pawsx", "en,de,zh"),     # multiple_choice -> classification
         ("squad", "udpos", "en,de"),            # span_qa -> tagging
         ("none", "xquad", "en,de"),             # span_qa as the target
         ("mnli", "tatoeba", "de,fr")]           # classification -> retrieval (untrained)


def pinned(record: dict, folder: Path) -> dict:
    """What a cell pins: its folder name (which ends in the run's key), each phase's key, the scores
    and a digest of each language's per-example outcomes (every test prediction's outcome)."""
    import hashlib

    predictions = {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
                   for p in sorted(folder.glob("outcomes/*.json"))}
    return {"folder": folder.name,
            "phases": {name: (phase or {}).get("key") for name, phase in sorted(record["phases"].items())},
            "scores": record["scores"]["per_language"],
            "outcomes": predictions}


#: The model cache the cells use. A built model's identity holds its folder, so the keys of the
#: tiny backbone depend on where the cache lies; the pinned ones are for this folder.
CACHE = Path("/tmp/xharness-pinned-cells-cache")


def run_cell(inter: str, target: str, languages: str, output: Path) -> dict:
    from harness.api import run

    previous = os.environ.get("XHARNESS_CACHE")
    os.environ["XHARNESS_CACHE"] = str(CACHE)
    try:
        result = run(inter, target, preset="smoke", languages=languages, output=output)
    finally:
        if previous is None:
            del os.environ["XHARNESS_CACHE"]
        else:
            os.environ["XHARNESS_CACHE"] = previous
    return pinned(result.record, result.folder)


def main() -> int:
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    with tempfile.TemporaryDirectory() as tmp:
        cells = {f"{i}->{t}": run_cell(i, t, langs, Path(tmp)) for i, t, langs in CELLS}
    OUT.write_text(json.dumps({"generated_at": commit, "cells": cells}, indent=1, sort_keys=True) + "\n",
                   encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)} ({len(cells)} cells, at {commit[:12]})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
