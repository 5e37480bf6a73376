"""How a cell is computed fast: attention kernel, precision, compilation, batch transfer, packing.

Each choice is a setting (``--speed NAME=VALUE``), resolved against the device a run finds and
recorded in ``results.json`` (``environment.speed``). None of them enters a phase key: they
choose how a cell is computed, not which cell it is. Kernels and compilation change the last
digits, as a different GPU does; bf16 against fp32 changes more, which is why a run that reuses a
cell computed otherwise says so. ``benchmarks/speed.py`` measures each of them.

- ``attention``: ``sdpa`` (PyTorch's fused kernels), ``eager`` (the reference implementation) or
  ``flash_attention_2`` (needs the ``flash_attn`` package); ``auto`` takes flash_attention_2 on a
  GPU where ``flash_attn`` imports and bf16 is on, else sdpa.
- ``precision``: ``bf16`` autocast or ``fp32``; ``auto`` is bf16 on a GPU that has it.
- ``compile``: ``torch.compile`` of the encoder with dynamic shapes (``on``/``off``).
- ``pin_memory``: batches are built in page-locked memory and copied without blocking, so the
  copy overlaps the GPU's work; ``auto`` is on with a GPU.
- ``unpadded``: each batch's sequences are concatenated without padding (one row, position ids
  restarting per sequence, cumulative lengths for the attention kernel); only FlashAttention's
  variable-length kernel reads them, so ``auto`` is on exactly when attention is flash_attention_2.

The step itself never waits for the GPU: masks are built from what the host already knows (see
``encoder_inputs``), losses stay on the device, and ``host_syncs`` counts the operations that would
wait, so tests can prove it on the CPU.
"""

from __future__ import annotations

import importlib.util
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from harness.contract.errors import UserError

#: name → (allowed values, help); the first value is the default
SETTINGS: dict[str, tuple[tuple[str, ...], str]] = {
    "attention": (("auto", "sdpa", "eager", "flash_attention_2"),
                  "attention kernel; auto: flash_attention_2 on a GPU where flash_attn imports (with bf16), else sdpa"),
    "precision": (("auto", "bf16", "fp32"), "auto: bf16 autocast on a GPU that supports it, else fp32"),
    "compile": (("off", "on"), "torch.compile the encoder (dynamic shapes)"),
    "pin_memory": (("auto", "on", "off"), "page-locked batches, copied without blocking; auto: on with a GPU"),
    "unpadded": (("auto", "on", "off"),
                 "concatenate each batch's sequences without padding (flash_attention_2 only); "
                 "auto: on with flash_attention_2"),
}

# What the host knows about a batch travels with its tensors, as attributes, so a kind's batch
# stays a plain dict of tensors (kinds, ours and plugins', iterate over it). A kind that reshapes
# a tensor drops the hint with the old tensor and gets the general path, which is always right.
#: on the attention mask: True when the batch has no padding at all
FULL = "_xharness_full"
#: on the input ids: the batch's packed form (see ``pack``)
PACKED = "_xharness_packed"


def help_text() -> str:
    return "; ".join(f"{name}={'|'.join(values)} ({text})" for name, (values, text) in SETTINGS.items())


def parse(pairs) -> dict[str, str]:
    """``("attention=eager", …)`` → ``{"attention": "eager"}``, checked; mistakes are one line."""
    chosen: dict[str, str] = {}
    for pair in pairs or ():
        name, sep, value = str(pair).partition("=")
        name, value = name.strip().replace("-", "_"), value.strip()
        if not sep or name not in SETTINGS:
            raise UserError(f"--speed {pair}: expected NAME=VALUE with NAME one of {', '.join(SETTINGS)}")
        if value not in SETTINGS[name][0]:
            raise UserError(f"--speed {name}={value}: use one of {', '.join(SETTINGS[name][0])}")
        chosen[name] = value
    return chosen


def flash_available() -> bool:
    """Whether FlashAttention 2 can run here: the package is installed, transformers accepts it,
    and it imports (a wheel built against another torch does not)."""
    if importlib.util.find_spec("flash_attn") is None:
        return False
    try:
        from transformers.utils import is_flash_attn_2_available

        if not is_flash_attn_2_available():
            return False
        importlib.import_module("flash_attn")
        import torch

        if torch.cuda.is_available() and torch.cuda.get_device_capability()[0] < 8:
            return False  # FlashAttention 2 runs on Ampere and newer
    except Exception:  # a broken build fails in many ways; any of them means "not available"
        return False
    return True


#: attention implementations that read packed rows (cumulative lengths): FlashAttention's
#: variable-length kernels. Any other kernel would let a packed row's sequences attend to each other.
VARLEN_KERNELS = {"flash_attention_2", "flash_attention_3"}


