"""The fast path (harness.compute.speed): settings, a training step that never waits for the device,
masks and unpadded batches that compute what padded batches compute."""

import json

import pytest
import torch

from harness.compute import speed
from harness.contract.errors import UserError
from harness.kinds import get_kind
from harness.training.model import TaskModel, load_backbone
from harness.cell.protocol import RunRequest, plan_run
from harness.cell.phases import with_kind_settings
from harness.training.loop import Step, _linear_schedule, _optimizer, TrainSettings


def test_settings_resolve_per_device():
    cpu = speed.resolve({}, device_type="cpu")
    assert (cpu.attention, cpu.precision, cpu.pin_memory, cpu.unpadded, cpu.compile) == ("sdpa", "fp32", False,
                                                                                          False, False)
    gpu = speed.resolve({}, device_type="cuda", bf16=True, flash=False)
    assert (gpu.attention, gpu.precision, gpu.pin_memory, gpu.unpadded) == ("sdpa", "bf16", True, False)
    assert any("flash_attn" in note for note in gpu.notes)
    flash = speed.resolve({}, device_type="cuda", bf16=True, flash=True)
    assert (flash.attention, flash.unpadded) == ("flash_attention_2", True)
    fp32 = speed.resolve({"precision": "fp32"}, device_type="cuda", bf16=True, flash=True)
    assert (fp32.attention, fp32.unpadded) == ("sdpa", False) and "needs bf16" in fp32.notes[0]
    assert flash.attention_auto and not speed.resolve({"attention": "sdpa"}, device_type="cpu").attention_auto
    padded = speed.resolve({"unpadded": "off"}, device_type="cuda", bf16=True, flash=True)
    assert (padded.attention, padded.unpadded) == ("flash_attention_2", False)
    assert speed.resolve(speed.parse(["compile=on", "precision=fp32"]), device_type="cuda", bf16=True,
                         flash=False).as_dict()["compile"] is True


@pytest.mark.parametrize("pairs, message", [
    (["attention"], "expected NAME=VALUE"),
    (["kernel=sdpa"], "NAME one of attention"),
    (["attention=fast"], "use one of auto, sdpa, eager, flash_attention_2"),
])
def test_bad_settings_are_one_line(pairs, message):
    with pytest.raises(UserError, match=message) as caught:
        speed.parse(pairs)
    assert "\n" not in str(caught.value)


def test_impossible_settings_say_what_to_do():
    with pytest.raises(UserError, match=r"needs a GPU \(Ampere or newer\) and the flash_attn package"):
        speed.resolve({"attention": "flash_attention_2"}, device_type="cpu")
    with pytest.raises(UserError, match="needs bf16"):
        speed.resolve({"attention": "flash_attention_2", "precision": "fp32"}, device_type="cuda", bf16=True,
                      flash=True)
    with pytest.raises(UserError, match="needs attention=flash_attention_2"):
        speed.resolve({"unpadded": "on", "attention": "sdpa"}, device_type="cuda", bf16=True, flash=True)


def test_speed_is_recorded_and_not_keyed(tmp_path, registry):
    """--speed reaches results.json; it does not change the cell's key (a rerun with another
    attention kernel reuses the finished cell)."""
    from harness.common.progress import Reporter
    from harness.cell.protocol import execute

    request = RunRequest(inter="none", target="pawsx", preset="smoke", output=tmp_path,
                         overrides={"speed": ("attention=eager",)})
    path, record = execute(plan_run(request, registry))
    assert record["environment"]["speed"]["attention"] == "eager"
    again = RunRequest(inter="none", target="pawsx", preset="smoke", output=tmp_path,
                       overrides={"speed": ("attention=sdpa",)})
    lines = []

    class Collect(Reporter):
        def log(self, message):
            lines.append(message)

    second, _ = execute(plan_run(again, registry), reporter_factory=Collect)
    assert second == path
    assert any("reused run was computed with attention eager" in line for line in lines), lines
    assert json.loads(path.read_text())["environment"]["speed"]["attention"] == "eager"


def _task(registry, tokenizer, target: str, count: int = 16):
    plan = plan_run(RunRequest(inter="none", target=target, preset="smoke"), registry)
    data = with_kind_settings(plan.target, plan.target_settings)
    kind = get_kind(data.spec.kind)
    examples = data.load("train", data.spec.train_language)[:count]
    return data.spec, kind, kind.featurize(examples, tokenizer, 96, data.spec)


