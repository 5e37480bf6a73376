"""Learning is tested by learning: each head must fit a small learnable synthetic task."""

import random

import pytest

from harness.kinds import get_kind
from harness.model import TaskModel, load_backbone
from harness.progress import Reporter
from harness.spec import LocalSource, TaskSpec
from harness.train import TrainSettings, predict, train_and_select

WORDS = ["London", "Paris", "Boston", "Vienna", "Madrid", "Berlin", "Hamburg", "Lyon"]


def _spec(kind: str) -> TaskSpec:
    return TaskSpec(name=f"synthetic-{kind}", kind=kind, description="synthetic", languages=("en",),
                    metric="accuracy", labels=("no", "yes"), num_choices=4,
                    local=LocalSource(file=lambda s, l: "", read=lambda p, s, l: []))


def _fit(tiny_model_dir, kind_name, examples, *, epochs, lr):
    from accelerate import Accelerator
    from accelerate.utils import set_seed

    set_seed(0)
    accelerator = Accelerator(cpu=True)
    tokenizer, encoder = load_backbone(str(tiny_model_dir))
    spec, kind = _spec(kind_name), get_kind(kind_name)
    features = kind.featurize(examples, tokenizer, 64, spec)
    model = TaskModel(encoder)
    model.add_head(spec.name, kind, spec)
    prepared = accelerator.prepare_model(model)
    settings = TrainSettings(epochs=epochs, lr=lr, batch_size=16, per_device_batch_size=16, max_length=64,
                             warmup_ratio=0.05)
    history = train_and_select(accelerator, prepared, spec, kind, features, features, settings=settings,
                               seed=0, pad_id=tokenizer.pad_token_id, reporter=Reporter(False))
    predictions = predict(accelerator, prepared, spec.name, kind, features, batch_size=32,
                          pad_id=tokenizer.pad_token_id, reporter=Reporter(False), description="train")
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
