"""``xharness new-plugin``: write a complete, installable plugin package from a template.

The package has the ordinary flat layout of the built-in plugins::

    NAME/
      pyproject.toml          setuptools; entry point NAME in the ``xharness`` group; samples as package data
      README.md               what each file is and the next steps
      MODULE/__init__.py      the task (TaskSpec with a local reader), optional backbone alias, the hooks
      MODULE/study.py         (--study) a minimal Study running the task
      MODULE/samples/...      a few lines per split and language, in the reader's format
      tests/test_plugin.py    ``harness.testing.assert_plugin_ok`` and a reader test

It works right after ``pip install -e NAME``: ``xharness list`` shows the task, and
``xharness run --inter none --target TASK --preset smoke`` runs it on the samples. Nothing here
imports torch; the generated code imports only ``harness`` at module level.
"""

from __future__ import annotations

import keyword
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from harness.errors import UserError

#: Task kinds the template can write a reader and samples for.
KINDS = ("classification", "multiple_choice", "tagging")
ROLES = ("target", "intermediate")
NAME_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9]*(?:[-_][A-Za-z0-9]+)*$")
TARGET_LANGUAGES = ("en", "de", "es")  # the training language first, then two zero-shot languages
GRANULARITY = {"classification": "pair", "multiple_choice": "choice", "tagging": "token"}


@dataclass(frozen=True)
class Names:
    """The names of a new plugin: distribution (and entry point), module, task."""

    distribution: str
    module: str
    task: str

    @property
    def model(self) -> str:
        return f"{self.task.replace('_', '-')}-encoder"


def names_for(name: str) -> Names:
    """``xharness-mytask`` → distribution and entry point ``xharness-mytask``, module ``xharness_mytask``,
    task ``mytask``; UserError for a name that cannot be all three."""
    if not NAME_PATTERN.match(name or ""):
        raise UserError(f"plugin name {name!r} is not valid: use letters, digits and single '-' or '_' between "
                        f"them, starting with a letter (e.g. xharness-mytask)")
    module = name.lower().replace("-", "_")
    task = name.lower()
    for prefix in ("xharness-", "xharness_"):
        if task.startswith(prefix):
            task = task[len(prefix):]
    task = task.replace("-", "_")
    if not task or task == "xharness" or module in ("harness", "xharness"):
        raise UserError(f"plugin name {name!r} names no task: add one after the prefix (e.g. xharness-mytask)")
    if keyword.iskeyword(module) or module in sys.stdlib_module_names:
        raise UserError(f"plugin name {name!r} would make module {module!r}, which Python already uses; "
                        f"choose another name")
    return Names(distribution=name, module=module, task=task)


def new_plugin(name: str, output: str | Path = ".", *, role: str = "target", kind: str = "classification",
               model: bool = False, study: bool = False) -> Path:
    """Write the package into ``output/name`` and return that folder (UserError on a bad request)."""
    names = names_for(name)
    if role not in ROLES:
        raise UserError(f"--task {role!r} is not supported; choose {' or '.join(ROLES)}")
    if kind not in KINDS:
        raise UserError(f"--kind {kind!r} is not supported by new-plugin; supported kinds: {', '.join(KINDS)} "
                        f"(write other kinds' readers by hand, see CONTRIBUTING.md)")
    folder = Path(output).expanduser() / name
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise UserError(f"{folder} already exists and is not empty; choose another --output or name")
    files = render(names, role=role, kind=kind, model=model, study=study)
    for relative, text in files.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return folder


def render(names: Names, *, role: str, kind: str, model: bool, study: bool) -> dict[str, str]:
    """Every file of the package: relative path → text."""
    import harness

    languages = TARGET_LANGUAGES if role == "target" else ("en",)
    major_minor = ".".join(harness.__version__.split(".")[:2])
    values = {
        "__DIST__": names.distribution, "__MODULE__": names.module, "__TASK__": names.task,
        "__MODEL__": names.model, "__CORE__": major_minor, "__ROLE__": role, "__KIND__": kind,
        "__LANGUAGES__": _tuple(languages), "__GRANULARITY__": GRANULARITY[kind],
    }
    files = {
        "pyproject.toml": _fill(PYPROJECT, values),
        f"{names.module}/__init__.py": _module(values, role=role, kind=kind, model=model, study=study),
        "tests/test_plugin.py": _tests(values, kind=kind, model=model, study=study),
        "README.md": _readme(values, role=role, kind=kind, model=model, study=study),
        ".gitignore": "*.egg-info/\n__pycache__/\nbuild/\nxharness-runs/\n",
    }
    if study:
        files[f"{names.module}/study.py"] = _fill(STUDY_TARGET if role == "target" else STUDY_INTERMEDIATE, values)
    splits = {"en": ("train", "dev", "test")} if role == "target" else {"en": ("train", "dev")}
    for lang in languages[1:]:
        splits[lang] = ("dev", "test")
    extension = "conll" if kind == "tagging" else "tsv"
    for lang, wanted in splits.items():
        for split in wanted:
            files[f"{names.module}/samples/{split}/{lang}.{extension}"] = SAMPLES[kind](split, lang)
    return files