@pytest.mark.parametrize("target, attention", [("pawsx", "sdpa"), ("udpos", "sdpa"), ("xquad", "sdpa"),
                                               ("xcopa", "sdpa"), ("lareqa", "sdpa"), ("pawsx", "eager"),
                                               ("xcopa", "eager")])
def test_training_step_never_reads_the_device(registry, tiny_model_dir, target, attention):
    """Forward, loss, backward, clipping and the fused AdamW update of every trained kind run
    without one operation whose value the host must wait for (``.item()``, ``nonzero``, a
    boolean mask's ``.all()`` …). On a GPU each would stall the queue once per step."""
    from accelerate import Accelerator

    accelerator = Accelerator(cpu=True)
    tokenizer, encoder = load_backbone(str(tiny_model_dir), speed=speed.resolve({"attention": attention},
                                                                                device_type="cpu"))
    spec, kind, features = _task(registry, tokenizer, target)
    model = TaskModel(encoder)
    model.add_head(spec.name, kind, spec)
    model = accelerator.prepare_model(model)
    settings = TrainSettings(epochs=1, lr=1e-4, batch_size=8, per_device_batch_size=4, max_length=64)
    optimizer = _optimizer(model, settings)
    step = Step(accelerator, model, optimizer, _linear_schedule(optimizer, 1, 4), accumulation=2,
                max_grad_norm=1.0, pad_id=tokenizer.pad_token_id)
    before = [p.detach().clone() for p in model.parameters()]
    ordered = sorted(features, key=lambda f: f["length"])  # shortest and longest together: padding
    batches = [step.prepare(kind, ordered[:2] + ordered[-2:]), step.prepare(kind, ordered[2:4] + ordered[-4:-2])]
    assert all(isinstance(value, torch.Tensor) for value in batches[0].values())
    if len({f["length"] for f in features}) > 1 and speed.is_full(batches[0]) is not None:
        assert not speed.is_full(batches[0]), "the batch must hold padding"
    with speed.host_syncs() as seen:
        losses = [step.run(spec.name, kind, batches[0], False), step.run(spec.name, kind, batches[1], True)]
    assert seen.calls == []
    assert all(torch.isfinite(loss) for loss in losses)
    assert any(not torch.equal(a, b.detach()) for a, b in zip(before, model.parameters())), "no update happened"


def test_the_detector_sees_a_wait():
    t = torch.arange(6.0)
    with speed.host_syncs() as seen:
        assert t.sum().item() == 15.0
        t.nonzero()
        t[t > 2]
        t[t > 2] = 0.0
        torch.repeat_interleave(torch.tensor([1, 2]))
        if t.any():
            pass
    assert len(seen.calls) == 6, seen.calls
    with speed.host_syncs() as seen:  # what does not wait: arithmetic, integer indexing, masked_fill
        t.masked_fill(t > 2, 0.0)[torch.tensor([0, 2])]
        torch.repeat_interleave(torch.tensor([1, 2]), output_size=3)
    assert seen.calls == []


def _padded_batch():
    torch.manual_seed(0)
    ids = torch.randint(5, 1000, (3, 12))
    mask = torch.ones(3, 12, dtype=torch.long)
    mask[1, 7:] = 0
    mask[2, 3:] = 0
    return {"input_ids": ids.masked_fill(mask == 0, 1), "attention_mask": mask}


def _encoder(tiny_model_dir, attention: str):
    tokenizer, encoder = load_backbone(str(tiny_model_dir), speed=speed.Speed(attention=attention))
    return encoder.eval()


@pytest.mark.parametrize("attention", ["sdpa", "eager"])
def test_masks_built_on_the_host_compute_the_same(tiny_model_dir, attention):
    encoder = _encoder(tiny_model_dir, attention)
    batch = _padded_batch()
    reference = encoder(**batch).last_hidden_state
    moved = speed.transfer(batch, "cpu")
    assert speed.is_full(moved) is False
    ours = encoder(**speed.encoder_inputs(encoder, moved)).last_hidden_state
    real = batch["attention_mask"].bool()
    torch.testing.assert_close(ours[real], reference[real])
    full = speed.transfer({"input_ids": batch["input_ids"][:1], "attention_mask": batch["attention_mask"][:1]}, "cpu")
    assert speed.is_full(full) is True
    torch.testing.assert_close(encoder(**speed.encoder_inputs(encoder, full)).last_hidden_state, reference[:1])


