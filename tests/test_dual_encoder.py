"""The dual-encoder kind and the ranking metrics: hand-worked cases, tie-breaking, and learning."""

import json
import random

import pytest
import torch
from learning import synthetic_spec

from harness.compute import metrics
from harness.kinds.dual_encoder import DualEncoder, top_k_ranked
from harness.analysis.scoring import map_at_20

# -- metrics on hand-worked rankings -----------------------------------------------------------


def test_average_precision_with_several_relevant_items():
    # relevant A, B, C; A at rank 1, B at rank 3, C not retrieved: (1/1 + 2/3) / min(20, 3)
    assert metrics.average_precision_at_k(["A", "x", "B", "y"], {"A", "B", "C"}, 20) == pytest.approx((1 + 2 / 3) / 3)
    # the divisor is min(k, relevant): 3 relevant, k = 2, both of the first two relevant → 1
    assert metrics.average_precision_at_k(["A", "B", "C"], {"A", "B", "C"}, 2) == pytest.approx(1.0)
    # a relevant item just past k counts for nothing
    assert metrics.average_precision_at_k(["x", "y", "A"], {"A"}, 2) == 0.0
    assert metrics.average_precision_at_k(["x"], set(), 20) == 0.0


def test_reciprocal_rank_recall_and_accuracy():
    ranked = ["x", "A", "y", "B"]
    assert metrics.reciprocal_rank_at_k(ranked, {"A", "B"}, 20) == 0.5
    assert metrics.reciprocal_rank_at_k(ranked, {"B"}, 3) == 0.0  # B sits at rank 4
    assert metrics.recall_at_k(ranked, {"A", "B"}, 2) == 0.5
    assert metrics.recall_at_k(ranked, {"A", "B"}, 4) == 1.0
    assert metrics.accuracy_at_1(ranked, {"A"}) == 0.0 and metrics.accuracy_at_1(ranked, {"x"}) == 1.0
    # with one relevant item AP@k is the reciprocal rank (why Mewsli-X's MRR@20 is its "mAP@20")
    assert metrics.average_precision_at_k(ranked, {"B"}, 20) == metrics.reciprocal_rank_at_k(ranked, {"B"}, 20)
    assert metrics.map_at_k([["A"], ["x", "A"]], [{"A"}, {"A"}], 20) == pytest.approx(75.0)


def test_ties_are_broken_towards_the_earlier_candidate_even_at_the_cut():
    scores = torch.tensor([[0.5, 0.9, 0.5, 0.9, 0.1],
                           [0.2, 0.2, 0.2, 0.2, 0.2]])
    assert top_k_ranked(scores, 3) == [[1, 3, 0], [0, 1, 2]]
    assert top_k_ranked(scores, 10) == [[1, 3, 0, 2, 4], [0, 1, 2, 3, 4]]
    # on a tie the query that ranks the wrong candidate first (pool order) loses: AP 1/2 not 1
    ranked = ["c0", "c1"]  # both scored alike; the relevant one is c1
    assert metrics.average_precision_at_k(ranked, {"c1"}, 20) == 0.5


def test_tie_breaking_matches_a_plain_sort_on_many_tied_rows():
    rng = random.Random(0)
    for _ in range(200):
        rows, columns, k = rng.randint(1, 5), rng.randint(1, 30), rng.randint(1, 25)
        scores = torch.tensor([[rng.choice([0.1, 0.5, 0.9, rng.random()]) for _ in range(columns)]
                               for _ in range(rows)])
        expected = [sorted(range(columns), key=lambda j: (-float(scores[i, j]), j))[:k] for i in range(rows)]
        assert top_k_ranked(scores, k) == expected


def test_leaderboard_map_at_20_scores_missing_and_duplicated_predictions():
    labels = {"q1": ["a", "b"], "q2": ["c"], "q3": ["d"]}
    predictions = {"q1": ["b", "b", "z", "a"],  # a duplicate counts once: b at 1, a at 3 → (1 + 2/3) / 2
                   "q2": [f"z{i}" for i in range(25)] + ["c"]}  # c beyond rank 20 → 0; q3 has no prediction → 0
    expected = 100 * ((1 + 2 / 3) / 2 + 0 + 0) / 3
    assert map_at_20(labels, predictions)["map@20"] == pytest.approx(expected)


# -- the kind's bookkeeping ----------------------------------------------------------------------

