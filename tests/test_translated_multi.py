"""`--translated` with several languages: the union of their translated training sets.

Planning finds every language's file before training, `all` is each task's own set of
translations, `en` is the task's English training data, and a single-language run keys exactly
as it did before several languages were possible.
"""

import csv
import json
import shutil
from collections import Counter
from harness.data.features import read_entry
from pathlib import Path

import pytest
from click.testing import CliRunner

from harness.cli import cli
from harness.contract.errors import UserError

XNLI_MT = ("ar", "bg", "de", "el", "es", "fr", "hi", "ru", "sw", "th", "tr", "ur", "vi", "zh")


def _samples(registry, role, name) -> Path:
    return registry.task(role, name).spec.samples


def _translated_mnli_count(registry, lang: str) -> int:
    """Examples in the bundled XNLI-MT sample of one language, counted without the task's reader."""
    path = _samples(registry, "intermediate", "mnli") / "XNLI-MT-1.0" / "multinli" / f"multinli.train.{lang}.tsv"
    with open(path, encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    return sum(1 for row in rows[1:] if row and any(cell.strip() for cell in row))


def _plan(registry, tmp_path, inter="mnli", target="pawsx", translated=None, **kw):
    from harness.cell.protocol import RunRequest, plan_run

    overrides = {"translated": translated} if translated is not None else {}
    request = RunRequest(inter=inter, target=target, preset="smoke", output=tmp_path / "out",
                         overrides=overrides, **kw)
    return plan_run(request, registry)


def _train_languages(data) -> list[str]:
    return [lang for split, lang in data.needs if split == "train"]


def test_several_languages_find_every_file_before_training(registry, tmp_path):
    data_dir = tmp_path / "data"
    shutil.copytree(_samples(registry, "intermediate", "mnli"), data_dir / "mnli")
    shutil.copytree(_samples(registry, "target", "pawsx"), data_dir / "pawsx")
    plan = _plan(registry, tmp_path, translated="de,es", data_dir=data_dir)
    (mnli,) = plan.inter
    assert mnli.needs == [("train", "de"), ("train", "es"), ("dev", "en")]
    assert [p.name for p in mnli.files[("train", "es")]] == ["multinli.train.es.tsv"]
    assert plan.inter_settings["translated"] == ["de", "es"]

    (data_dir / "mnli" / "XNLI-MT-1.0" / "multinli" / "multinli.train.es.tsv").unlink()
    with pytest.raises(UserError) as error:
        _plan(registry, tmp_path, translated="de,es", data_dir=data_dir)
    message = str(error.value)
    assert "\n" not in message and "multinli.train.es.tsv" in message and "not found" in message
    # the CLI says the same in one line, before any training
    result = CliRunner().invoke(cli, ["run", "--inter", "mnli", "--target", "pawsx", "--preset", "smoke",
                                      "--data-dir", str(data_dir), "--translated", "de,es",
                                      "--output", str(tmp_path / "out")])
    assert result.exit_code == 1 and "multinli.train.es.tsv" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "out" / "intermediate").exists()


def test_several_languages_train_on_their_union(registry, tmp_path):
    result = CliRunner().invoke(cli, ["run", "--inter", "mnli", "--target", "pawsx", "--preset", "smoke",
                                      "--translated", "de,es", "--languages", "en,de", "--output", str(tmp_path),
                                      "--inter-epochs", "1", "--target-epochs", "1"])
    assert result.exit_code == 0, result.output
    (path,) = (tmp_path / "runs").glob("*/results.json")
    record = json.loads(path.read_text())
    assert record["hyperparameters"]["intermediate"]["translated"] == ["de", "es"]
    expected = _translated_mnli_count(registry, "de") + _translated_mnli_count(registry, "es")
    assert expected > _translated_mnli_count(registry, "de") > 0
    assert record["phases"]["intermediate"]["train_examples"] == expected
    # each language's features are a cache entry of their own, joined for training
    sizes = [len(read_entry(entry)) for entry in (tmp_path / "features").glob("*.safetensors")]
    for size, times in Counter(_translated_mnli_count(registry, lang) for lang in ("de", "es")).items():
        assert sizes.count(size) >= times


