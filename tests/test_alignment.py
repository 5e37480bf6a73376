"""Alignment at every layer: recall and the translation gap by hand, and one forward pass per
batch that reproduces the one-layer retrieval path (and a Tatoeba run's accuracy) exactly."""

import json

import pytest
import torch
from click.testing import CliRunner

from harness.analysis.alignment import (embed_all_layers, layer_profile, pair_cosines_by_layer, ranks_by_layer,
                               recall_by_layer, translation_gap_by_layer)
from harness.cli import cli
from harness.kinds.retrieval import embed, tatoeba_accuracy
from harness.common.progress import Reporter

# -- hand-worked: two layers, five pairs ---------------------------------------------------------
# Layer 0 lives in the first two of five dimensions. Target 4 duplicates target 2, so some
# cosines tie exactly. Layer 1 is the identity on both sides: every pair is its own best match.
T0 = [[1, 0], [0, 1], [.6, .8], [.8, .6], [.6, .8]]
S0 = [[1, 0], [1, 0], [0, 1], [0, 1], [-1, 0]]
# cosines (rows: sources, columns: targets) and the gold's rank:
#   s0  [ 1,  0,  .6,  .8,  .6]  gold 1      nothing above                     rank 1
#   s1  [ 1,  0,  .6,  .8,  .6]  gold 0      4 above                           rank 5
#   s2  [ 0,  1,  .8,  .6,  .8]  gold .8     1 above, t4 tied (against it)     rank 3
#   s3  [ 0,  1,  .8,  .6,  .8]  gold .6     3 above                           rank 4
#   s4  [-1,  0, -.6, -.8, -.6]  gold -.6    1 above, t2 tied                  rank 3


def _layers():
    def padded(rows):
        return torch.tensor([r + [0, 0, 0] for r in rows], dtype=torch.float32)

    eye = torch.eye(5)
    return torch.stack([padded(S0), eye]), torch.stack([padded(T0), eye])


def test_ranks_and_recall_by_hand_with_ties_and_k_beyond_the_pool():
    source, target = _layers()
    assert ranks_by_layer(source, target) == {0: [1, 5, 3, 4, 3], 1: [1, 1, 1, 1, 1]}
    recall = recall_by_layer(source, target, ks=(1, 2, 3, 4, 10))
    assert recall[0] == {1: 20.0, 2: 20.0, 3: 60.0, 4: 80.0, 10: 100.0}  # 10 > 5 targets: everything
    assert recall[1] == {1: 100.0, 2: 100.0, 3: 100.0, 4: 100.0, 10: 100.0}
    assert recall_by_layer(source, target)[0] == {1: 20.0, 5: 100.0, 10: 100.0}  # default ks


def test_a_tie_at_the_top_is_decided_as_the_tatoeba_search_decides_it():
    # two identical sources, two identical targets: every cosine ties. The search returns the same
    # target for both queries, so exactly one is right (rank 1) and the other has rank 1 + 1 tied.
    source = torch.tensor([[[1.0, 0.0], [1.0, 0.0]]])
    target = source.clone()
    accuracy, _ = tatoeba_accuracy(source[0], target[0])
    assert accuracy == 50.0
    assert sorted(ranks_by_layer(source, target)[0]) == [1, 2]
    assert recall_by_layer(source, target, ks=(1, 2)) == {0: {1: 50.0, 2: 100.0}}


def test_recall_rejects_misaligned_inputs():
    source, target = _layers()
    with pytest.raises(ValueError, match="differ in shape"):
        recall_by_layer(source, target[:, :4])
    with pytest.raises(ValueError, match="layers, pairs, hidden"):
        recall_by_layer(source[0], target[0])
    with pytest.raises(ValueError, match="positive"):
        recall_by_layer(source, target, ks=(0, 1))


def test_translation_gap_by_hand():
    source, target = _layers()
    # layer 0: translation cosines 1, 0, .8, .6, -.6 → mean .36. All 25 cosines sum to
    # (Σs)·(Σt) = (1, 2)·(3, 3.2) = 9.4, so the 20 off-diagonal ones average (9.4 − 1.8) / 20 = .38.
    cosines = pair_cosines_by_layer(source, target)
    assert cosines[0] == pytest.approx((0.36, 0.38), abs=1e-6)
    assert cosines[1] == pytest.approx((1.0, 0.0), abs=1e-12)
    gap = translation_gap_by_layer(source, target)
    assert gap[0] == pytest.approx(-0.02, abs=1e-6) and gap[1] == pytest.approx(1.0, abs=1e-12)
    similarity = source[0] @ target[0].T  # the same off-diagonal mean, from the matrix
    off = similarity[~torch.eye(5, dtype=torch.bool)].mean().item()
    assert cosines[0][1] == pytest.approx(off, abs=1e-6)