def _tuple(items: tuple[str, ...]) -> str:
    """A tuple literal in double quotes, as the project writes them."""
    return "(" + ", ".join(f'"{item}"' for item in items) + ("," if len(items) == 1 else "") + ")"


def _fill(template: str, values: dict[str, str]) -> str:
    for token, value in values.items():
        template = template.replace(token, value)
    return template


# --------------------------------------------------------------------------------------------------
# pyproject.toml

PYPROJECT = '''\
[build-system]
requires = ["setuptools>=64"]
build-backend = "setuptools.build_meta"

[project]
name = "__DIST__"
version = "0.1.0"
description = "The __TASK__ task for xharness"
readme = "README.md"
requires-python = ">=3.10"
dependencies = ["xtreme-harness>=__CORE__,<1"]  # xharness does not load the plugin on a core outside this range

[project.optional-dependencies]
test = ["pytest>=8"]

# xharness finds plugins through this entry-point group: `xharness list` shows the plugin as "__DIST__"
[project.entry-points.xharness]
__DIST__ = "__MODULE__"

[tool.setuptools]
packages = ["__MODULE__"]

# the bundled samples ship with the package (`--preset smoke` reads them)
[tool.setuptools.package-data]
__MODULE__ = ["samples/**/*"]

[tool.pytest.ini_options]
testpaths = ["tests"]
'''


# --------------------------------------------------------------------------------------------------
# the module

HEAD = '''\
"""__TASK__: EDIT — one line on what the task is, and the paper that introduced it.

An xharness plugin (entry point ``__DIST__``), written by ``xharness new-plugin``. Edit the
places marked EDIT; the rest works as it is. Nothing here imports torch: heavy imports belong
inside functions.
__FORMAT_DOC__
"""

from __future__ import annotations

from pathlib import Path

from harness.api import DataFormatError, LocalSource, TaskSpec, hookimpl

__version__ = "0.1.0"
#: The harness.api versions this plugin is written for: another major version is not loaded
#: (xharness says so in `xharness list`) instead of failing somewhere inside a run.
XHARNESS_API = ">=1.0,<2"

SAMPLES = Path(__file__).resolve().parent / "samples"
TASK = "__TASK__"
#: EDIT: the training language first (it trains and selects on it), then every language tested.
LANGUAGES = __LANGUAGES__
'''

CLASSIFICATION = '''\
#: EDIT: the label names, in label-id order, as the files write them.
LABELS = ("no", "yes")
HEADER = ["text", "text_pair", "label"]


def task_file(split: str, lang: str) -> str:
    """Where one split and language lives, relative to the data folder (and in ``samples/``)."""
    return f"{split}/{lang}.tsv"


def read_task_file(path: Path, split: str, lang: str):
    """Read one file into ``{"text", "text_pair", "label"}`` examples; one-line errors name the line."""
    label_ids = {name: i for i, name in enumerate(LABELS)}
    with open(path, encoding="utf-8", newline="") as handle:
        header = handle.readline().rstrip("\\r\\n").split("\\t")
        if header != HEADER:
            raise DataFormatError(path, 1, f"expected the header {' / '.join(HEADER)}, found {' / '.join(header)}")
        for number, line in enumerate(handle, start=2):
            line = line.rstrip("\\r\\n")
            if not line.strip():
                continue
            fields = line.split("\\t")
            if len(fields) != 3:
                raise DataFormatError(path, number, f"expected 3 tab-separated fields, found {len(fields)}")
            text, text_pair, label = fields
            if label not in label_ids:
                raise DataFormatError(path, number, f"unknown label {label!r} (expected one of {', '.join(LABELS)})")
            yield {"text": text, "text_pair": text_pair or None, "label": label_ids[label]}


TASK_SPEC = TaskSpec(
    name=TASK,
    kind="classification",
    granularity="__GRANULARITY__",  # "pair" for two texts; "sentence" when text_pair is always empty
    description="EDIT: __TASK__ (sentence-pair classification)",
    languages=LANGUAGES,
    metric="accuracy",
    labels=LABELS,
    local=LocalSource(file=task_file, read=read_task_file, roots=("", TASK)),
    samples=SAMPLES,
__SPEC_TAIL__
'''