def test_pack_layout():
    packed = speed.pack(_padded_batch(), start=2)
    assert packed["cu_seq_lens"].tolist() == [0, 12, 19, 22]
    assert packed["max_length"] == 12
    positions = packed["position_ids"][0].tolist()
    assert positions[:12] == list(range(2, 14)) and positions[12:19] == list(range(2, 9)) and positions[19:] == [2, 3, 4]
    assert packed["input_ids"].shape == (1, 22)
    assert packed["index"].tolist()[12:] == [12 + i for i in range(7)] + [24, 25, 26]


def _varlen_reference(module, query, key, value, attention_mask, scaling=None, dropout=0.0, **kwargs):
    """What FlashAttention's variable-length kernel computes, written plainly: attention within
    each sequence of a packed row, sequences bounded by ``cu_seq_lens_q``."""
    bounds = kwargs["cu_seq_lens_q"].tolist()
    assert kwargs["max_length_q"] == max(b - a for a, b in zip(bounds, bounds[1:]))
    parts = [torch.nn.functional.scaled_dot_product_attention(query[:, :, a:b], key[:, :, a:b], value[:, :, a:b],
                                                               scale=scaling) for a, b in zip(bounds, bounds[1:])]
    return torch.cat(parts, dim=2).transpose(1, 2).contiguous(), None


def test_unpadded_batches_compute_what_padded_ones_do(tiny_model_dir, monkeypatch):
    """The packed path (one row, XLM-R position ids from 2, cumulative lengths passed to the
    kernel, states put back in place) gives the padded path's states at every real token. The
    attention kernel here is a plain reference registered with transformers, standing in for
    flash_attn (no wheel on PyPI, no GPU here): everything around the kernel is what runs."""
    from transformers import AttentionInterface

    from harness.kinds.base import run_encoder

    AttentionInterface.register("xharness_varlen_reference", _varlen_reference)
    monkeypatch.setattr(speed, "VARLEN_KERNELS", {"xharness_varlen_reference"})
    encoder = _encoder(tiny_model_dir, "sdpa")
    batch = _padded_batch()
    reference = encoder(**batch).last_hidden_state
    encoder.set_attn_implementation("xharness_varlen_reference")
    start = speed.position_start(encoder)
    assert start == 2  # XLM-R: padding_idx 1, positions from 2
    moved = speed.transfer(batch, "cpu", speed.Speed(attention="flash_attention_2", unpadded=True),
                           position_start_id=start)
    with speed.host_syncs() as seen:
        ours = run_encoder(encoder, moved)
    assert seen.calls == []
    real = batch["attention_mask"].bool()
    torch.testing.assert_close(ours[real], reference[real])
    assert ours[~real].abs().max() == 0


def test_unpadded_sentence_embeddings_equal_padded_ones(tiny_model_dir, monkeypatch):
    """Retrieval's embeddings (every hidden state, pooled) through packed batches, as above."""
    from accelerate import Accelerator
    from transformers import AttentionInterface

    from harness.kinds.retrieval import embed
    from harness.common.progress import Reporter

    AttentionInterface.register("xharness_varlen_reference", _varlen_reference)
    monkeypatch.setattr(speed, "VARLEN_KERNELS", {"xharness_varlen_reference"})
    tokenizer, encoder = load_backbone(str(tiny_model_dir), speed=speed.Speed(attention="sdpa"))
    encoder.eval()
    texts = ["ein kurzer Satz", "a somewhat longer sentence with more words in it than the first", "x",
             "zwei Wörter", "the last one, of middling length"]
    options = {"layer": 1, "pooling": "mean", "batch_size": 4, "max_length": 32, "reporter": Reporter(False),
               "description": "test"}
    accelerator = Accelerator(cpu=True)
    reference = embed(accelerator, encoder, tokenizer, texts, **options)
    encoder.set_attn_implementation("xharness_varlen_reference")
    packed = embed(accelerator, encoder, tokenizer, texts, speed=speed.Speed(attention="flash_attention_2",
                                                                             unpadded=True), **options)
    torch.testing.assert_close(packed, reference)


