"""Multi-task intermediate training: the sampler's proportions, joint learning, and the CLI."""

import json
import random
from collections import Counter

import pytest
from click.testing import CliRunner

from harness.cli import cli
from harness.training.loop import TaskSampler
from learning import synthetic_spec

DRAWS = 40_000
# With 40,000 draws a proportion's standard error is at most 0.0025; 0.012 is about 5 of them.
TOLERANCE = 0.012


def _frequencies(sampler):
    counts = Counter(sampler.draw() for _ in range(DRAWS))
    return [counts[i] / DRAWS for i in range(len(sampler.probabilities))]


@pytest.mark.parametrize("strategy, options, expected", [
    ("proportional", {}, [0.1, 0.3, 0.6]),
    ("temperature", {"temperature": 2.0}, [10 / (10 + 300 ** 0.5 + 600 ** 0.5), 300 ** 0.5 / (10 + 300 ** 0.5 + 600 ** 0.5),
                                            600 ** 0.5 / (10 + 300 ** 0.5 + 600 ** 0.5)]),
    ("uniform", {}, [1 / 3, 1 / 3, 1 / 3]),
    ("proportional", {"cap": 300}, [0.1 / 0.7, 0.3 / 0.7, 0.3 / 0.7]),
])
def test_sampler_draws_tasks_in_the_configured_proportions(strategy, options, expected):
    sampler = TaskSampler([100, 300, 600], strategy, seed=7, **options)
    assert sampler.probabilities == pytest.approx(expected)
    for observed, wanted in zip(_frequencies(sampler), expected):
        assert abs(observed - wanted) < TOLERANCE


def test_the_same_seed_draws_the_same_tasks_on_every_process():
    first, second = TaskSampler([5, 50], seed=3), TaskSampler([5, 50], seed=3)
    assert [first.draw() for _ in range(200)] == [second.draw() for _ in range(200)]


def test_one_encoder_learns_two_tasks_of_different_kinds(tiny_model_dir):
    from accelerate import Accelerator
    from accelerate.utils import set_seed

    from harness.kinds import get_kind
    from harness.training.model import TaskModel, load_backbone
    from harness.common.progress import Reporter
    from harness.training.loop import TrainSettings, TrainTask, predict, train_tasks

    set_seed(0)
    words = ["London", "Paris", "Boston", "Vienna", "Madrid", "Berlin", "Hamburg", "Lyon"]
    rng = random.Random(5)
    classification = [{"text": f"John met Mary in {rng.choice(words)} .", "text_pair": f"They were in {b} .",
                       "label": int(words.index(b) < 4)} for b in (rng.choice(words) for _ in range(120))]
    choice_examples = []
    for _ in range(120):
        right, others = rng.choice(words[:4]), rng.sample(words[4:], 3)
        label = rng.randrange(4)
        choices = others[:label] + [right] + others[label:]
        choice_examples.append({"context": "The man drove .", "choices": [f"he is in {c} ." for c in choices],
                                "label": label})
    accelerator = Accelerator(cpu=True)
    tokenizer, encoder = load_backbone(str(tiny_model_dir))
    model = TaskModel(encoder)
    tasks = []
    for kind_name, examples in (("classification", classification), ("multiple_choice", choice_examples)):
        spec, kind = synthetic_spec(kind_name), get_kind(kind_name)
        features = kind.featurize(examples, tokenizer, 64, spec)
        model.add_head(spec.name, kind, spec)
        tasks.append(TrainTask(spec, kind, features, features))
    prepared = accelerator.prepare_model(model)
    settings = TrainSettings(epochs=12, lr=1e-3, batch_size=16, per_device_batch_size=16, max_length=64,
                             warmup_ratio=0.05)
    history = train_tasks(accelerator, prepared, tasks, settings=settings, seed=0, pad_id=tokenizer.pad_token_id,
                          reporter=Reporter(False))
    assert history["sampling"]["probabilities"] == {"synthetic-classification": 0.5, "synthetic-multiple_choice": 0.5}
    for task in tasks:
        predictions = predict(accelerator, prepared, task.spec.name, task.kind, task.train, batch_size=32,
                              pad_id=tokenizer.pad_token_id, reporter=Reporter(False), description="train")
        assert task.kind.score(predictions, task.train, task.spec) >= 95.0, task.spec.name