def test_sampled_non_translation_pairs_are_seeded_and_never_translations():
    source, target = _layers()
    # at the identity layer a drawn translation pair would add 1; other pairs add 0
    assert pair_cosines_by_layer(source, target, samples=500, seed=3)[1] == (1.0, 0.0)
    first = translation_gap_by_layer(source, target, samples=4000, seed=3)
    assert first == translation_gap_by_layer(source, target, samples=4000, seed=3)
    assert first != translation_gap_by_layer(source, target, samples=4000, seed=4)
    assert first[0] == pytest.approx(-0.02, abs=0.03)  # near the exact value


# -- the real encoder ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def e5(e5_model):
    from accelerate import Accelerator

    from harness.training.model import load_backbone

    accelerator = Accelerator(cpu=True)
    tokenizer, encoder = load_backbone(str(e5_model))
    return accelerator, accelerator.prepare_model(encoder, evaluation_mode=True), tokenizer


def _lines(path, n):
    with open(path, encoding="utf-8") as handle:
        return [line.rstrip("\r\n") for line in handle][:n]


def test_every_layer_equals_the_one_layer_path(e5, shared_data):
    accelerator, encoder, tokenizer = e5
    # 40 German sentences in batches of 16: three batches, each padded to its own longest member
    texts = _lines(shared_data / "tatoeba" / "v1" / "tatoeba.deu-eng.deu", 40)
    for pooling in ("mean", "cls"):
        options = {"pooling": pooling, "batch_size": 16, "max_length": 512, "reporter": Reporter(False),
                   "description": "test"}
        every = embed_all_layers(accelerator, encoder, tokenizer, texts, **options)
        assert every.shape == (13, 40, 384)
        assert torch.allclose(every.norm(dim=-1), torch.ones(13, 40))
        for layer in (0, 7, 12):
            assert torch.equal(every[layer], embed(accelerator, encoder, tokenizer, texts, layer=layer, **options))
    assert not torch.allclose(every[7], every[12])  # the layers are different states


class _Shard:
    """One of two processes, simulated in turn: process 1 hands its rows to process 0's reduce."""

    def __init__(self, index, passed):
        self.process_index, self.num_processes, self.device, self.passed = index, 2, torch.device("cpu"), passed

    def unwrap_model(self, model):
        return model

    def autocast(self):
        return torch.autocast("cpu", enabled=False)

    def reduce(self, tensor, reduction):
        assert reduction == "sum"
        if self.process_index == 1:
            self.passed.append(tensor.clone())
            return tensor
        return tensor + self.passed[0]


def test_sharded_over_two_processes_equals_one_process(e5, shared_data):
    accelerator, encoder, tokenizer = e5
    texts = _lines(shared_data / "tatoeba" / "v1" / "tatoeba.fra-eng.fra", 30)
    options = {"pooling": "mean", "batch_size": 8, "max_length": 512, "reporter": Reporter(False),
               "description": "test"}
    whole = embed_all_layers(accelerator, encoder, tokenizer, texts, **options)
    passed: list = []
    embed_all_layers(_Shard(1, passed), encoder, tokenizer, texts, **options)
    filled = (passed[0].abs().sum(dim=(0, 2)) > 0).sum().item()
    assert 0 < filled < 30  # process 1 embedded only its batches
    assert torch.allclose(embed_all_layers(_Shard(0, passed), encoder, tokenizer, texts, **options), whole)


def _cut_tatoeba(shared_data, folder, lines):
    """The first ``lines`` pairs of German and French, in LASER's layout under ``folder``."""
    source = shared_data / "tatoeba" / "v1"
    (folder / "v1").mkdir(parents=True)
    pairs = {}
    for lang, code in (("de", "deu"), ("fr", "fra")):
        sides = []
        for suffix in (code, "eng"):
            kept = _lines(source / f"tatoeba.{code}-eng.{suffix}", lines)
            (folder / "v1" / f"tatoeba.{code}-eng.{suffix}").write_text("\n".join(kept) + "\n", encoding="utf-8")
            sides.append(kept)
        pairs[lang] = tuple(sides)
    return pairs


#: Tatoeba's batch size as run_retrieval uses it (2 × its per-device default of 32): the pairs below
#: are embedded once, in batches of this size, for the tests that compare with a run and for the profile
TATOEBA_BATCH = 64


