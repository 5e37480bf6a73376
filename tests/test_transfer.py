"""Learning is visible with a real encoder on real data (issue 23, point 3): multilingual-e5-small,
fine-tuned on English UD POS tags, tags German and French far better than the majority-class
baseline, zero-shot, and its recorded curve shows it learning.

A cut of ``benchmarks/transfer.py``'s documented run (docs/transfer.md: all 2,001 English sentences,
2 epochs): the first 64 training sentences, 2 epochs of 8 updates of 8 sentences at lr 2e-4, the
first 100 dev and test sentences of each language. Measured at this cut: token accuracy de 46.3, fr
50.2 against the baseline's 17.6 and 18.0 (NOUN everywhere); English dev F1 17.1, then 40.2. Chinese is left out of the assertion: with XTREME's
first-piece labelling it sits at the baseline (docs/udpos.md says why).
"""

import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


@pytest.mark.slow
def test_e5_transfers_english_pos_tags_to_german_and_french_far_above_the_baseline(e5_model, tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import transfer  # benchmarks/transfer.py
    monkeypatch.setattr(sys, "argv", ["transfer.py", "--sentences", "64", "--test-sentences", "100", "--epochs",
                                      "2", "--lr", "2e-4", "--batch-size", "8", "--output", str(tmp_path / "store"),
                                      "--json", str(tmp_path / "figures.json"),
                                      "--languages", "de,fr"])  # zh is not asserted (see above)
    transfer.main()
    import json

    figures = json.loads((tmp_path / "figures.json").read_text())
    assert figures["majority_tag"] == "NOUN"
    for lang in ("de", "fr"):
        mine = figures["languages"][lang]
        assert mine["sentences"] == 100
        # the baseline tags a fifth of the tokens right; a model that learnt nothing transferable sits there
        assert mine["majority_accuracy"] < 25
        assert mine["accuracy"] > mine["majority_accuracy"] + 20, mine
        assert mine["f1"] > mine["majority_f1"] + 25, mine
    # the curve recorded in results.json shows the learning: English dev rises, the loss falls
    dev = figures["dev_by_epoch"]
    assert len(dev) == 2 and dev[1] > dev[0] + 10
    record = json.loads((Path(figures["run"]) / "results.json").read_text())
    steps = record["phases"]["target"]["history"]["steps"]
    assert steps["every"] == 1 and steps["update"] == list(range(1, 17))
    losses = steps["train_loss"]
    assert sum(losses[-4:]) / 4 < 0.8 * sum(losses[:4]) / 4
    rates = steps["learning_rate"]
    # the schedule as run: one warm-up update (10 % of 16) reaches the peak, then a linear decay towards 0
    peak = rates.index(max(rates))
    assert max(rates) == pytest.approx(2e-4) and peak <= 1
    assert all(later <= earlier for earlier, later in zip(rates[peak:], rates[peak + 1:])) and rates[-1] < 0.1 * max(rates)
