"""The contract-test kit plugin authors use (harness.testing): it passes our plugins and catches
each kind of fault with its documented one-line message."""

import dataclasses
import importlib
import re
import types

import pytest

import harness
from harness.contract.errors import DataFormatError
from harness.contract.spec import LocalSource, TaskSpec
from harness.testing import (
    CitationWarning, PluginCheck, PluginProblems, assert_plugin_ok, check_clashes, check_load, check_metadata,
    check_plugin, example_problem, language_problem, sample_needs,
)


def _plugin(**hooks) -> types.SimpleNamespace:
    return types.SimpleNamespace(**{name: harness.hookimpl(fn) for name, fn in hooks.items()})


def read_tsv(path, split, lang):
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            fields = line.rstrip("\n").split("\t")
            if len(fields) != 3:
                raise DataFormatError(path, number, "expected text, text_pair, label")
            yield {"text": fields[0], "text_pair": fields[1], "label": int(fields[2])}


def read_without_label(path, split, lang):
    return [{k: v for k, v in example.items() if k != "label"} for example in read_tsv(path, split, lang)]


ROWS = ["a cat sat\tthe cat sat\t1", "a dog ran\tno dog\t0", "it rains\tit is dry\t0"]


@pytest.fixture
def samples(tmp_path):
    """Well-formed samples of a two-language classification task: train and dev in en, test in en and de."""
    folder = tmp_path / "samples"
    folder.mkdir()
    for split, lang in (("train", "en"), ("dev", "en"), ("test", "en"), ("test", "de")):
        (folder / f"{split}-{lang}.tsv").write_text("\n".join(ROWS) + "\n", encoding="utf-8")
    return folder


def _task(samples, **changes) -> TaskSpec:
    spec = TaskSpec(name="kitnli", kind="classification", description="a kit test task", languages=("en", "de"),
                    metric="accuracy", labels=("no", "yes"), samples=samples,
                    local=LocalSource(file=lambda split, lang: f"{split}-{lang}.tsv", read=read_tsv))
    return dataclasses.replace(spec, **changes)


def _targets(*specs) -> types.SimpleNamespace:
    def register_target_tasks(register):
        for spec in specs:
            register(spec)
    return _plugin(register_target_tasks=register_target_tasks)


# -- our own plugins keep the contract -----------------------------------------------------------

@pytest.mark.parametrize("entry_point", ["xtreme", "xtreme-r", "stilts", "models", "studies"])
def test_the_kit_passes_our_plugins(entry_point):
    # the smoke protocol on one task only, to keep the suite fast
    smoke = entry_point == "xtreme-r"
    check = PluginCheck(entry_point)
    assert check.run(smoke=smoke, smoke_tasks=["xcopa"] if smoke else None) == []
    assert check.entry_point == entry_point and check.name == entry_point
    if entry_point in ("xtreme", "xtreme-r", "stilts"):  # every task with samples was read and featurised
        read = {task for task, _, _ in check._examples}
        assert read == {item.spec.name for _, item in check.tasks()}


def test_a_module_of_an_installed_entry_point_is_counted_once():
    module = importlib.import_module("xharness_xtreme")
    assert PluginCheck(module).name == PluginCheck("xharness_xtreme").name == "xtreme"
    assert check_clashes(module) == []


def test_a_clean_third_party_plugin_passes(samples):
    assert check_plugin(_targets(_task(samples)), name="kit") == []
    # it passes; a plugin object without a citations.bib is only reminded to add one
    with pytest.warns(CitationWarning, match="no BibTeX entry"):
        assert_plugin_ok(_targets(_task(samples)), name="kit")


# -- the faults it catches, each in its documented line -------------------------------------------

def test_a_sample_file_with_a_bad_line(samples):
    (samples / "test-de.tsv").write_text(ROWS[0] + "\nonly one field\n", encoding="utf-8")
    assert check_plugin(_targets(_task(samples)), name="kit") == [
        f"task 'kitnli' samples test/de: {samples / 'test-de.tsv'}:2: expected text, text_pair, label"]


def test_a_missing_or_empty_sample_split(samples):
    (samples / "dev-en.tsv").unlink()
    (samples / "test-de.tsv").write_text("", encoding="utf-8")
    assert check_plugin(_targets(_task(samples)), name="kit") == [
        f"task 'kitnli' samples dev/en: task 'kitnli': plugin 'kit' ships no bundled sample for dev en "
        f"({samples / 'dev-en.tsv'}): add that file to the plugin's samples, or drop 'en' from the task's languages",
        f"task 'kitnli' samples test/de: empty ({samples / 'test-de.tsv'})"]