MULTIPLE_CHOICE = '''\
#: EDIT: how many answers each question has.
NUM_CHOICES = 2
HEADER = ["context"] + [f"choice_{i}" for i in range(1, NUM_CHOICES + 1)] + ["label"]


def task_file(split: str, lang: str) -> str:
    """Where one split and language lives, relative to the data folder (and in ``samples/``)."""
    return f"{split}/{lang}.tsv"


def read_task_file(path: Path, split: str, lang: str):
    """Read one file into ``{"context", "choices", "label"}`` examples; one-line errors name the line."""
    with open(path, encoding="utf-8", newline="") as handle:
        header = handle.readline().rstrip("\\r\\n").split("\\t")
        if header != HEADER:
            raise DataFormatError(path, 1, f"expected the header {' / '.join(HEADER)}, found {' / '.join(header)}")
        for number, line in enumerate(handle, start=2):
            line = line.rstrip("\\r\\n")
            if not line.strip():
                continue
            fields = line.split("\\t")
            if len(fields) != len(HEADER):
                raise DataFormatError(path, number, f"expected {len(HEADER)} tab-separated fields, found {len(fields)}")
            if fields[-1] not in [str(i) for i in range(NUM_CHOICES)]:
                raise DataFormatError(path, number, f"label must be the 0-based index of the right choice "
                                                    f"(0 to {NUM_CHOICES - 1}), found {fields[-1]!r}")
            yield {"context": fields[0], "choices": fields[1:-1], "label": int(fields[-1])}


TASK_SPEC = TaskSpec(
    name=TASK,
    kind="multiple_choice",
    granularity="__GRANULARITY__",
    description="EDIT: __TASK__ (multiple choice)",
    languages=LANGUAGES,
    metric="accuracy",
    num_choices=NUM_CHOICES,
    local=LocalSource(file=task_file, read=read_task_file, roots=("", TASK)),
    samples=SAMPLES,
__SPEC_TAIL__
'''

TAGGING = '''\
#: EDIT: every tag, as the files write them (BIO tags are scored as entities by seqeval).
TAGS = ("O", "B-PER", "I-PER", "B-LOC", "I-LOC")


def task_file(split: str, lang: str) -> str:
    """Where one split and language lives, relative to the data folder (and in ``samples/``)."""
    return f"{split}/{lang}.conll"


def read_task_file(path: Path, split: str, lang: str):
    """Read one CoNLL-like file (``token<TAB>tag`` lines, a blank line after each sentence) into
    ``{"words", "tags"}`` examples; one-line errors name the line."""
    words: list[str] = []
    tags: list[str] = []
    with open(path, encoding="utf-8", newline="") as handle:
        for number, line in enumerate(handle, start=1):
            line = line.rstrip("\\r\\n")
            if not line.strip():
                if words:
                    yield {"words": words, "tags": tags}
                words, tags = [], []
                continue
            fields = line.split("\\t")
            if len(fields) != 2 or not fields[0]:
                raise DataFormatError(path, number, f"expected token<TAB>tag, found {len(fields)} field(s)")
            if fields[1] not in TAGS:
                raise DataFormatError(path, number, f"unknown tag {fields[1]!r} (expected one of {', '.join(TAGS)})")
            words.append(fields[0])
            tags.append(fields[1])
    if words:
        yield {"words": words, "tags": tags}


TASK_SPEC = TaskSpec(
    name=TASK,
    kind="tagging",
    granularity="__GRANULARITY__",
    description="EDIT: __TASK__ (token tagging)",
    languages=LANGUAGES,
    metric="f1",  # seqeval F1; "accuracy" scores per word instead
    labels=TAGS,
    local=LocalSource(file=task_file, read=read_task_file, roots=("", TASK)),
    samples=SAMPLES,
__SPEC_TAIL__
'''

SPEC_TAIL_TARGET = '''\
    # EDIT: where the full data lives on the Hugging Face hub, if it does (then `--preset smoke` still reads
    # the samples, `--data-dir DIR` local files, and a plain run the hub):
    # hub=HubSource(path="org/dataset", config="{lang}", revision="<commit sha>",
    #               splits={"train": "train", "dev": "validation", "test": "test"},
    #               convert=lambda row, lang: {...an example as read_task_file yields...}),
    defaults={"epochs": 3, "batch_size": 32, "max_length": 128, "lr": 1e-5},  # EDIT: the protocol's values
    target_dev=True,  # dev files exist in every language: --select-on target|both works
)
'''

SPEC_TAIL_INTERMEDIATE = '''\
    # EDIT: where the full data lives on the Hugging Face hub, if it does (see CONTRIBUTING.md):
    # hub=HubSource(path="org/dataset", revision="<commit sha>", splits={"train": "train", "dev": "validation"},
    #               convert=lambda row, lang: {...an example as read_task_file yields...}),
    defaults={"epochs": 3, "batch_size": 32, "max_length": 128, "lr": 1e-5},  # EDIT: the protocol's values
)
'''

MODEL_BLOCK = '''

#: EDIT: the Hugging Face id of your backbone (and pin REVISION to a commit for reproducible runs).
#: Nothing is downloaded until a run names the alias with --model.
MODEL_HUB_ID = "org/model"
MODEL_REVISION = None
MODEL_SPEC = ModelSpec("__MODEL__", "EDIT: what this backbone is",
                       hub_id=MODEL_HUB_ID, revision=MODEL_REVISION)
'''

STUDY_BLOCK = '''

STUDY_SPEC = StudySpec("__TASK__", "EDIT: the question this study answers about __TASK__",
                       "__MODULE__.study:STUDY")  # imported only when the study runs
'''