@pytest.fixture(scope="module")
def tatoeba40(tmp_path_factory, e5, shared_data_once):
    """40 pairs of German and French (at 40, layers 7 and 12 already differ in recall@1 for both:
    de 97.5/100, fr 85/95), cut to a folder, and every layer's embeddings of both sides."""
    accelerator, encoder, tokenizer = e5
    folder = tmp_path_factory.mktemp("tatoeba40")
    pairs = _cut_tatoeba(shared_data_once, folder, 40)
    options = {"pooling": "mean", "batch_size": TATOEBA_BATCH, "max_length": 512, "reporter": Reporter(False)}
    embedded = {lang: tuple(embed_all_layers(accelerator, encoder, tokenizer, list(texts), description=lang, **options)
                            for texts in sides) for lang, sides in pairs.items()}
    return folder, pairs, embedded, options


@pytest.mark.slow
def test_recall_at_1_by_layer_equals_the_tatoeba_runs_accuracy(tmp_path, e5_model, tatoeba40):
    data, pairs, embedded, options = tatoeba40
    runs = {}
    for layer in (7, 12):
        result = CliRunner().invoke(cli, ["run", "--inter", "none", "--target", "tatoeba", "--model", str(e5_model),
                                          "--data-dir", str(data), "--languages", "de,fr",
                                          "--retrieval-layer", str(layer), "--output", str(tmp_path / f"out{layer}")])
        assert result.exit_code == 0, result.output
        (path,) = (tmp_path / f"out{layer}" / "runs").glob("*/results.json")
        runs[layer] = json.loads(path.read_text())
        assert runs[layer]["phases"]["target"]["layer"] == layer
        assert runs[layer]["phases"]["target"]["pooling"] == "mean"
    settings = runs[7]["hyperparameters"]["target"]
    # the fixture embedded as run_retrieval does: the same batches, the same length
    assert options["batch_size"] == 2 * settings["per_device_batch_size"]
    assert options["max_length"] == settings["max_length"] == 512  # Tatoeba's own default
    for lang in pairs:
        recall = recall_by_layer(*embedded[lang], ks=(1,))
        for layer in (7, 12):
            assert recall[layer][1] == pytest.approx(runs[layer]["scores"]["per_language"][lang], abs=1e-9)
    assert runs[7]["scores"]["per_language"] != runs[12]["scores"]["per_language"]  # the layer mattered


def test_layer_profile_is_json_ready_and_agrees_with_its_parts(e5, tatoeba40):
    accelerator, encoder, tokenizer = e5
    _, pairs, embedded, options = tatoeba40
    profile = layer_profile(accelerator, encoder, tokenizer, pairs, ks=(5, 10), **options)
    assert json.loads(json.dumps(profile)) == profile
    assert profile["num_layers"] == 12 and profile["ks"] == [1, 5, 10]  # recall@1 always
    source, target = embedded["fr"]
    french = profile["per_language"]["fr"]
    assert french["pairs"] == 40
    recall = recall_by_layer(source, target, ks=(1, 5, 10))
    for k in (1, 5, 10):
        assert french["recall"][str(k)] == [recall[layer][k] for layer in range(13)]
    gap = translation_gap_by_layer(source, target)
    assert french["gap"] == pytest.approx([gap[layer] for layer in range(13)], abs=1e-12)
    mean = [(a + b) / 2 for a, b in zip(profile["per_language"]["de"]["recall"]["1"], french["recall"]["1"])]
    assert profile["mean_recall_at_1"] == pytest.approx(mean)
    assert profile["best_layer"] == mean.index(max(mean))
    assert min(french["gap"][1:]) > 0  # translations sit closer than other pairs at every layer


def test_set_recall_by_layer_hand_worked():
    from harness.analysis.alignment import set_recall_by_layer

    # one layer; candidates east, north, west, south; cosine = dot product, exact
    candidates = torch.tensor([[[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]]])
    queries = torch.tensor([[[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [1.0, 0.0]]])
    # q0 (east), relevant north (0): east scores 1 above it, south ties at 0 → rank 3
    # q1 (north), relevant {east, north}: best relevant north (1), nothing reaches it → rank 1
    # q2 (west), relevant south (0): west 1 above, north ties → rank 3; q3 has none: left out
    result = set_recall_by_layer(queries, candidates, [{1}, {0, 1}, {3}, set()], ks=(1, 2, 3))
    assert result[0][1] == pytest.approx(100 / 3)
    assert result[0][2] == pytest.approx(100 / 3)
    assert result[0][3] == pytest.approx(100.0)
    with pytest.raises(ValueError, match="no query has a relevant candidate"):
        set_recall_by_layer(queries, candidates, [set()] * 4)