def test_mining_holds_one_block_of_scores_at_a_time(monkeypatch):
    """No score matrix larger than SCORES_PER_BLOCK is ever made, and the blocks mine the pairs
    one whole matrix would."""
    from torch.utils._python_dispatch import TorchDispatchMode

    from harness.kinds import retrieval

    generator = torch.Generator().manual_seed(0)
    source = torch.nn.functional.normalize(torch.randn(120, 16, generator=generator), dim=-1)
    target = torch.nn.functional.normalize(torch.randn(90, 16, generator=generator), dim=-1)
    whole = retrieval.margin_candidates(source, target, k=4, chunk=10_000)

    class Largest(TorchDispatchMode):
        largest = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            if str(func).startswith("aten.mm"):
                Largest.largest = max(Largest.largest, out.numel())
            return out

    monkeypatch.setattr(retrieval, "SCORES_PER_BLOCK", 1000)
    assert retrieval.block_rows(100_000) == 1 and retrieval.block_rows(90) == 11
    with Largest():
        blocked = retrieval.margin_candidates(source, target, k=4)
    assert 0 < Largest.largest <= 1000
    assert [(i, j) for i, j, _ in blocked] == [(i, j) for i, j, _ in whole]  # scores: to float rounding
    assert [score for *_, score in blocked] == pytest.approx([score for *_, score in whole], abs=1e-5)


def test_a_packed_batch_never_reaches_a_kernel_that_cannot_read_it(tiny_model_dir):
    """sdpa and eager ignore cumulative lengths: a packed row would let its sequences attend to
    each other. With such a kernel the batch goes the padded way, whatever it carries."""
    from harness.kinds.base import run_encoder

    encoder = _encoder(tiny_model_dir, "sdpa")
    batch = _padded_batch()
    reference = encoder(**batch).last_hidden_state
    moved = speed.transfer(batch, "cpu", speed.Speed(attention="flash_attention_2", unpadded=True),
                           position_start_id=2)
    assert speed.packed_form(moved) is not None and not speed.reads_packed(encoder)
    real = batch["attention_mask"].bool()
    torch.testing.assert_close(run_encoder(encoder, moved)[real], reference[real])


@pytest.mark.filterwarnings("ignore:`torch.jit.script_method` is deprecated:DeprecationWarning")
def test_compiling_keeps_parameter_names(tiny_model_dir):
    """Compilation happens in place: checkpoints and saved encoders keep their names."""
    _, encoder = load_backbone(str(tiny_model_dir))
    names = list(encoder.state_dict())
    speed.compile_encoder(encoder, speed.Speed(compile=False))
    assert getattr(encoder, "_compiled_call_impl", None) is None
    speed.compile_encoder(encoder, speed.Speed(compile=True))
    assert encoder._compiled_call_impl is not None and list(encoder.state_dict()) == names


def test_a_run_logs_its_speed_when_asked(tmp_path):
    from click.testing import CliRunner

    from harness.cli import cli

    result = CliRunner().invoke(cli, ["run", "--inter", "none", "--target", "pawsx", "--preset", "smoke",
                                      "--output", str(tmp_path), "--speed", "attention=eager",
                                      "--speed", "pin_memory=on"])
    assert result.exit_code == 0, result.output
    assert "speed: attention eager, fp32, compile off, plain transfers, length-grouped padded batches " \
           "(pin_memory=on has no effect without a GPU)" in result.output


def test_an_automatic_kernel_gives_way_to_what_the_backbone_supports(tiny_model_dir, monkeypatch):
    """A backbone without the automatically chosen kernel loads with transformers' own choice, and
    the run records the kernel it really got; an explicitly asked kernel it lacks is one line."""
    from transformers import XLMRobertaModel

    asked = speed.resolve({}, device_type="cuda", bf16=True, flash=True)  # flash_attention_2, automatically
    assert speed.load_options(speed.resolve({}, device_type="cpu")) == {}  # automatic sdpa: transformers decides
    _, encoder = load_backbone(str(tiny_model_dir), speed=asked)  # no flash_attn here: the fallback
    got = speed.after_load(asked, encoder)
    assert got.attention == encoder.config._attn_implementation == "sdpa" and not got.unpadded
    assert "flash_attention_2 is not available for this backbone" in got.notes[-1]
    monkeypatch.setattr(XLMRobertaModel, "_supports_sdpa", False)
    with pytest.raises(UserError, match="cannot load model") as caught:
        load_backbone(str(tiny_model_dir), speed=speed.resolve({"attention": "sdpa"}, device_type="cpu"))
    assert "\n" not in str(caught.value)
    _, encoder = load_backbone(str(tiny_model_dir), speed=speed.resolve({}, device_type="cpu"))
    assert encoder.config._attn_implementation == "eager"


