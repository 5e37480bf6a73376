"""Moving code does not move results: a few smoke cells, one per built-in kind that trains or
embeds, give the keys, scores and per-example outcomes recorded in tests/data/pinned_cells.json
(written by tools/pin_cells.py before the core was reorganised). A store made before a refactor is
then reused after it, nothing recomputed.

Only a change meant to change results may rewrite that file, and its commit says so."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PINNED = json.loads((ROOT / "tests" / "data" / "pinned_cells.json").read_text(encoding="utf-8"))

_spec = importlib.util.spec_from_file_location("pin_cells", ROOT / "tools" / "pin_cells.py")
pin_cells = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(pin_cells)


@pytest.mark.parametrize("inter,target,languages", pin_cells.CELLS, ids=[f"{i}->{t}" for i, t, _ in pin_cells.CELLS])
def test_cell_gives_the_pinned_keys_scores_and_outcomes(inter, target, languages, tmp_path):
    expected = PINNED["cells"][f"{inter}->{target}"]
    got = pin_cells.run_cell(inter, target, languages, tmp_path)
    assert got["phases"] == expected["phases"], "a phase key changed: every store would recompute this cell"
    assert got["folder"] == expected["folder"]
    assert got["scores"] == expected["scores"]
    assert got["outcomes"] == expected["outcomes"], "the same scores from different per-example outcomes"


def test_the_pinned_cells_cover_every_built_in_kind_that_trains_or_embeds():
    from harness.testing import discover

    registry = discover(autoload=True)
    kinds = set()
    for inter, target, _ in pin_cells.CELLS:
        if inter != "none":
            kinds.add(registry.task("intermediate", inter).spec.kind)
        kinds.add(registry.task("target", target).spec.kind)
    # masked_lm needs raw text no bundled intermediate task has; bitext_mining and dual_encoder
    # have their own determinism tests (test_retrieval, test_dual_encoder)
    assert {"classification", "multiple_choice", "tagging", "span_qa", "retrieval"} <= kinds