DOC_FORMAT = {
    "classification": '''
Data format (local files and the bundled samples, one file per split and language):
``<split>/<lang>.tsv``, UTF-8, a header line ``text<TAB>text_pair<TAB>label``, then one example a
line; ``label`` is one of LABELS by name, and ``text_pair`` may be empty (one-sentence tasks).''',
    "multiple_choice": '''
Data format (local files and the bundled samples, one file per split and language):
``<split>/<lang>.tsv``, UTF-8, a header line ``context<TAB>choice_1<TAB>…<TAB>choice_N<TAB>label``
(N = NUM_CHOICES), then one question a line; ``label`` is the 0-based index of the right choice.''',
    "tagging": '''
Data format (local files and the bundled samples, one file per split and language):
``<split>/<lang>.conll``, UTF-8, CoNLL-like: one ``token<TAB>tag`` line per word, a blank line
after each sentence; every tag is one of TAGS.''',
}


def _module(values: dict[str, str], *, role: str, kind: str, model: bool, study: bool) -> str:
    body = {"classification": CLASSIFICATION, "multiple_choice": MULTIPLE_CHOICE, "tagging": TAGGING}[kind]
    text = HEAD.replace("__FORMAT_DOC__", DOC_FORMAT[kind]) + "\n\n" + body
    text = text.replace("__SPEC_TAIL__\n", SPEC_TAIL_TARGET if role == "target" else SPEC_TAIL_INTERMEDIATE)
    imports = ["LocalSource", "TaskSpec", "hookimpl"] + (["ModelSpec"] if model else [])
    imports += ["DataFormatError"] + (["StudySpec"] if study else [])
    text = text.replace("from harness.api import DataFormatError, LocalSource, TaskSpec, hookimpl",
                        f"from harness.api import {', '.join(sorted(imports))}")
    if model:
        text += MODEL_BLOCK
    if study:
        text += STUDY_BLOCK
    hook = "register_target_tasks" if role == "target" else "register_intermediate_tasks"
    text += f"\n\n@hookimpl\ndef {hook}(register):\n    register(TASK_SPEC)\n"
    if model:
        text += "\n\n@hookimpl\ndef register_models(register):\n    register(MODEL_SPEC)\n"
    if study:
        text += "\n\n@hookimpl\ndef register_studies(register):\n    register(STUDY_SPEC)\n"
    return _fill(text, values)


# --------------------------------------------------------------------------------------------------
# study.py

STUDY_TARGET = '''\
"""A minimal study: __TASK__ without intermediate training, every test language, one table.

EDIT: make it your question — more intermediate tasks (``inter=["none", "mnli", ...]``), models,
seeds — and an analysis that answers it. ``xharness study run __TASK__ --preset smoke`` proves it.
"""

from __future__ import annotations

from harness.api import Grid, Study

TASK = "__TASK__"


class TaskStudy(Study):
    name = TASK

    def grids(self, options, registry):
        if TASK not in registry.tasks["target"]:
            return []
        models = options.models or (["tiny"] if options.smoke else ["xlm-roberta-large"])
        return [Grid(inter=["none"], target=[TASK], seeds=options.seeds or [1], models=models,
                     output=options.output, data_dir=options.data_dir, preset=options.preset,
                     checkpoint_minutes=options.checkpoint_minutes)]

    def analyse(self, context):
        runs = context.runs()
        languages = sorted({lang for run in runs for lang in run.languages()})
        context.say(f"{TASK}: the test score per language (no intermediate task), one row per model and seed.")
        context.say()
        rows = []
        for run in sorted(runs, key=lambda r: (r.model, r.seed)):
            context.number(f"score/{run.model}/{run.seed}", run.score(), runs=[run])
            per_language = run.record["scores"]["per_language"]
            rows.append([run.model, run.seed] + [_shown(per_language.get(lang)) for lang in languages]
                        + [_shown(run.score())])
        context.table(["model", "seed"] + languages + ["mean"], rows)


def _shown(value) -> str:
    return "n/a" if value is None else f"{value:.2f}"


STUDY = TaskStudy()
'''

STUDY_INTERMEDIATE = '''\
"""A minimal study: does intermediate training on __TASK__ help a target task, zero-shot?

EDIT: make it your question — more targets, models, seeds — and an analysis that answers it.
``xharness study run __TASK__ --preset smoke`` proves it (it needs a target task installed, e.g. pawsx).
"""

from __future__ import annotations

from harness.api import Grid, Study

TASK = "__TASK__"
TARGETS = ("pawsx", "xnli")  # EDIT: the target tasks to transfer to (the installed ones are used)


class TaskStudy(Study):
    name = TASK

    def grids(self, options, registry):
        targets = [t for t in TARGETS if t in registry.tasks["target"]][:1 if options.smoke else None]
        if TASK not in registry.tasks["intermediate"] or not targets:
            return []
        models = options.models or (["tiny"] if options.smoke else ["xlm-roberta-large"])
        return [Grid(inter=[TASK, "none"], target=targets, seeds=options.seeds or [1], models=models,
                     output=options.output, data_dir=options.data_dir, preset=options.preset,
                     checkpoint_minutes=options.checkpoint_minutes)]

    def analyse(self, context):
        runs = context.runs()
        context.say(f"Mean test score over languages, after {TASK} and without intermediate training.")
        context.say()
        rows = []
        for run in sorted(runs, key=lambda r: (r.model, r.target, r.inter, r.seed)):
            context.number(f"score/{run.model}/{run.inter}/{run.target}/{run.seed}", run.score(), runs=[run])
            rows.append([run.model, run.inter, run.target, run.seed,
                         "n/a" if run.score() is None else f"{run.score():.2f}"])
        context.table(["model", "intermediate", "target", "seed", "mean score"], rows)


STUDY = TaskStudy()
'''


