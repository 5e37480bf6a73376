"""The ``tiny`` backbone: an XLM-R-shaped encoder built from a config, no download.

Its Unigram tokenizer (XLM-R's tokenizer type, with XLM-R's special tokens and pair template)
is trained on ``tiny_corpus.txt``, the text of the bundled task samples, so the pipeline can
run end to end offline. The weights are random (seeded), so it proves plumbing, not transfer.
"""

from __future__ import annotations

from pathlib import Path

TINY_VERSION = "9"
CORPUS = Path(__file__).resolve().parent / "tiny_corpus.txt"
SPECIAL = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]  # XLM-R's ids 0..3, mask last


def build_tokenizer(corpus: Path = CORPUS, vocab_size: int = 2000):
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.Unigram())
    tok.normalizer = normalizers.NFKC()
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    trainer = trainers.UnigramTrainer(vocab_size=vocab_size, special_tokens=SPECIAL, unk_token="<unk>",
                                      show_progress=False)
    lines = corpus.read_text(encoding="utf-8").splitlines()
    tok.train_from_iterator(lines, trainer)
    bos, eos = tok.token_to_id("<s>"), tok.token_to_id("</s>")
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>", special_tokens=[("<s>", bos), ("</s>", eos)]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<s>", eos_token="</s>", unk_token="<unk>", pad_token="<pad>",
        mask_token="<mask>", cls_token="<s>", sep_token="</s>", model_max_length=512,
    )


def build_tiny(target: Path) -> None:
    """Write config, seeded random weights and tokenizer of the tiny encoder into ``target``."""
    import torch
    from transformers import XLMRobertaConfig, XLMRobertaModel

    tokenizer = build_tokenizer()
    config = XLMRobertaConfig(
        vocab_size=len(tokenizer), hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
        intermediate_size=128, max_position_embeddings=514, type_vocab_size=1,
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