def test_an_unknown_kind(samples):
    problems = check_plugin(_targets(_task(samples, kind="ghost")), name="kit")
    assert len(problems) == 1
    assert re.fullmatch(r"plugin kit: target task 'kitnli' unavailable: no working plugin registers its kind "
                        r"'ghost' \(known: [a-z_, ]*classification[a-z_, ]*\); is the plugin that adds it "
                        r"installed and loading\?", problems[0]), problems[0]


def test_a_name_a_built_in_plugin_registers_is_left_out_in_one_line(samples):
    assert check_plugin(_targets(_task(samples, name="pawsx")), name="kit") == [
        "target task 'pawsx': the built-in plugin 'xtreme' has this name, so yours is left out (the plugin's other names work): rename it"]


def test_a_language_that_is_not_a_code_and_a_metric_the_kind_cannot_score(samples):
    spec = _task(samples, languages=("en", "English"), metric="bleu")
    assert check_metadata(_targets(spec), name="kit") == [
        "task 'kitnli': language 'English' is not a language code (2-3 lowercase letters, optionally -Script "
        "or -REGION as in 'zh-Hans', 'pt-BR'; or 'multi')",
        "task 'kitnli': metric 'bleu' is not one the classification kind scores (accuracy)"]
    # a tagging task may report accuracy (CCG), a span QA task squad_v2; a third-party kind is not checked
    assert check_metadata(_targets(_task(samples, metric="f1")), name="kit") == [
        "task 'kitnli': metric 'f1' is not one the classification kind scores (accuracy)"]


@pytest.mark.parametrize("code", ["en", "yue", "zh-Hans", "pt-BR", "es-419", "sr-Latn-RS", "multi"])
def test_plausible_language_codes(code):
    assert language_problem(code) is None


@pytest.mark.parametrize("code", ["English", "EN", "e", "zh_Hans", "zh-hans", "engl", "", None, "multi-x"])
def test_implausible_language_codes(code):
    assert language_problem(code).startswith(f"language {code!r} is not a language code")


def test_a_reader_that_returns_the_wrong_fields(samples):
    spec = _task(samples, local=LocalSource(file=lambda split, lang: f"{split}-{lang}.tsv", read=read_without_label))
    problems = check_plugin(_targets(spec), name="kit")
    assert problems[0] == ("task 'kitnli' samples train/en: example 1 of 3: no field 'label' (classification "
                           "examples have text, label; optional: text_pair) (and 2 more bad examples)")
    assert [p.split(":")[0] for p in problems] == [f"task 'kitnli' samples {need}" for need in
                                                   ("train/en", "dev/en", "test/en", "test/de")]


def test_a_label_out_of_range_and_fields_of_other_kinds(samples):
    (samples / "dev-en.tsv").write_text(ROWS[0] + "\nx\ty\t2\n", encoding="utf-8")
    assert check_plugin(_targets(_task(samples)), name="kit") == [
        "task 'kitnli' samples dev/en: example 2 of 2: label 2 is not in range(2) (the task's labels)"]
    tagging = _task(samples, kind="tagging", metric="f1", labels=("O", "B-PER"))
    assert example_problem(tagging, {"words": ["a", "b"], "tags": ["O"]}) == "2 words but 1 tags"
    assert example_problem(tagging, {"words": ["a"], "tags": ["X"]}) == "tag(s) 'X' are not among the task's labels"
    choice = _task(samples, kind="multiple_choice", num_choices=3)
    assert example_problem(choice, {"context": "c", "choices": ["a", "b"], "label": 0}) == \
        "2 choices, the task has num_choices=3"
    dual = _task(samples, kind="dual_encoder", metric="map_at_20")
    assert example_problem(dual, {"query": "q", "candidate": "c"}) is None
    assert example_problem(dual, {"query": "q", "id": "1"}) == "a query has neither 'relevant' nor 'key'"
    assert example_problem(dual, {"candidate": "c"}) == "a candidate without a pair has no field 'id'"
    qa = _task(samples, kind="span_qa", metric="squad")
    assert example_problem(qa, {"id": "1", "question": "q", "context": "abc",
                                "answers": [{"text": "b", "answer_start": 7}]}) == \
        "answer_start 7 is outside the context (3 characters)"