# --------------------------------------------------------------------------------------------------
# tests/test_plugin.py

TESTS_HEAD = '''\
"""The plugin's own tests: xharness's plugin checks (registration, samples, readers, a smoke run
on the tiny model) and the reader's errors. Run with ``python -m pytest tests``; nothing is
downloaded."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # before any Hugging Face import: never wait on the hub
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

import pytest  # noqa: E402

from harness.api import DataFormatError  # noqa: E402
from harness.testing import assert_plugin_ok  # noqa: E402

import __MODULE__  # noqa: E402


def test_plugin_ok():
    """Registration, language codes, metric, samples, featurisation and a smoke run on the tiny model."""
    assert_plugin_ok("__MODULE__", smoke=True)


def test_samples_read():
    for path in sorted(__MODULE__.SAMPLES.rglob("*.*")):
        split, lang = path.parent.name, path.stem
        assert list(__MODULE__.read_task_file(path, split, lang)), path


def test_reader_names_the_bad_line(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text(__BAD__, encoding="utf-8")
    with pytest.raises(DataFormatError, match="bad.txt:2"):
        list(__MODULE__.read_task_file(bad, "test", "en"))
'''

TESTS_MODEL = '''

def test_model_alias_registers():
    """The backbone alias registers with its hub id; nothing is downloaded."""
    from harness.testing import discover

    registry = discover(extra=[("__DIST__", __MODULE__)], autoload=False)
    registered = registry.model("__MODEL__")
    assert registered is not None, "the model alias did not register"
    assert registered.spec.hub_id == __MODULE__.MODEL_HUB_ID
'''

TESTS_STUDY = '''

def test_study_registers_and_plans():
    """The study registers, loads and plans a grid on the installed task (nothing is trained)."""
    from harness.testing import discover, study_grids

    registry = discover(extra=[("__DIST__", __MODULE__)], autoload=False)
    assert __MODULE__.TASK in {**registry.tasks["target"], **registry.tasks["intermediate"]}
    grids = study_grids(registry, "__TASK__")
__STUDY_ASSERT__'''

BAD_LINES = {
    "classification": "text\\ttext_pair\\tlabel\\nonly one field\\n",
    "multiple_choice": "context\\tchoice_1\\tchoice_2\\tlabel\\nquestion\\ta\\tb\\t7\\n",
    "tagging": "Maria\\tB-PER\\nruns\\tNOT-A-TAG\\n",
}


def _tests(values: dict[str, str], *, kind: str, model: bool, study: bool) -> str:
    text = TESTS_HEAD.replace("__BAD__", repr(BAD_LINES[kind].encode().decode("unicode_escape")))
    if model:
        text += TESTS_MODEL
    if study:
        text += TESTS_STUDY.replace("__STUDY_ASSERT__", STUDY_ASSERT[values["__ROLE__"]])
    return _fill(text, values)


STUDY_ASSERT = {
    "target": '    assert [grid.target for grid in grids] == [["__TASK__"]]\n',
    # with only this plugin there is no target to transfer to: the study plans nothing (and says so)
    "intermediate": "    assert grids == []\n",
}


# --------------------------------------------------------------------------------------------------
# README.md

README = '''\
# __DIST__

The `__TASK__` __ROLE__ task (__KIND__) for xharness, as a plugin. EDIT: say
what the task is, cite its paper, and where its data comes from.

Written by `xharness new-plugin`; it works as it is, on the bundled samples.

## Files

| file | what it is |
|---|---|
| `pyproject.toml` | the package: its name, its dependency on `xtreme-harness` (a range with an upper bound: on a core outside it xharness lists the plugin with that reason and does not load it, as it does for a `harness.api` outside the module's `XHARNESS_API`), the entry point `__DIST__` in the `xharness` group (how xharness finds the plugin) and the samples as package data |
| `__MODULE__/__init__.py` | the task: `TaskSpec` `__TASK__` with its languages, __LABELS_WHAT__, metric and protocol defaults, the local reader `read_task_file` and the file layout `task_file`; the hooks that register it__MODEL_FILE__ |
__STUDY_ROW__| `__MODULE__/samples/` | a few examples per split and language, written by the template in the reader's format: __SAMPLES_WHAT__; `--preset smoke` runs on them |
| `tests/test_plugin.py` | `harness.testing.assert_plugin_ok` (registration, samples, a smoke run on the tiny model) and a reader test__MODEL_TEST__ |
| `README.md` | this file |

Data format: __FORMAT__

## Next steps

```console
$ pip install -e .                      # in the environment where xharness is installed
$ xharness list                         # shows __TASK__ and the plugin __DIST__
$ __RUN__
$ python -m pytest tests
```

1. Put your task's real reader in `read_task_file` (keep the one-line `DataFormatError(path, line,
   problem)` errors) and the release's layout in `task_file`; set `LANGUAGES`__EDIT_LABELS__.
2. Replace the samples with a few examples of your own in the release's format — written by you,
   never copied from the dataset — so `--preset smoke` and the tests keep working offline.
3. Add a `HubSource` if the data is on the Hugging Face hub (pin `revision`), and set `defaults`
   to the protocol's hyper-parameters.
4. Run on real data: `xharness run --inter none --target __TASK__ --data-dir DIR` with the files as
   `DIR/<split>/<lang>.__EXT__` (or under `DIR/__TASK__/`).__MODEL_STEP____STUDY_STEP__

See xharness's CONTRIBUTING.md ("Adding a task", "Adding a backbone", "Adding a study").
'''