def reads_packed(encoder) -> bool:
    return getattr(getattr(encoder, "config", None), "_attn_implementation", None) in VARLEN_KERNELS


@dataclass(frozen=True)
class Speed:
    """The resolved choices of one run, with a note for every automatic or refused one.

    ``attention_auto``: the kernel was chosen automatically, so a backbone without it may fall back
    to transformers' own choice; after loading, ``attention`` is the kernel the encoder really uses
    (``after_load``)."""

    attention: str = "sdpa"
    precision: str = "fp32"
    compile: bool = False
    pin_memory: bool = False
    unpadded: bool = False
    device: str = "cpu"
    attention_auto: bool = False
    notes: tuple[str, ...] = field(default_factory=tuple)

    def as_dict(self) -> dict[str, Any]:
        record = asdict(self)
        record["notes"] = list(self.notes)
        return record

    def summary(self) -> str:
        """One line for the log: ``attention sdpa, bf16, compile off, pinned, padded (note …)``."""
        parts = [f"attention {self.attention}", self.precision, f"compile {'on' if self.compile else 'off'}",
                 "pinned transfers" if self.pin_memory else "plain transfers",
                 "unpadded batches" if self.unpadded else "length-grouped padded batches"]
        return ", ".join(parts) + "".join(f" ({note})" for note in self.notes)


def resolve(requested: dict[str, str] | None = None, *, device_type: str, bf16: bool = False,
            flash: bool | None = None) -> Speed:
    """The settings a run uses on ``device_type`` ("cuda" or "cpu"), given what was asked for."""
    requested = dict(requested or {})
    gpu = device_type == "cuda"
    notes: list[str] = []
    precision = requested.get("precision", "auto")
    if precision == "auto":
        precision = "bf16" if gpu and bf16 else "fp32"
    elif precision == "bf16" and gpu and not bf16:
        raise UserError("--speed precision=bf16: this GPU has no bf16; use precision=fp32")
    attention = requested.get("attention", "auto")
    automatic = attention == "auto"
    if automatic:
        flash = gpu and (flash_available() if flash is None else flash)
        attention = "flash_attention_2" if flash and precision == "bf16" else "sdpa"
        if gpu and not flash:
            notes.append("flash_attn is not available: sdpa attention, batches grouped by length (padded)")
        elif gpu and precision != "bf16":
            notes.append("FlashAttention needs bf16: sdpa attention, batches grouped by length (padded)")
    elif attention == "flash_attention_2":
        if not (gpu and (flash_available() if flash is None else flash)):
            raise UserError("--speed attention=flash_attention_2 needs a GPU (Ampere or newer) and the flash_attn "
                            "package (pip install flash-attn); use attention=sdpa")
        if precision != "bf16":
            raise UserError("--speed attention=flash_attention_2 needs bf16 (FlashAttention has no fp32 kernel); "
                            "drop precision=fp32 or use attention=sdpa")
    pin = requested.get("pin_memory", "auto")
    pin_memory = gpu if pin == "auto" else (pin == "on" and gpu)
    if pin == "on" and not gpu:
        notes.append("pin_memory=on has no effect without a GPU")
    unpad = requested.get("unpadded", "auto")
    if unpad == "on" and attention != "flash_attention_2":
        raise UserError("--speed unpadded=on needs attention=flash_attention_2 (only its kernel reads unpadded "
                        "batches); use unpadded=off")
    unpadded = attention == "flash_attention_2" if unpad == "auto" else unpad == "on"
    return Speed(attention=attention, precision=precision, compile=requested.get("compile", "off") == "on",
                 pin_memory=pin_memory, unpadded=unpadded, device=device_type, attention_auto=automatic,
                 notes=tuple(notes))


def after_load(speed: Speed | None, encoder) -> Speed | None:
    """``speed`` as the loaded encoder really runs it: the kernel it got (an automatic choice the
    backbone does not support falls back to transformers' own), unpadded only where it reads it."""
    if speed is None:
        return None
    actual = getattr(encoder.config, "_attn_implementation", None) or speed.attention
    if actual == speed.attention:
        return speed
    unpadded = speed.unpadded and actual in VARLEN_KERNELS
    note = f"{speed.attention} is not available for this backbone: {actual} attention"
    return replace(speed, attention=actual, unpadded=unpadded, notes=(*speed.notes, note))


# -- batches on their way to the device ------------------------------------------------------

def position_start(encoder) -> int:
    """The first position id of a sequence: padding_idx + 1 for RoBERTa-family embeddings
    (XLM-R counts positions from 2), 0 otherwise."""
    embeddings = getattr(encoder, "embeddings", None)
    padding_idx = getattr(embeddings, "padding_idx", None)
    return int(padding_idx) + 1 if isinstance(padding_idx, int) else 0