def test_the_splits_a_run_needs(samples):
    assert sample_needs(_task(samples), "target") == [("train", "en"), ("dev", "en"), ("test", "en"), ("test", "de")]
    assert sample_needs(_task(samples, target_dev=True, extra_languages=("ro",)), "target") == [
        ("train", "en"), ("dev", "en"), ("dev", "de"), ("dev", "ro"), ("test", "en"), ("test", "de"), ("test", "ro")]
    assert sample_needs(_task(samples, translated_train=("de",)), "intermediate") == [
        ("train", "en"), ("train", "de"), ("dev", "en")]


def test_a_plugin_that_does_not_load_or_register():
    assert check_load("no_such_plugin_module_xyz") == [
        "plugin no_such_plugin_module_xyz: failed to load: ModuleNotFoundError: No module named "
        "'no_such_plugin_module_xyz'"]
    broken = _targets(dataclasses.replace(_task(None), languages=()))
    assert check_plugin(broken, name="kit") == [
        "plugin kit: failed to register: ValueError: task 'kitnli' declares no languages"]


def test_assert_plugin_ok_lists_every_problem_one_a_line(samples):
    spec = _task(samples, name="pawsx", metric="bleu")
    with pytest.raises(PluginProblems) as caught:
        assert_plugin_ok(_targets(spec), name="kit")
    assert isinstance(caught.value, AssertionError)
    assert caught.value.problems == ["target task 'pawsx': the built-in plugin 'xtreme' has this name, so yours is left out (the plugin's other names work): rename it",
                                     "task 'pawsx': metric 'bleu' is not one the classification kind scores (accuracy)"]
    assert str(caught.value).splitlines()[1:] == [f"  {p}" for p in caught.value.problems]