def _readme(values: dict[str, str], *, role: str, kind: str, model: bool, study: bool) -> str:
    extension = "conll" if kind == "tagging" else "tsv"
    if role == "target":
        samples = "`train/en`, `dev/<lang>` and `test/<lang>` for " + ", ".join(TARGET_LANGUAGES)
        run = "xharness run --inter none --target __TASK__ --preset smoke"
    else:
        samples = "`train/en` and `dev/en`"
        run = "xharness run --inter __TASK__ --target pawsx --preset smoke   # needs a target, e.g. pawsx"
    fmt = {
        "classification": "`<split>/<lang>.tsv` with a header `text<TAB>text_pair<TAB>label`, one example a line, "
                          "the label by name (`LABELS`); `text_pair` may be empty.",
        "multiple_choice": "`<split>/<lang>.tsv` with a header `context<TAB>choice_1<TAB>…<TAB>choice_N<TAB>label`, "
                           "one question a line, the label the 0-based index of the right choice.",
        "tagging": "`<split>/<lang>.conll`, one `token<TAB>tag` line per word and a blank line after each sentence "
                   "(CoNLL-like); tags from `TAGS`.",
    }[kind]
    labels_what = {"classification": "labels", "multiple_choice": "number of choices", "tagging": "tags"}[kind]
    edit_labels = {"classification": " and `LABELS`", "multiple_choice": " and `NUM_CHOICES`",
                   "tagging": " and `TAGS`"}[kind]
    text = README
    replacements = {
        "__MODEL_FILE__": "; with the backbone alias `__MODEL__` (`MODEL_HUB_ID`, a placeholder to edit)" if model else "",
        "__STUDY_ROW__": "| `__MODULE__/study.py` | a minimal study (`xharness study run __TASK__`) that runs the task and "
                         "tabulates its scores |\n" if study else "",
        "__MODEL_TEST__": "; a check that the backbone alias registers (no download)" if model else "",
        "__SAMPLES_WHAT__": samples, "__FORMAT__": fmt, "__RUN__": run, "__LABELS_WHAT__": labels_what,
        "__EDIT_LABELS__": edit_labels, "__EXT__": extension,
        "__MODEL_STEP__": ("\n5. Set `MODEL_HUB_ID` (and `MODEL_REVISION`) in `__MODULE__/__init__.py` to your backbone's "
                           "hub id; `xharness run --inter none --target __TASK__ --model __MODEL__` then uses it "
                           "(the first run downloads it).") if model else "",
        "__STUDY_STEP__": ("\n6. Make `__MODULE__/study.py` ask your question; `xharness study run __TASK__ --preset "
                           "smoke` proves the recipe, `xharness study run __TASK__` runs it for real.") if study else "",
    }
    for token, value in replacements.items():
        text = text.replace(token, value)
    if study and not model:
        text = text.replace("\n6. Make", "\n5. Make")
    return _fill(text, values)


# --------------------------------------------------------------------------------------------------
# bundled samples, written for the template (synthetic sentences)