def test_a_single_language_keys_as_before(registry, tmp_path):
    """The key of a one-language run is what the code before several languages made: its settings
    hold the plain language and its data the train split in that language with English dev."""
    from harness.data.sources import plan_task_data
    from harness.common.fsutil import stable_hash
    from harness.cell.protocol import cell_paths, prepare_model

    english = _plan(registry, tmp_path)
    german = _plan(registry, tmp_path, translated="de")
    assert german.inter_settings["translated"] == "de"
    model = prepare_model(german)
    mnli = registry.task("intermediate", "mnli")
    old_data = plan_task_data(mnli, [("train", "de"), ("dev", "en")], source="bundled", data_dir=None)
    material = {"phase": "intermediate", "core": {"version": __import__("harness").__version__}, "model": model,
                "tasks": [old_data.identity], "settings": {**english.inter_settings, "translated": "de"},
                "seed": 42, "code": german.code["intermediate"]}  # the code of the plugins and kinds (issue 20)
    assert cell_paths(german, model).inter_key == stable_hash(material)
    # the same with several intermediate tasks sharing the language
    both = _plan(registry, tmp_path, inter="mnli,squad", translated="de")
    assert both.inter_settings["translated"] == "de"
    assert [_train_languages(d) for d in both.inter] == [["de"], ["de"]]
    # `en` alone is the English run itself; the order languages are named in does not matter
    assert cell_paths(_plan(registry, tmp_path, translated="en"), model).inter_key == \
        cell_paths(english, model).inter_key
    assert cell_paths(_plan(registry, tmp_path, translated="es,de"), model).inter_key == \
        cell_paths(_plan(registry, tmp_path, translated="de,es"), model).inter_key
    with_english = _plan(registry, tmp_path, translated="de,en")
    assert _train_languages(with_english.inter[0]) == ["en", "de"]
    assert with_english.inter_settings["translated"] == ["en", "de"]
    assert [p.name for p in with_english.inter[0].files[("train", "en")]] == ["train.tsv"]


def test_all_is_each_tasks_own_set_of_translations(registry, tmp_path):
    mnli = registry.task("intermediate", "mnli").spec
    squad = registry.task("intermediate", "squad").spec
    assert mnli.translated_train == XNLI_MT
    plan = _plan(registry, tmp_path, translated="all")
    assert _train_languages(plan.inter[0]) == list(XNLI_MT)
    assert plan.inter_settings["translated"] == list(XNLI_MT)
    assert all(plan.inter[0].files[("train", lang)] for lang in XNLI_MT)

    both = _plan(registry, tmp_path, inter="mnli,squad", translated="ALL")
    assert [_train_languages(d) for d in both.inter] == [list(mnli.translated_train), list(squad.translated_train)]
    assert both.inter_settings["translated"] == {"mnli": list(mnli.translated_train),
                                                 "squad": list(squad.translated_train)}
    with_english = _plan(registry, tmp_path, inter="mnli,qqp", translated="en,all")
    assert [_train_languages(d) for d in with_english.inter] == [["en", *XNLI_MT], ["en"]]
    with pytest.raises(UserError, match="--translated all: qqp has no translated training data"):
        _plan(registry, tmp_path, inter="mnli,qqp", translated="all")
    # a language one task lacks is an error when named explicitly
    lacking = next(lang for lang in mnli.translated_train if lang not in squad.translated_train)
    with pytest.raises(UserError, match=f"squad has no translated training data in '{lacking}'"):
        _plan(registry, tmp_path, inter="mnli,squad", translated=f"de,{lacking}")


def test_an_unknown_or_repeated_language_is_refused_in_one_line(tmp_path):
    for value, said in (("de,xx", "mnli has no translated training data in 'xx'"),
                        ("de,de", "names a language twice"), ("de,", "give a language")):
        result = CliRunner().invoke(cli, ["run", "--inter", "mnli", "--target", "pawsx", "--preset", "smoke",
                                          "--translated", value, "--output", str(tmp_path)])
        assert result.exit_code == 1 and said in result.output, result.output
        assert len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "intermediate").exists()