def pack(batch: dict, start: int) -> dict[str, Any]:
    """The unpadded form of a padded batch (on the host): its real tokens in one row.

    Returns ``input_ids``/``token_type_ids`` of shape (1, tokens), ``position_ids`` restarting at
    ``start`` for every sequence, ``cu_seq_lens`` (int32, cumulative lengths from 0), ``max_length``
    (a Python int, so the kernel needs no device read) and ``index`` (each token's place in the
    flattened (batch × width) padded layout, to put the states back).
    """
    import torch

    mask = batch["attention_mask"].bool()
    lengths = mask.sum(dim=1)
    index = mask.flatten().nonzero().flatten()
    packed: dict[str, Any] = {"input_ids": batch["input_ids"].flatten()[index].unsqueeze(0)}
    if "token_type_ids" in batch:
        packed["token_type_ids"] = batch["token_type_ids"].flatten()[index].unsqueeze(0)
    # for every token, its offset in its own sequence (mask rows are left-aligned)
    offsets = torch.arange(mask.shape[1]).expand_as(mask).flatten()[index]
    packed["position_ids"] = (offsets + start).unsqueeze(0)
    packed["cu_seq_lens"] = torch.cat([torch.zeros(1, dtype=torch.int32), lengths.cumsum(0).to(torch.int32)])
    packed["max_length"] = int(lengths.max())
    packed["index"] = index
    return packed


#: the (ids, mask, token types) keys of the encoder inputs in a kind's batch; a kind whose batch
#: holds others (the dual encoder's queries and candidates) names them in ``encoder_input_keys``
ENCODER_INPUT_KEYS = (("input_ids", "attention_mask", "token_type_ids"),)


def transfer(batch: dict, device, speed: Speed | None = None, *, position_start_id: int = 0,
             keys=ENCODER_INPUT_KEYS) -> dict:
    """A collated batch on ``device``: pinned and copied without blocking where the settings say.
    For each encoder input (``keys``), its mask carries ``FULL`` (whether it has no padding, known
    here on the host for free) and, when unpadded batches are on, its ids carry the packed form
    (``PACKED``; of the flattened rows when the ids are (batch, choices, width))."""
    import torch

    pin = speed is not None and speed.pin_memory

    def move(value):
        return (value.pin_memory() if pin else value).to(device, non_blocking=True)

    out = {name: move(value) if isinstance(value, torch.Tensor) else value for name, value in batch.items()}
    for ids_key, mask_key, types_key in keys:
        mask, ids = batch.get(mask_key), batch.get(ids_key)
        if not (isinstance(mask, torch.Tensor) and isinstance(ids, torch.Tensor) and mask.device.type == "cpu"):
            continue
        setattr(out[mask_key], FULL, bool(mask.all()))
        if speed is not None and speed.unpadded and mask.dim() in (2, 3) and mask.shape == ids.shape:
            rows = {"input_ids": ids.reshape(-1, ids.shape[-1]), "attention_mask": mask.reshape(-1, mask.shape[-1])}
            if isinstance(batch.get(types_key), torch.Tensor):
                rows["token_type_ids"] = batch[types_key].reshape(-1, ids.shape[-1])
            packed = pack(rows, position_start_id)
            setattr(out[ids_key], PACKED, {k: move(v) if isinstance(v, torch.Tensor) else v
                                           for k, v in packed.items()})
    return out


def carry_hints(source: dict, flat: dict) -> dict:
    """Hand the host's hints of ``source``'s encoder input on to ``flat``, its (batch × choices,
    width) flattening (multiple choice), which holds new tensors."""
    for key, hint in (("input_ids", PACKED), ("attention_mask", FULL)):
        value = getattr(source.get(key), hint, None)
        if value is not None and key in flat:
            setattr(flat[key], hint, value)
    return flat


def is_full(batch: dict) -> bool | None:
    """True/False when the host marked the batch's mask (no padding / padding), None otherwise."""
    return getattr(batch.get("attention_mask"), FULL, None)


def packed_form(batch: dict) -> dict | None:
    return getattr(batch.get("input_ids"), PACKED, None)


def encoder_inputs(encoder, batch: dict) -> dict[str, Any]:
    """The encoder's keyword arguments for a (padded) batch, built without reading the device.

    transformers decides whether a mask can be dropped by testing ``mask.all()`` on the device,
    which makes the host wait for the GPU once per forward pass. Here the host already knows
    (``FULL``, set by ``transfer``): no padding → no mask; padding → the (batch, 1, 1, width) mask
    the kernel reads (boolean for sdpa, additive for eager), which transformers passes on as it is.
    """
    import torch

    inputs = {k: batch[k] for k in ("input_ids", "attention_mask", "token_type_ids") if k in batch}
    mask = inputs.get("attention_mask")
    if mask is None or mask.dim() != 2:
        return inputs
    if is_full(batch) is True:
        del inputs["attention_mask"]
        return inputs
    implementation = getattr(getattr(encoder, "config", None), "_attn_implementation", None)
    if implementation == "sdpa":
        inputs["attention_mask"] = mask.bool()[:, None, None, :]
    elif implementation == "eager":
        keep = mask[:, None, None, :].to(torch.float32)
        inputs["attention_mask"] = (1.0 - keep) * torch.finfo(torch.float32).min
    return inputs