_PAIRS = {
    ("train", "en"): [
        ("The museum opens at nine every morning.", "The museum is open in the morning.", "yes"),
        ("The museum opens at nine every morning.", "The museum never opens before noon.", "no"),
        ("Maria bought three apples at the market.", "Maria bought some fruit.", "yes"),
        ("Maria bought three apples at the market.", "Maria sold her old car.", "no"),
        ("The train to Lyon was cancelled because of snow.", "A train was cancelled.", "yes"),
        ("The train to Lyon was cancelled because of snow.", "The weather was warm and sunny.", "no"),
        ("Our neighbours painted their fence green.", "The fence is green now.", "yes"),
        ("Our neighbours painted their fence green.", "Nobody on our street has a fence.", "no"),
    ],
    ("dev", "en"): [
        ("The children played football after school.", "The children played a game.", "yes"),
        ("The children played football after school.", "The children stayed in bed all day.", "no"),
        ("He forgot his umbrella and got wet.", "It was raining.", "yes"),
        ("He forgot his umbrella and got wet.", "He stayed completely dry.", "no"),
    ],
    ("test", "en"): [
        ("The bakery sells fresh bread every day.", "You can buy bread at the bakery.", "yes"),
        ("The bakery sells fresh bread every day.", "The bakery closed ten years ago.", "no"),
        ("Anna wrote a long letter to her brother.", "Anna wrote something.", "yes"),
        ("Anna wrote a long letter to her brother.", "Anna has no brother.", "no"),
    ],
    ("dev", "de"): [
        ("Die Kinder spielten nach der Schule Fußball.", "Die Kinder spielten ein Spiel.", "yes"),
        ("Die Kinder spielten nach der Schule Fußball.", "Die Kinder blieben den ganzen Tag im Bett.", "no"),
        ("Er vergaß seinen Schirm und wurde nass.", "Es regnete.", "yes"),
        ("Er vergaß seinen Schirm und wurde nass.", "Er blieb völlig trocken.", "no"),
    ],
    ("test", "de"): [
        ("Die Bäckerei verkauft jeden Tag frisches Brot.", "In der Bäckerei kann man Brot kaufen.", "yes"),
        ("Die Bäckerei verkauft jeden Tag frisches Brot.", "Die Bäckerei hat vor zehn Jahren geschlossen.", "no"),
        ("Anna schrieb ihrem Bruder einen langen Brief.", "Anna schrieb etwas.", "yes"),
        ("Anna schrieb ihrem Bruder einen langen Brief.", "Anna hat keinen Bruder.", "no"),
    ],
    ("dev", "es"): [
        ("Los niños jugaron al fútbol después de la escuela.", "Los niños jugaron a un juego.", "yes"),
        ("Los niños jugaron al fútbol después de la escuela.", "Los niños se quedaron en la cama todo el día.", "no"),
        ("Olvidó su paraguas y se mojó.", "Estaba lloviendo.", "yes"),
        ("Olvidó su paraguas y se mojó.", "Se quedó completamente seco.", "no"),
    ],
    ("test", "es"): [
        ("La panadería vende pan fresco todos los días.", "En la panadería se puede comprar pan.", "yes"),
        ("La panadería vende pan fresco todos los días.", "La panadería cerró hace diez años.", "no"),
        ("Ana escribió una carta larga a su hermano.", "Ana escribió algo.", "yes"),
        ("Ana escribió una carta larga a su hermano.", "Ana no tiene hermanos.", "no"),
    ],
}

_CHOICES = {
    ("train", "en"): [
        ("The glass fell off the table. What happened next?", "It broke.", "It started to sing.", "0"),
        ("The man was hungry. What did he do?", "He slept on the roof.", "He made a sandwich.", "1"),
        ("It started to rain. What did the woman open?", "Her umbrella.", "Her dictionary.", "0"),
        ("The room was dark. What did the boy do?", "He turned on the light.", "He painted the door.", "0"),
        ("The ice cream was left in the sun. What happened?", "It froze harder.", "It melted.", "1"),
        ("The phone battery was empty. What did she do?", "She charged it.", "She watered it.", "0"),
        ("The dog was thirsty. What did it need?", "A blanket.", "Water.", "1"),
        ("The road was icy. How did the driver drive?", "Slowly.", "With the lights off.", "0"),
    ],
    ("dev", "en"): [
        ("The baby was tired. What did the baby do?", "It fell asleep.", "It read a newspaper.", "0"),
        ("The soup was too hot. What did he do?", "He waited a moment.", "He froze it for a year.", "0"),
        ("The shop was closed. What did they do?", "They bought the shop.", "They came back later.", "1"),
        ("The plant had no water for weeks. What happened?", "It grew taller.", "It dried out.", "1"),
    ],
    ("test", "en"): [
        ("The alarm rang at six. What did she do?", "She got up.", "She planted a tree.", "0"),
        ("The bus was full. What did he do?", "He waited for the next one.", "He ate the ticket.", "0"),
        ("The window was open in winter. What happened?", "The room got warm.", "The room got cold.", "1"),
        ("The pen ran out of ink. What did he need?", "A new pen.", "A new shoe.", "0"),
    ],
    ("dev", "de"): [
        ("Das Baby war müde. Was tat das Baby?", "Es schlief ein.", "Es las eine Zeitung.", "0"),
        ("Die Suppe war zu heiß. Was tat er?", "Er wartete einen Moment.", "Er fror sie ein Jahr lang ein.", "0"),
        ("Der Laden war geschlossen. Was taten sie?", "Sie kauften den Laden.", "Sie kamen später wieder.", "1"),
        ("Die Pflanze bekam wochenlang kein Wasser. Was geschah?", "Sie wuchs höher.", "Sie vertrocknete.", "1"),
    ],
    ("test", "de"): [
        ("Der Wecker klingelte um sechs. Was tat sie?", "Sie stand auf.", "Sie pflanzte einen Baum.", "0"),
        ("Der Bus war voll. Was tat er?", "Er wartete auf den nächsten.", "Er aß die Fahrkarte.", "0"),
        ("Im Winter stand das Fenster offen. Was geschah?", "Das Zimmer wurde warm.", "Das Zimmer wurde kalt.", "1"),
        ("Der Stift hatte keine Tinte mehr. Was brauchte er?", "Einen neuen Stift.", "Einen neuen Schuh.", "0"),
    ],
    ("dev", "es"): [
        ("El bebé estaba cansado. ¿Qué hizo el bebé?", "Se durmió.", "Leyó un periódico.", "0"),
        ("La sopa estaba muy caliente. ¿Qué hizo él?", "Esperó un momento.", "La congeló durante un año.", "0"),
        ("La tienda estaba cerrada. ¿Qué hicieron?", "Compraron la tienda.", "Volvieron más tarde.", "1"),
        ("La planta no tuvo agua durante semanas. ¿Qué pasó?", "Creció más.", "Se secó.", "1"),
    ],
    ("test", "es"): [
        ("La alarma sonó a las seis. ¿Qué hizo ella?", "Se levantó.", "Plantó un árbol.", "0"),
        ("El autobús estaba lleno. ¿Qué hizo él?", "Esperó el siguiente.", "Se comió el billete.", "0"),
        ("La ventana estuvo abierta en invierno. ¿Qué pasó?", "La habitación se calentó.",
         "La habitación se enfrió.", "1"),
        ("El bolígrafo se quedó sin tinta. ¿Qué necesitaba?", "Un bolígrafo nuevo.", "Un zapato nuevo.", "0"),
    ],
}

