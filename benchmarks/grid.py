"""What a grid costs with and without phase reuse and the feature cache, and what resumability costs.

    python benchmarks/grid.py             # needs ../shared beside the checkout for the e5 rows

(1) A 3 intermediate (hellaswag, mnli, none) × 2 target (pawsx, xnli) × 2 seed smoke grid, three
    ways, each in a fresh store: every cell on its own (no reuse between cells, no feature
    cache), one store with the feature cache off, and one store as `xharness sweep` runs it.
    Counted from the results records: phase-2 and phase-3 trainings and featurisations; timed:
    wall seconds of the whole grid.
(2) Resume overhead: time spent writing training checkpoints as a share of training time, for
    checkpoints at every epoch end only (the default while epochs last under --checkpoint-minutes)
    and after every update (--checkpoint-minutes 0), on the tiny model and on the real
    multilingual-e5-small encoder (33M parameters: optimizer state included, each checkpoint
    holds about 0.4 GB).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from common import REPO, SHARED  # sets the offline environment first

E5 = SHARED / "models" / "multilingual-e5-small"


class Quiet:
    def __init__(self, main: bool = True):
        pass

    def log(self, message: str) -> None:
        pass

    def task(self, description: str, total: int):
        from contextlib import nullcontext

        return nullcontext(lambda: None)


def run_cells(requests, registry) -> list[dict]:
    from harness.cell.planning import plan_run
    from harness.cell.protocol import execute

    records = []
    for request in requests:
        records.append(execute(plan_run(request, registry), reporter_factory=Quiet)[1])
    return records


def grid_cost(root: Path, registry) -> list[list]:
    import harness.data.features as features
    from harness.grids.sweep import Grid

    grid = Grid(inter=["hellaswag", "mnli", "none"], target=["pawsx", "xnli"], seeds=[1, 2], preset="smoke")
    rows = []
    for label, separate, cache in (("every cell on its own", True, False), ("one store, no feature cache", False, False),
                                   ("one store + feature cache (sweep)", False, True)):
        os.environ["XHARNESS_FEATURE_CACHE"] = "1" if cache else "0"
        calls = {"n": 0}
        real = features.cached_featurize

        def counting(*args, compute, **kwargs):
            def counted():
                calls["n"] += 1
                return compute()
            return real(*args, compute=counted, **kwargs)

        features.cached_featurize = counting  # runners look it up at each call
        began = time.perf_counter()
        try:
            requests = grid.requests()
            for i, request in enumerate(requests):
                request.output = root / label.replace(" ", "-") / (str(i) if separate else "")
            records = run_cells(requests, registry)
        finally:
            features.cached_featurize = real
        seconds = time.perf_counter() - began
        inter = sum(1 for r in records if r["phases"]["intermediate"] and not r["phases"]["intermediate"]["reused"])
        rows.append([label, len(records), inter, len(records), calls["n"], seconds])
    os.environ.pop("XHARNESS_FEATURE_CACHE", None)
    return rows


def resume_overhead(root: Path, registry, use_e5: bool) -> list[list]:
    from harness.cell.planning import RunRequest

    rows = []
    models = [("tiny", None)] + ([("multilingual-e5-small", str(E5))] if use_e5 else [])
    for name, model in models:
        for label, minutes in (("epoch ends", 30.0), ("every update", 0.0)):
            request = RunRequest(inter="none", target="pawsx", model=model, preset="smoke", languages=["en"],
                                 output=root / f"resume-{name}-{minutes}", checkpoint_minutes=minutes)
            (record,) = run_cells([request], registry)
            history = record["phases"]["target"]["history"]
            written, spent = history["checkpoints"]["written"], history["checkpoints"]["seconds"]
            rows.append([name, label, history["updates"], written, spent, history["train_seconds"],
                         f"{100 * spent / history['train_seconds']:.1f} %"])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-e5", action="store_true", help="skip the real-encoder rows")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    from tabulate import tabulate

    from harness.contract.discovery import discover

    registry = discover()
    with tempfile.TemporaryDirectory(prefix="xharness-grid-bench-") as tmp:
        os.environ.setdefault("XHARNESS_CACHE", str(Path(tmp) / "cache"))
        root = Path(tmp)
        rows = grid_cost(root, registry)
        base = rows[0][-1]
        table = [row[:-1] + [f"{row[-1]:.1f}", f"{base / row[-1]:.2f}×"] for row in rows]
        print("(1) a 3 × 2 × 2 smoke grid (tiny model, bundled samples), wall time of one run each")
        print(tabulate(table, headers=["how", "cells", "phase-2 trainings", "phase-3 trainings", "featurisations",
                                       "seconds", "speed-up"]))
        print()
        use_e5 = not args.no_e5 and E5.is_dir()
        rows = resume_overhead(root, registry, use_e5)
        print("(2) resume overhead: PAWS-X fine-tuning on the smoke samples (en), checkpoint time / training time")
        print(tabulate([[*r[:4], f"{r[4]:.2f}", f"{r[4] / max(1, r[3]):.2f}", f"{r[5]:.2f}", r[6]] for r in rows],
                       headers=["model", "checkpoints at", "updates", "written", "seconds writing", "per checkpoint",
                                "training seconds", "share"]))
        print(json.dumps({"machine": f"{os.cpu_count()} CPU cores"}))


if __name__ == "__main__":
    main()