def run_packed(encoder, batch: dict, *, all_states: bool = False):
    """A batch run through ``encoder`` in its packed form, its states put back in the padded
    (batch, width, hidden) layout (zeros at padding), so heads see what they always see: the last
    hidden states, or with ``all_states`` every hidden state (embedding output first)."""
    return run_packed_ids(encoder, batch["input_ids"], all_states=all_states)


def run_packed_ids(encoder, ids, *, all_states: bool = False):
    """As ``run_packed``, for input ids that carry their packed form (``PACKED``); ids of shape
    (rows, width) give states of shape (rows, width, hidden)."""
    import torch

    packed = getattr(ids, PACKED)
    inputs = {k: packed[k] for k in ("input_ids", "token_type_ids", "position_ids") if k in packed}
    lengths, longest = packed["cu_seq_lens"], packed["max_length"]
    output = encoder(**inputs, cu_seq_lens_q=lengths, cu_seq_lens_k=lengths, max_length_q=longest,
                     max_length_k=longest, output_hidden_states=all_states)
    rows, width = ids.reshape(-1, ids.shape[-1]).shape

    def padded(hidden):
        out = torch.zeros(rows * width, hidden.shape[-1], dtype=hidden.dtype, device=hidden.device)
        return out.index_copy(0, packed["index"], hidden[0]).view(rows, width, -1)

    if all_states:
        return tuple(padded(state) for state in output.hidden_states)
    return padded(output.last_hidden_state)


# -- proving that a step never waits ---------------------------------------------------------

#: operations whose result the host must read from the device (a GPU would stall for them)
SYNC_OPS = ("aten._local_scalar_dense", "aten.nonzero", "aten.masked_select", "aten.is_nonzero",
            "aten._unique", "aten.unique", "aten.item")


def _waits(name: str, args, kwargs) -> bool:
    """Whether this dispatched operation makes the host wait for the device's result."""
    import torch

    if name.startswith(SYNC_OPS):
        return True
    if name.startswith(("aten.index.", "aten.index_put", "aten._index_put_impl")):
        # boolean-mask indexing: the result's size depends on the mask's values
        indices = args[1] if len(args) > 1 else ()
        return any(isinstance(i, torch.Tensor) and i.dtype == torch.bool for i in indices or ())
    if name.startswith("aten.repeat_interleave.Tensor"):
        return (kwargs or {}).get("output_size") is None
    return False


def host_syncs():
    """A context manager recording every device-reading operation run inside it, on any device,
    so that a CPU test proves what a GPU would do: ``.item()``/``bool()``/``int()`` of a tensor,
    ``nonzero``, ``masked_select``, ``unique``, boolean-mask indexing, ``repeat_interleave``
    without ``output_size``. Not seen: ``.tolist()``, ``.cpu()`` and ``.numpy()`` of a tensor that
    is already on the CPU (on a GPU they copy, and wait). Use: ``with host_syncs() as seen: …``,
    then ``seen.calls``."""
    from torch.utils._python_dispatch import TorchDispatchMode

    class Recorder(TorchDispatchMode):
        def __init__(self):
            super().__init__()
            self.calls: list[str] = []

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            name = str(func)
            if _waits(name, args, kwargs):
                import traceback

                where = [line for line in traceback.format_stack(limit=12)[:-1] if "site-packages" in line or
                         "harness" in line]
                self.calls.append(name + ("\n" + "".join(where[-3:]) if where else ""))
            return func(*args, **(kwargs or {}))

    return Recorder()


# -- the encoder -----------------------------------------------------------------------------

def load_options(speed: Speed | None) -> dict[str, Any]:
    """Keyword arguments for ``from_pretrained``: the attention kernel chosen. An automatic sdpa is
    left to transformers, which takes sdpa where the backbone has it and eager where it does not."""
    if speed is None or (speed.attention_auto and speed.attention == "sdpa"):
        return {}
    return {"attn_implementation": speed.attention}


def compile_encoder(encoder, speed: Speed | None) -> None:
    """``torch.compile`` the encoder in place (its parameter names, and so checkpoints, stay the
    same), with dynamic shapes: length-grouped batches change width from batch to batch."""
    if speed is not None and speed.compile:
        encoder.compile(dynamic=True)