def test_all_intermediate_tasks_then_pawsx(tmp_path):
    result = CliRunner().invoke(cli, ["run", "--inter", "all", "--target", "pawsx", "--preset", "smoke",
                                      "--output", str(tmp_path), "--inter-epochs", "1", "--target-epochs", "1",
                                      "--languages", "en,de"])
    assert result.exit_code == 0, result.output
    (path,) = (tmp_path / "runs").glob("*/results.json")
    record = json.loads(path.read_text())
    names = record["intermediate_tasks"]
    assert len(names) >= 8 and {"anli", "mnli", "qqp", "squad", "squad_v2", "hellaswag"} <= set(names)
    phase = record["phases"]["intermediate"]
    assert set(phase["history"]["sampling"]["probabilities"]) == set(names)
    assert set(phase["history"]["epochs"][0]["dev_scores"]) == set(names)
    assert record["hyperparameters"]["intermediate"]["sampling"] == "proportional"


def test_two_tasks_with_temperature_sampling_and_a_typo(tmp_path):
    result = CliRunner().invoke(cli, ["run", "--inter", "mnli,squad", "--target", "pawsx", "--preset", "smoke",
                                      "--output", str(tmp_path), "--inter-epochs", "1", "--target-epochs", "1",
                                      "--languages", "en", "--sampling", "temperature", "--temperature", "3"])
    assert result.exit_code == 0, result.output
    (path,) = (tmp_path / "runs").glob("*/results.json")
    sampling = json.loads(path.read_text())["phases"]["intermediate"]["history"]["sampling"]
    assert sampling["strategy"] == "temperature" and sampling["probabilities"]["mnli"] == pytest.approx(0.5)
    typo = CliRunner().invoke(cli, ["run", "--inter", "mnli,hellaswg", "--target", "pawsx", "--preset", "smoke"])
    assert typo.exit_code == 2 and "did you mean 'hellaswag'" in typo.output


def test_a_fixed_share_for_masked_lm_and_the_rest_by_strategy():
    sampler = TaskSampler([100, 300, 5000], "proportional", seed=11, fixed={2: 0.25})
    expected = [0.75 * 0.25, 0.75 * 0.75, 0.25]
    assert sampler.probabilities == pytest.approx(expected)
    for observed, wanted in zip(_frequencies(sampler), expected):
        assert abs(observed - wanted) < TOLERANCE


def test_masking_follows_15_80_10_10():
    import torch

    from harness.kinds.masked_lm import IGNORE, mask_tokens

    generator = torch.Generator().manual_seed(0)
    ids = torch.randint(10, 1000, (400, 250), generator=generator)
    maskable = torch.ones_like(ids, dtype=torch.bool)
    maskable[:, 0] = False  # a special token never masked
    inputs, labels = mask_tokens(ids, maskable, mask_id=3, vocab_size=1000, generator=generator)
    chosen = labels != IGNORE
    assert not chosen[:, 0].any()
    assert abs(chosen.float().mean().item() / maskable.float().mean().item() - 0.15) < 0.005
    assert torch.equal(labels[chosen], ids[chosen])
    masked = (inputs[chosen] == 3).float().mean().item()
    kept = (inputs[chosen] == ids[chosen]).float().mean().item()
    assert abs(masked - 0.8) < 0.01 and abs(kept - 0.1) < 0.01  # the other 10 % are random tokens
    assert torch.equal(inputs[~chosen], ids[~chosen])


def test_continued_mlm_during_intermediate_training(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "de.txt").write_text("Anna wohnt in Berlin.\nDas ist ein Test.\n" * 20, encoding="utf-8")
    (corpus / "sw.txt").write_text("Omar anaishi Nairobi.\nAsante sana.\n" * 20, encoding="utf-8")
    result = CliRunner().invoke(cli, ["run", "--inter", "hellaswag", "--mlm", str(corpus), "--mlm-weight", "0.4",
                                      "--target", "pawsx", "--preset", "smoke", "--output", str(tmp_path / "out"),
                                      "--inter-epochs", "1", "--target-epochs", "1", "--languages", "en"])
    assert result.exit_code == 0, result.output
    (path,) = (tmp_path / "out" / "runs").glob("*/results.json")
    record = json.loads(path.read_text())
    history = record["phases"]["intermediate"]["history"]
    assert record["intermediate_tasks"] == ["hellaswag", "mlm"]
    assert history["sampling"]["probabilities"]["mlm"] == pytest.approx(0.4)
    assert set(history["epochs"][0]["dev_scores"]) == {"hellaswag"}  # MLM trains, it does not select
    assert record["data"]["intermediate"][1]["sha256"]
    alone = CliRunner().invoke(cli, ["run", "--inter", "none", "--mlm", str(corpus), "--target", "pawsx",
                                     "--preset", "smoke", "--output", str(tmp_path / "out")])
    assert alone.exit_code == 1 and "--mlm is mixed into intermediate training" in alone.output
