"""Backbones and the task model: one shared encoder, one head per task."""

from __future__ import annotations

from pathlib import Path

from torch import nn

from harness.contract.errors import UserError
from harness.compute.speed import load_options


class TaskModel(nn.Module):
    """A shared encoder with a head per task; ``forward(task, batch)`` returns logits."""

    def __init__(self, encoder: nn.Module):
        super().__init__()
        self.encoder = encoder
        self.heads = nn.ModuleDict()
        self.kinds: dict[str, object] = {}

    def add_head(self, task_name: str, kind, spec) -> None:
        head = kind.build_head(spec, self.encoder.config)
        if hasattr(head, "tie_to"):  # output layers that share the input embeddings (MLM)
            head.tie_to(self.encoder.get_input_embeddings())
        self.heads[task_name] = head
        self.kinds[task_name] = kind

    def forward(self, task: str, batch):
        return self.kinds[task].forward(self.encoder, self.heads[task], batch)


def load_backbone(location: str, revision: str | None = None, speed=None):
    """Load (tokenizer, encoder) from a local folder or a hub id; failures are one line.

    ``speed`` (``harness.compute.speed.Speed``) chooses the attention kernel; a kernel chosen
    automatically that the backbone does not support gives way to transformers' own choice
    (``harness.compute.speed.after_load`` records which one it got)."""
    import transformers
    from transformers import AutoModel, AutoTokenizer

    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    options = load_options(speed)
    folder = Path(location)
    # a folder with safetensors weights is read from them alone, never from a pickle-based
    # pytorch_model.bin that someone put beside them (code is never trusted: no trust_remote_code)
    safe = {"use_safetensors": True} if folder.is_dir() and any(folder.glob("*.safetensors")) else {}
    try:
        tokenizer = AutoTokenizer.from_pretrained(location, revision=revision)
        try:
            encoder = AutoModel.from_pretrained(location, revision=revision, **options, **safe)
        except (ImportError, ValueError):
            if not (options and speed.attention_auto):
                raise
            encoder = AutoModel.from_pretrained(location, revision=revision, **safe)
    except (OSError, ValueError, ImportError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(f"cannot load model {location}: {first}") from None
    if not hasattr(encoder.config, "hidden_size"):
        raise UserError(f"model {location} is not an encoder with hidden states (no hidden_size in its config)")
    if tokenizer.pad_token_id is None:
        raise UserError(f"the tokenizer of {location} has no padding token")
    # The heads read token states, never the pooler; dropping it keeps every parameter used,
    # which distributed training requires (and saves a matrix).
    if getattr(encoder, "pooler", None) is not None:
        encoder.pooler = None
    return tokenizer, encoder
