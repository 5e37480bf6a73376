"""Learning is tested by learning: each head must fit a small learnable synthetic task."""

import random

from learning import fit, synthetic_spec

WORDS = ["London", "Paris", "Boston", "Vienna", "Madrid", "Berlin", "Hamburg", "Lyon"]


def _fit(tiny_model_dir, kind_name, examples, *, epochs, lr):
    spec = synthetic_spec(kind_name)
    kind, features, predictions, history = fit(tiny_model_dir, spec, examples, epochs=epochs, lr=lr)
    return kind.score(predictions, features, spec), history


def test_classification_head_fits_a_learnable_task(tiny_model_dir):
    # label: is the city in the pair's second sentence one of the first four cities?
    rng = random.Random(1)
    examples = []
    for _ in range(160):
        a, b = rng.sample(WORDS, 2)
        examples.append({"text": f"John met Mary in {a} .", "text_pair": f"They were in {b} .",
                         "label": int(WORDS.index(b) < 4)})
    score, history = _fit(tiny_model_dir, "classification", examples, epochs=12, lr=1e-3)
    assert history["epochs"][-1]["train_loss"] < history["epochs"][0]["train_loss"]
    assert score >= 95.0, history["epochs"][-3:]


def test_multiple_choice_head_fits_a_learnable_task(tiny_model_dir):
    # the right answer is the one choice naming a city of the first four; the others name the rest
    rng = random.Random(2)
    examples = []
    for _ in range(160):
        right, others = rng.choice(WORDS[:4]), rng.sample(WORDS[4:], 3)
        label = rng.randrange(4)
        choices = others[:label] + [right] + others[label:]
        examples.append({"context": f"The man drove to {rng.choice(WORDS)} .",
                         "choices": [f"he is in {c} ." for c in choices], "label": label})
    score, history = _fit(tiny_model_dir, "multiple_choice", examples, epochs=12, lr=1e-3)
    assert history["epochs"][-1]["train_loss"] < history["epochs"][0]["train_loss"]
    assert score >= 95.0, history["epochs"][-3:]
