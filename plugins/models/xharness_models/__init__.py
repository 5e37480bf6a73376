"""Backbones for xharness (built-in plugin, found through its entry point)."""

from harness.api import ModelSpec, hookimpl

from xharness_models.tiny import TINY_VERSION, build_tiny, build_tiny_large

__version__ = "0.1.0"
XHARNESS_API = ">=1.0,<2"  # the harness.api versions this plugin is written for

MODELS = (
    ModelSpec("xlm-roberta-large", "XLM-R Large, 24 layers, 560M parameters (Conneau et al., 2020)",
              hub_id="FacebookAI/xlm-roberta-large"),
    ModelSpec("xlm-roberta-base", "XLM-R Base, 12 layers, 270M parameters", hub_id="FacebookAI/xlm-roberta-base"),
    ModelSpec("bert-base-multilingual-cased", "mBERT cased, 12 layers (Devlin et al., 2019)",
              hub_id="google-bert/bert-base-multilingual-cased"),
    ModelSpec("tiny", "randomly initialised XLM-R-shaped encoder (2 layers, hidden 64) with a tokenizer "
              "trained on the bundled samples; runs offline in seconds, learns nothing useful",
              build=build_tiny, build_version=TINY_VERSION),
    ModelSpec("tiny-large", "the tiny encoder's bigger sibling (4 layers, hidden 128, same tokenizer): a second "
              "model size for the smoke preset", build=build_tiny_large, build_version=TINY_VERSION),
)


@hookimpl
def register_models(register):
    for spec in MODELS:
        register(spec)
