"""The ``tiny`` backbone: an XLM-R-shaped encoder built from a config, no download.

Its Unigram tokenizer (XLM-R's tokenizer type, with XLM-R's special tokens and pair template)
was trained on the text of the bundled task samples by ``tools/make_tiny_corpus.py`` and is
shipped as ``tiny_tokenizer.json``: training it at build time gave a different vocabulary on
every build. The weights are random but seeded, so every build writes the same bytes; it
proves plumbing, not transfer.
"""

from __future__ import annotations

from pathlib import Path

TINY_VERSION = "10"
TOKENIZER = Path(__file__).resolve().parent / "tiny_tokenizer.json"


def load_tokenizer(path: Path = TOKENIZER):
    from tokenizers import Tokenizer
    from transformers import PreTrainedTokenizerFast

    return PreTrainedTokenizerFast(
        tokenizer_object=Tokenizer.from_file(str(path)), bos_token="<s>", eos_token="</s>", unk_token="<unk>",
        pad_token="<pad>", mask_token="<mask>", cls_token="<s>", sep_token="</s>", model_max_length=512,
    )


def build_tiny(target: Path) -> None:
    """Write config, seeded random weights and tokenizer of the tiny encoder into ``target``."""
    _build(target, hidden=64, layers=2, heads=4, intermediate=128)


def build_tiny_large(target: Path) -> None:
    """The same, wider and deeper (hidden 128, 4 layers): the smoke preset's second model size,
    so that studies of model scale run end to end offline."""
    _build(target, hidden=128, layers=4, heads=4, intermediate=256)


def _build(target: Path, *, hidden: int, layers: int, heads: int, intermediate: int) -> None:
    import torch
    from transformers import XLMRobertaConfig, XLMRobertaModel

    tokenizer = load_tokenizer()
    config = XLMRobertaConfig(
        vocab_size=len(tokenizer), hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads,
        intermediate_size=intermediate, max_position_embeddings=514, type_vocab_size=1,
        pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    state = torch.random.get_rng_state()
    torch.manual_seed(0)
    try:
        model = XLMRobertaModel(config, add_pooling_layer=False)
    finally:
        torch.random.set_rng_state(state)
    model.save_pretrained(target)
    tokenizer.save_pretrained(target)