def test_speed_does_not_change_a_sweeps_identity():
    from harness.grids.sweep import Grid

    plain = Grid(inter=["none"], target=["pawsx"], seeds=[1], models=["tiny"], overrides={"lr": 1e-4})
    fast = Grid(inter=["none"], target=["pawsx"], seeds=[1], models=["tiny"],
                overrides={"lr": 1e-4, "speed": ["attention=eager"]})
    other = Grid(inter=["none"], target=["pawsx"], seeds=[1], models=["tiny"], overrides={"lr": 2e-4})
    assert plain.ident == fast.ident != other.ident


@pytest.mark.parametrize("target", ["pawsx", "xcopa", "lareqa"])
def test_a_training_step_on_packed_batches_matches_the_padded_one(registry, tiny_model_dir, monkeypatch, target):
    """The harness step with unpadded batches (the reference varlen kernel standing in for
    FlashAttention) gives the padded step's loss and gradients, without waiting on the device:
    plain batches, multiple choice (flattened choices) and the dual encoder (queries and
    candidates packed apart)."""
    from accelerate import Accelerator
    from transformers import AttentionInterface

    AttentionInterface.register("xharness_varlen_reference", _varlen_reference)
    monkeypatch.setattr(speed, "VARLEN_KERNELS", {"xharness_varlen_reference"})
    accelerator = Accelerator(cpu=True)
    settings = TrainSettings(epochs=1, lr=1e-3, batch_size=4, per_device_batch_size=4, max_length=64)
    results = {}
    for label, chosen in (("padded", speed.Speed(attention="sdpa")),
                          ("packed", speed.Speed(attention="flash_attention_2", unpadded=True))):
        torch.manual_seed(0)
        tokenizer, encoder = load_backbone(str(tiny_model_dir))
        spec, kind, features = _task(registry, tokenizer, target)
        model = TaskModel(encoder)
        model.add_head(spec.name, kind, spec)
        for module in model.modules():
            if isinstance(module, torch.nn.Dropout):
                module.p = 0.0
        if label == "packed":
            encoder.set_attn_implementation("xharness_varlen_reference")
        optimizer = _optimizer(model, settings)
        # a micro-step before the update: its gradients are what the update reads (Adam's first step
        # would blow rounding up to ±lr wherever a gradient is near zero)
        step = Step(accelerator, model, optimizer, _linear_schedule(optimizer, 0, 2), accumulation=2,
                    max_grad_norm=1.0, pad_id=tokenizer.pad_token_id, speed=chosen)
        ordered = sorted(features, key=lambda f: f["length"])
        batch = step.prepare(kind, ordered[:2] + ordered[-2:])
        packed_inputs = [v for v in batch.values() if getattr(v, speed.PACKED, None) is not None]
        assert len(packed_inputs) == (0 if label == "padded" else 2 if target == "lareqa" else 1)
        with speed.host_syncs() as seen:
            loss = step.run(spec.name, kind, batch, False)
        assert seen.calls == []
        results[label] = (loss, [p.grad.clone() for p in model.parameters() if p.grad is not None])
    torch.testing.assert_close(results["packed"][0], results["padded"][0])
    assert len(results["packed"][1]) == len(results["padded"][1]) > 0
    for packed, padded in zip(results["packed"][1], results["padded"][1]):
        torch.testing.assert_close(packed, padded, atol=1e-5, rtol=1e-3)  # summation order differs


def test_dual_encoder_rankings_from_packed_batches_equal_padded_ones(registry, tiny_model_dir, monkeypatch):
    """The dual encoder's evaluation (its own batching of queries and candidates) packs its
    batches when the kernel reads packed rows, and ranks as the padded batches do."""
    from accelerate import Accelerator
    from transformers import AttentionInterface

    from harness.common.progress import Reporter

    AttentionInterface.register("xharness_varlen_reference", _varlen_reference)
    monkeypatch.setattr(speed, "VARLEN_KERNELS", {"xharness_varlen_reference"})
    accelerator = Accelerator(cpu=True)
    vectors = {}
    for label in ("padded", "packed"):
        tokenizer, encoder = load_backbone(str(tiny_model_dir))
        spec, kind, features = _task(registry, tokenizer, "lareqa")
        model = TaskModel(encoder)
        model.add_head(spec.name, kind, spec)
        if label == "packed":
            encoder.set_attn_implementation("xharness_varlen_reference")
        rows = [(f["query_ids"], None) for f in features]
        vectors[label] = kind._encode(accelerator, model, spec.name, rows, batch_size=5,
                                      pad_id=tokenizer.pad_token_id, reporter=Reporter(False), description="q")
    torch.testing.assert_close(vectors["packed"], vectors["padded"])
