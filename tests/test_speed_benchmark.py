"""benchmarks/speed.py --size tiny: the GPU benchmark's CPU mode runs end to end and its figures hold
together (identical batches are identical, padding is counted as the batches padded it, the
predictions agree, mining finds what was planted). Its numbers are not checked: this machine's."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import zygote

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_tiny_benchmark_runs_and_its_figures_hold_together(tmp_path, e5_model, shared_data):
    out = tmp_path / "speed.json"
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1")
    # a real process forked from the zygote that has imported torch (tests/zygote.py): the mining figure
    # is the process's peak resident memory after resetting its high-water mark, so what it inherited
    # does not count
    done = zygote.run([sys.executable, str(REPO / "benchmarks" / "speed.py"), "--size", "tiny", "--json", str(out),
                       # fewer examples than the tiny plan's: the figures' coherence, not their precision
                       "--examples", "16", "--warmup", "1",
                       # the smallest corpus whose score blocks still show bounded memory (3 blocks < the matrix)
                       "--mining-size", "15000",
                       # dynamo's capture without AOT autograd: the compile path, at a third of the cost
                       "--compile-backend", "eager"],
                      cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "(1) training, real tokens per second" in done.stdout and "(4) mining" in done.stdout
    report = json.loads(out.read_text())
    assert report["size"] == "tiny" and report["device"]["type"] == "cpu"
    assert report["encoder"]["vocab_size"] > 100_000  # the real XLM-R vocabulary's ids (pruned to the data's)
    for family, row in report["training"].items():
        harness, same = row["harness"], row["trainer_same"]
        # identical batches: the same examples and tokens, the same padding
        assert (harness["real_tokens"], harness["padded_tokens"]) == (same["real_tokens"], same["padded_tokens"])
        assert row["pad_to_max"]["padded_tokens"] == row["pad_to_max"]["examples"] * row["max_length"]
        assert row["pad_to_max"]["real_tokens"] == harness["real_tokens"]
        assert harness["padded_tokens"] < row["pad_to_max"]["padded_tokens"]
        for name in ("harness", "trainer_same", "trainer_random", "pad_to_max", "eager"):
            assert row[name]["tokens_per_second"] > 0 and row[name]["mfu"] is None  # no peak for a CPU
        assert "flash_attn" in row["unpadded"]["skipped"]
    compiled = report["training"]["classification"]["compile"]
    assert compiled["backend"] == "eager" and compiled["tokens_per_second"] > 0
    assert compiled["real_tokens"] == report["training"]["classification"]["harness"]["real_tokens"]
    assert "goals" not in report  # the H100 goals are checked only for --size large on a GPU
    evaluation = report["evaluation"]
    assert evaluation["same_batches_no_grad"]["predictions_agree"] == 1.0
    assert evaluation["random_batches_pad_to_max"]["padded_tokens"] == (evaluation["harness"]["examples"]
                                                                       * evaluation["max_length"])
    assert report["embedding"]["sentences"] > 0 and report["embedding"]["sentences_per_second"] > 0
    mining = report["mining"]
    assert mining["planted_pairs_found"] >= 0.95 * mining["planted_pairs"]
    # bounded: a block of scores and its top-k, not the full matrix (within allocator slack)
    assert 0 < mining["peak_memory_bytes"] < 3 * mining["score_block_bytes"] < mining["full_matrix_bytes"]


def test_large_without_a_gpu_is_one_line(tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is here: --size large is what it is for")
    done = subprocess.run([sys.executable, str(REPO / "benchmarks" / "speed.py"), "--size", "large"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert done.stderr.strip().splitlines() == ["error: no GPU here, and --size large would take hours on the CPU; "
                                                "use --size tiny (or --device cpu to run it anyway)"]