_TAGGED = {
    ("train", "en"): [
        "Maria/B-PER lives/O in/O Berlin/B-LOC ./O",
        "John/B-PER Smith/I-PER visited/O Paris/B-LOC yesterday/O ./O",
        "The/O train/O to/O New/B-LOC York/I-LOC was/O late/O ./O",
        "Anna/B-PER met/O Peter/B-PER in/O London/B-LOC ./O",
        "We/O drove/O from/O Madrid/B-LOC to/O Lisbon/B-LOC ./O",
        "Carlos/B-PER Ruiz/I-PER works/O in/O Mexico/B-LOC City/I-LOC ./O",
    ],
    ("dev", "en"): [
        "Lena/B-PER flew/O to/O Rome/B-LOC ./O",
        "The/O river/O runs/O through/O Vienna/B-LOC ./O",
        "Tom/B-PER Baker/I-PER called/O his/O sister/O ./O",
    ],
    ("test", "en"): [
        "Sara/B-PER grew/O up/O in/O Oslo/B-LOC ./O",
        "Peter/B-PER Miller/I-PER moved/O to/O Cape/B-LOC Town/I-LOC ./O",
        "The/O market/O in/O Lima/B-LOC is/O busy/O ./O",
    ],
    ("dev", "de"): [
        "Lena/B-PER flog/O nach/O Rom/B-LOC ./O",
        "Der/O Fluss/O fließt/O durch/O Wien/B-LOC ./O",
        "Thomas/B-PER Becker/I-PER rief/O seine/O Schwester/O an/O ./O",
    ],
    ("test", "de"): [
        "Sara/B-PER wuchs/O in/O Oslo/B-LOC auf/O ./O",
        "Peter/B-PER Müller/I-PER zog/O nach/O Hamburg/B-LOC ./O",
        "Der/O Markt/O in/O Lima/B-LOC ist/O voll/O ./O",
    ],
    ("dev", "es"): [
        "Lena/B-PER voló/O a/O Roma/B-LOC ./O",
        "El/O río/O pasa/O por/O Viena/B-LOC ./O",
        "Tomás/B-PER Pérez/I-PER llamó/O a/O su/O hermana/O ./O",
    ],
    ("test", "es"): [
        "Sara/B-PER creció/O en/O Oslo/B-LOC ./O",
        "Pedro/B-PER Molina/I-PER se/O mudó/O a/O Buenos/B-LOC Aires/I-LOC ./O",
        "El/O mercado/O de/O Lima/B-LOC está/O lleno/O ./O",
    ],
}


def _tsv(header: list[str], rows) -> str:
    return "\n".join("\t".join(fields) for fields in [header, *rows]) + "\n"


def _classification_sample(split: str, lang: str) -> str:
    return _tsv(["text", "text_pair", "label"], _PAIRS[(split, lang)])


def _choice_sample(split: str, lang: str) -> str:
    return _tsv(["context", "choice_1", "choice_2", "label"], _CHOICES[(split, lang)])


def _tagging_sample(split: str, lang: str) -> str:
    blocks = []
    for sentence in _TAGGED[(split, lang)]:
        blocks.append("\n".join("\t".join(item.rsplit("/", 1)) for item in sentence.split()))
    return "\n\n".join(blocks) + "\n"


SAMPLES = {"classification": _classification_sample, "multiple_choice": _choice_sample, "tagging": _tagging_sample}