def test_the_smoke_run_checks_every_score(samples, tmp_path, monkeypatch):
    """A kind whose scores leave [0, 100] passes every check but the smoke run; an intermediate task
    is smoke-run before pawsx."""
    (tmp_path / "kit_bad_kind.py").write_text(
        "from harness.kinds.classification import Classification\n"
        "class Overscored(Classification):\n"
        "    name = 'overscored'\n"
        "    def evaluate_test(self, *args, **kwargs):\n"
        "        return (150.0, *super().evaluate_test(*args, **kwargs)[1:])\n"
        "KIND = Overscored()\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    from harness.contract.spec import KindSpec

    plugin = _plugin(
        register_task_kinds=lambda register: register(KindSpec("overscored", "d", "kit_bad_kind:KIND")),
        register_target_tasks=lambda register: register(_task(samples, name="kitover", kind="overscored")),
        register_intermediate_tasks=lambda register: register(_task(samples, languages=("en",))))
    assert check_plugin(plugin, name="kit") == []
    assert check_plugin(plugin, name="kit", smoke=True) == [
        "task 'kitover' smoke: score for 'en' is 150.0, not in [0, 100] (the overscored kind's range for accuracy)",
        "task 'kitover' smoke: score for 'de' is 150.0, not in [0, 100] (the overscored kind's range for accuracy)"]


def test_a_plugin_under_an_installed_plugins_name(samples):
    assert check_plugin(_targets(_task(samples)), name="stilts") == [
        "plugin stilts: failed to register: another plugin is already registered under the name 'stilts'"]


def test_a_hook_without_hookimpl_or_with_the_wrong_argument_fails_its_plugin_in_one_line():
    """Quiet before: an unmarked hook registered nothing and the plugin was listed as ok; a wrong
    argument name showed pluggy's text."""
    import types

    from harness.api import hookimpl

    unmarked = types.ModuleType("unmarked")
    unmarked.register_target_tasks = lambda register: None
    problems = check_plugin(unmarked, name="unmarked")
    assert len(problems) == 1 and "register_target_tasks is not marked @hookimpl, so nothing is registered" in problems[0]

    wrong = types.ModuleType("wrong")

    @hookimpl
    def register_models(reg):
        pass

    wrong.register_models = register_models
    problems = check_plugin(wrong, name="wrong")
    assert len(problems) == 1 and "register_models must be written as def register_models(register)" in problems[0]
    assert "the plugin wrote register_models(reg)" in problems[0] and "\n" not in problems[0]


def test_a_label_outside_the_tasks_labels_is_one_line_before_training(tmp_path, samples):
    """Quiet before: the run failed at the first step with torch's 'Target 2 is out of bounds'."""
    from harness.contract.errors import UserError
    from harness.contract.discovery import discover
    from harness.cell.protocol import RunRequest, execute, plan_run

    (samples / "train-en.tsv").write_text(ROWS[0] + "\nthe sky\tthe ground\t2\n", encoding="utf-8")
    registry = discover(extra=[("kit", _targets(_task(samples)))])
    request = RunRequest(inter="none", target="kitnli", preset="smoke", output=tmp_path / "out", languages=["en"])
    with pytest.raises(UserError) as caught:
        execute(plan_run(request, registry))
    message = str(caught.value)
    assert "\n" not in message and "train en" in message
    assert "example 2 (id 1) has label 2, outside the task's 2 labels" in message
    assert not (tmp_path / "out" / "runs").exists() or not any((tmp_path / "out" / "runs").iterdir())


def test_a_task_of_a_plugin_that_failed_to_load_names_that_plugin():
    import types

    from harness.contract.errors import UnknownNameError
    from harness.contract.discovery import discover

    broken = types.ModuleType("broken")
    broken.register_target_tasks = lambda register: None  # unmarked: the plugin fails
    registry = discover(extra=[("brokentasks", broken)], autoload=False)
    with pytest.raises(UnknownNameError) as caught:
        registry.task("target", "mytask")
    assert "plugin brokentasks failed to load and may provide it" in str(caught.value)
    assert "xharness list --plugin brokentasks" in str(caught.value)


def test_a_reader_that_shuffles_without_a_seed_is_caught(samples):
    """Quiet before: per-example records silently out of order between runs."""
    import random

    def shuffling(path, split, lang):
        rows = list(read_tsv(path, split, lang))
        random.Random().shuffle(rows)  # no seed: another order on every read
        yield from rows

    for name in ("train-en", "dev-en", "test-en", "test-de"):  # enough rows that two orders differ
        lines = [f"sentence {i}\tanother {i}\t{i % 2}" for i in range(40)]
        (samples / f"{name}.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    spec = _task(samples, local=LocalSource(file=lambda split, lang: f"{split}-{lang}.tsv", read=shuffling))
    problems = check_plugin(_targets(spec), name="kit")
    assert problems and all("reading it twice gave the examples in another order" in p for p in problems)
    assert "with a fixed seed" in problems[0]


def test_scores_reported_as_fractions_are_caught(samples, monkeypatch):
    """Quiet before: a kind (or metric) reporting 0.5 where xharness reports 50 passed the kit."""
    from harness.kinds.base import TaskKind

    real = TaskKind.evaluate_test

    def as_fraction(self, *args, **kwargs):
        score, *rest = real(self, *args, **kwargs)
        return (score / 100, *rest)

    monkeypatch.setattr(TaskKind, "evaluate_test", as_fraction)
    problems = check_plugin(_targets(_task(samples)), name="kit", smoke=True)
    assert len(problems) == 1 and "every score is between 0 and 1" in problems[0]
    assert "reports accuracy in percent (0 to 100)" in problems[0]


def test_a_plugin_naming_a_task_pawsx_leaves_the_kits_smoke_run_before_pawsx_alone(samples, monkeypatch):
    """Quiet before: a plugin's clash on pawsx took pawsx away and every intermediate task's smoke run was
    skipped. The built-in pawsx now stays, and the intermediate task is smoke-run before it."""
    from harness.cell import protocol

    ran = []
    real = protocol.execute

    def recording(plan, *args, **kwargs):
        ran.append((plan.inter[0].spec.name if plan.inter else None, plan.target.spec.name))
        return real(plan, *args, **kwargs)

    monkeypatch.setattr(protocol, "execute", recording)
    plugin = _plugin(register_target_tasks=lambda register: register(_task(samples, name="pawsx")),
                     register_intermediate_tasks=lambda register: register(_task(samples, name="kitinter",
                                                                                  languages=("en",))))
    problems = check_plugin(plugin, name="kit", smoke=True, smoke_tasks=["kitinter"])
    assert problems == ["target task 'pawsx': the built-in plugin 'xtreme' has this name, so yours is left out (the plugin's other names work): rename it"]
    (inter, target), = ran
    assert inter == "kitinter" and target == "pawsx"
