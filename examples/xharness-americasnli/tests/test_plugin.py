"""The plugin's own tests: xharness's plugin checks (registration, samples, readers, a smoke run
on the tiny model), the reader on the released layout and on anything else, and the backbone
alias. Run with ``python -m pytest tests``; nothing is downloaded."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # before any Hugging Face import: never wait on the hub
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

import pytest  # noqa: E402

from harness.api import DataFormatError  # noqa: E402
from harness.testing import assert_plugin_ok  # noqa: E402

import xharness_americasnli as plugin  # noqa: E402


def test_plugin_ok():
    """Registration, language codes, metric, samples, featurisation and a smoke run on the tiny model."""
    assert_plugin_ok("xharness_americasnli", smoke=True)


def test_every_language_has_dev_and_test_samples():
    for lang in plugin.LANGUAGES:
        for split in ("dev", "test"):
            examples = list(plugin.read_task_file(plugin.SAMPLES / plugin.task_file(split, lang), split, lang))
            assert sorted(e["label"] for e in examples) == [0, 1, 2], (split, lang)


def test_english_comes_from_mnli():
    train = plugin.SAMPLES / plugin.task_file("train", "en")
    dev = plugin.SAMPLES / plugin.task_file("dev", "en")
    assert train.name == "multinli.train.en.tsv" and dev.name == "dev_matched.tsv"
    assert {e["label"] for e in plugin.read_task_file(train, "train", "en")} == {0, 1, 2}  # "contradictory" read
    assert {e["label"] for e in plugin.read_task_file(dev, "dev", "en")} == {0, 1, 2}


def test_release_reader_accepts_files_without_id(tmp_path):
    path = tmp_path / "aym.tsv"
    path.write_text("language\tpremise\thypothesis\tlabel\naym\tp\th\tneutral\n", encoding="utf-8")
    assert list(plugin.read_task_file(path, "test", "aym")) == [{"text": "p", "text_pair": "h", "label": 1}]


@pytest.mark.parametrize("text, where, problem", [
    ("premise\thypothesis\tlabel\np\th\tneutral\n", "aym.tsv:1", "lacks the column(s) language"),
    ("language\tpremise\thypothesis\tlabel\naym\tp\th\t1\n", "aym.tsv:2", "unknown label '1'"),
    ("language\tpremise\thypothesis\tlabel\nquy\tp\th\tneutral\n", "aym.tsv:2", "language 'quy'"),
    ("language\tpremise\thypothesis\tlabel\naym\tp\th\n", "aym.tsv:2", "expected 4 tab-separated fields"),
])
def test_other_layouts_are_one_line_errors(tmp_path, text, where, problem):
    path = tmp_path / "aym.tsv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataFormatError) as caught:
        list(plugin.read_task_file(path, "test", "aym"))
    message = str(caught.value)
    assert where in message and problem in message and "\n" not in message


def test_model_alias_registers():
    """The backbone alias registers with its hub id; nothing is downloaded."""
    from harness.testing import discover

    registry = discover(extra=[("xharness-americasnli", plugin)], autoload=False)
    registered = registry.model("xlmr-americas")
    assert registered is not None and registered.spec.hub_id == plugin.MODEL_HUB_ID
    hub = registry.task("target", "americasnli").spec.hub
    assert hub.sources_for("dev", "quy")[0].path == "nala-cub/americas_nli"
    assert hub.sources_for("dev", "en")[0].path == "nyu-mll/glue"