def test_relevance_across_languages_through_keys():
    kind = DualEncoder()
    de = [{"query_ids": [1], "id": "q1", "relevant": [], "key": "q1"},
          {"candidate_ids": [2], "id": "de_1_1", "answers": ["q1"]},
          {"candidate_ids": [3], "id": "de_1_2", "answers": []}]
    en = [{"candidate_ids": [4], "id": "en_1_1", "answers": ["q1"]},
          {"candidate_ids": [4], "id": "en_1_1", "answers": ["q9"]}]  # the same sentence seen for two rows
    relevant = kind.relevance(de, pool=de + en)
    assert relevant[0] == {"de_1_1", "en_1_1"} and relevant[1] == set()
    spec = synthetic_spec("dual_encoder", metric="map_at_20")
    score, details, (extension, content), outcome = kind.evaluate_test(
        [["de_1_2", "en_1_1", "de_1_1"], None, None], de, spec, "de", pool=de + en)
    assert score == pytest.approx(100 * (1 / 2 + 2 / 3) / 2)
    assert outcome["ids"] == ["q1"] and outcome["aggregate"] == "mean"
    assert details["recall_at_1"] == 0.0 and details["mrr_at_20"] == pytest.approx(50.0)
    assert extension == "json" and json.loads(content) == {"q1": ["de_1_2", "en_1_1", "de_1_1"]}


def test_duplicate_candidates_in_a_batch_are_not_negatives():
    kind = DualEncoder()
    features = [{"query_ids": [5, 6], "candidate_ids": [7], "candidate_id": "s1"},
                {"query_ids": [5], "candidate_ids": [7], "candidate_id": "s1"},
                {"query_ids": [8], "candidate_ids": [9, 9], "candidate_id": "s2"}]
    batch = kind.collate(features, pad_id=0)
    assert batch["same_candidate"].tolist() == [[True, True, False], [True, True, False], [False, False, True]]
    assert batch["labels"].tolist() == [0, 1, 2]


# -- learning -----------------------------------------------------------------------------------

CITIES = ["London", "Paris", "Boston", "Vienna", "Madrid", "Berlin", "Hamburg", "Lyon"]
COLOURS = ["red", "blue", "green", "black", "white", "brown", "grey", "pink"]


def test_dual_encoder_learns_a_pairing_from_chance(tiny_model_dir):
    """Query "from A to B" must retrieve "the f(A) and the f(B)" among 56 candidates that share no word
    with it (f maps cities to colours): the untrained encoder is at chance, training must learn f."""
    from accelerate import Accelerator
    from accelerate.utils import set_seed

    from harness.kinds import get_kind
    from harness.training.model import TaskModel, load_backbone
    from harness.common.progress import Reporter
    from harness.training.loop import TrainSettings, train_and_select

    colour = dict(zip(CITIES, COLOURS))
    pairs = [(a, b) for a in CITIES for b in CITIES if a != b]
    random.Random(0).shuffle(pairs)
    examples = [{"query": f"from {a} to {b}", "candidate": f"the {colour[a]} and the {colour[b]}",
                 "candidate_id": f"{a}-{b}"} for a, b in pairs]
    spec = synthetic_spec("dual_encoder", metric="map_at_20",
                          defaults={"query_max_length": 32, "candidate_max_length": 32, "pooling": "mean",
                                    "normalize": True, "scale": 20.0, "learn_scale": False, "top_k": 20})
    set_seed(0)
    accelerator = Accelerator(cpu=True)
    tokenizer, encoder = load_backbone(str(tiny_model_dir))
    kind = get_kind("dual_encoder")
    features = kind.featurize(examples, tokenizer, 64, spec)
    model = TaskModel(encoder)
    model.add_head(spec.name, kind, spec)
    prepared = accelerator.prepare_model(model)

    def recall_at_1() -> float:
        ranked = kind.predict_features(accelerator, prepared, spec.name, features, batch_size=64,
                                       pad_id=tokenizer.pad_token_id, reporter=Reporter(False), description="rank")
        return sum(metrics.recall_at_k(r, {f["candidate_id"]}, 1) for r, f in zip(ranked, features)) / len(features)

    before = recall_at_1()
    settings = TrainSettings(epochs=18, lr=3e-3, batch_size=16, per_device_batch_size=16, max_length=64,
                             warmup_ratio=0.05)
    history = train_and_select(accelerator, prepared, spec, kind, features, features, settings=settings, seed=0,
                               pad_id=tokenizer.pad_token_id, reporter=Reporter(False))
    after = recall_at_1()
    assert before <= 3 / len(features), before  # chance is 1/56
    assert after >= 0.95, (after, [round(e["dev_score"], 1) for e in history["epochs"]])
