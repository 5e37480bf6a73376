"""Shared by the learning tests: train one head on a synthetic task and score it on its own data."""

from harness.kinds import get_kind
from harness.training.model import TaskModel, load_backbone
from harness.common.progress import Reporter
from harness.contract.spec import LocalSource, TaskSpec
from harness.training.loop import TrainSettings, predict, train_and_select


def synthetic_spec(kind: str, **fields) -> TaskSpec:
    base = {"labels": ("no", "yes"), "num_choices": 4, "metric": "accuracy"}
    base.update(fields)
    return TaskSpec(name=f"synthetic-{kind}", kind=kind, description="synthetic", languages=("en",),
                    local=LocalSource(file=lambda s, l: "", read=lambda p, s, l: []), **base)


def fit(model_dir, spec: TaskSpec, examples: list[dict], *, epochs: float = 12, lr: float = 1e-3):
    """Train the tiny encoder with a fresh head on ``examples``; return (kind, features, predictions, history)."""
    from accelerate import Accelerator
    from accelerate.utils import set_seed

    set_seed(0)
    accelerator = Accelerator(cpu=True)
    tokenizer, encoder = load_backbone(str(model_dir))
    kind = get_kind(spec.kind)
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
    return kind, features, predictions, history
