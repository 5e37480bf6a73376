"""``xharness new-plugin``: write a complete, installable plugin package from a template.

The package has the ordinary flat layout of the built-in plugins::

    NAME/
      pyproject.toml          setuptools; entry point NAME in the ``xharness`` group; samples as package data
      README.md               what each file is and the next steps
      MODULE/__init__.py      the task (TaskSpec with a local reader), optional backbone alias, the hooks
      MODULE/study.py         (--study) a minimal Study running the task
      MODULE/samples/...      a few lines per split and language, in the reader's format
      MODULE/citations.bib    no entry yet: a comment asking for the BibTeX of the task's paper (package data)
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

from harness.contract.errors import UserError


def _template(name: str) -> str:
    """One template of the package ``new-plugin`` writes: ``harness/authoring/templates/<name>.tmpl``, shipped as
    package data; ``__NAME__`` placeholders are filled by ``_fill``."""
    from importlib.resources import files

    return files("harness.authoring.templates").joinpath(f"{name}.tmpl").read_text(encoding="utf-8")

ROLES = ("target", "intermediate")
#: What a package holds: a task (of a kind the core has), a task kind of its own with a task that
#: uses it, or a backbone alias alone.
PACKAGES = ("task", "kind", "model")
NAME_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9]*(?:[-_][A-Za-z0-9]+)*$")
TARGET_LANGUAGES = ("en", "de", "es")  # the training language first, then two zero-shot languages


def _kind_folder(kind: str):
    from importlib.resources import files

    return files("harness.authoring.templates").joinpath("kinds", kind)


def template_kinds() -> tuple[str, ...]:
    """The task kinds new-plugin can write a reader and samples for: one folder each under
    ``templates/kinds/`` (``module.tmpl``, the module's body; ``kind.json``, what the files say about
    the kind's data; ``samples/<split>/<lang>.<ext>``, the bundled samples it writes)."""
    from importlib.resources import files

    folder = files("harness.authoring.templates").joinpath("kinds")
    return tuple(sorted(entry.name for entry in folder.iterdir() if entry.joinpath("kind.json").is_file()))


def _kind_meta(kind: str) -> dict[str, str]:
    """A template kind's ``kind.json``: granularity, sample extension, the format as the module's
    docstring and the README say it, what its labels are, a line of a bad file for the tests, and
    the ``harness.api`` names its module needs beyond the usual ones (``imports``)."""
    import json

    return json.loads(_kind_folder(kind).joinpath("kind.json").read_text(encoding="utf-8"))


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
               model: bool = False, study: bool = False, package: str = "task") -> Path:
    """Write the package into ``output/name`` and return that folder (UserError on a bad request).

    ``package``: ``task`` (a task of ``kind``), ``kind`` (a task kind of its own, declared in a
    ``KindSpec`` with its object in ``kind.py``, and a target task that uses it) or ``model`` (a
    backbone alias alone)."""
    names = names_for(name)
    if package not in PACKAGES:
        raise UserError(f"--package {package!r} is not supported; choose {', '.join(PACKAGES)}")
    if role not in ROLES:
        raise UserError(f"--task {role!r} is not supported; choose {' or '.join(ROLES)}")
    if kind not in template_kinds():
        raise UserError(f"--kind {kind!r} is not supported by new-plugin; supported kinds: {', '.join(template_kinds())} "
                        f"(write other kinds' readers by hand, see CONTRIBUTING.md)")
    folder = Path(output).expanduser() / name
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise UserError(f"{folder} already exists and is not empty; choose another --output or name")
    if package == "model":
        files = render_model(names)
    elif package == "kind":
        files = render_kind(names, model=model, study=study)
    else:
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
        "__LANGUAGES__": _tuple(languages), "__GRANULARITY__": _kind_meta(kind)["granularity"],
    }
    files = {
        "pyproject.toml": _fill(PYPROJECT, values),
        f"{names.module}/__init__.py": _module(values, role=role, kind=kind, model=model, study=study),
        "tests/test_plugin.py": _tests(values, kind=kind, model=model, study=study),
        "README.md": _readme(values, role=role, kind=kind, model=model, study=study),
        f"{names.module}/citations.bib": _citations(values, "task", names.task, "your task's dataset"),
        ".gitignore": "*.egg-info/\n__pycache__/\nbuild/\nxharness-runs/\n",
    }
    if study:
        files[f"{names.module}/study.py"] = _fill(STUDY_TARGET if role == "target" else STUDY_INTERMEDIATE, values)
    splits = {"en": ("train", "dev", "test")} if role == "target" else {"en": ("train", "dev")}
    for lang in languages[1:]:
        splits[lang] = ("dev", "test")
    extension = _kind_meta(kind)["extension"]
    for lang, wanted in splits.items():
        for split in wanted:
            sample = _kind_folder(kind).joinpath("samples", split, f"{lang}.{extension}")
            files[f"{names.module}/samples/{split}/{lang}.{extension}"] = sample.read_text(encoding="utf-8")
    return files


def render_kind(names: Names, *, model: bool, study: bool) -> dict[str, str]:
    """A package adding a task kind of its own, ``<task>_kind`` (classification on mean-pooled
    tokens, to edit), and a target task of that kind with samples, so that the contract kit checks
    and smoke-runs the kind as it does a built-in one."""
    kind_name = f"{names.task}_kind"
    files = render(names, role="target", kind="classification", model=model, study=study)
    module = f"{names.module}/__init__.py"
    text = files[module].replace('    kind="classification",\n', f'    kind="{kind_name}",  # this plugin\'s own kind\n', 1)
    text = text.replace("from harness.api import ", "from harness.api import KindSpec, MetricSpec, ", 1)
    block = _fill(_template("kind_block"), {"__KINDNAME__": kind_name, "__MODULE__": names.module})
    hooks = text.index("\n\n@hookimpl\n")
    text = text[:hooks] + block + text[hooks:]
    text += "\n\n@hookimpl\ndef register_task_kinds(register):\n    register(KIND_SPEC)\n"
    files[module] = text
    files[f"{names.module}/kind.py"] = _fill(_template("kind_object"), {"__KINDNAME__": kind_name})
    files["README.md"] = files["README.md"].replace(
        "\n## Next steps", f"\n## The kind\n\n`{names.module}/kind.py` holds the kind `{kind_name}` (a `TaskKind` built on "
        f"`harness.api` alone) and `{names.module}/__init__.py` its `KindSpec`: metrics with their range and "
        f"aggregate, the fields examples have and `example_problem`. The task `{names.task}` uses it, so "
        f"`assert_plugin_ok(..., smoke=True)` checks the kind exactly as it checks a built-in one. See "
        f"CONTRIBUTING.md, \"Adding a task kind\".\n\n## Next steps", 1)
    return files


def render_model(names: Names) -> dict[str, str]:
    """A package registering a backbone alias alone."""
    import harness

    values = {"__DIST__": names.distribution, "__MODULE__": names.module, "__TASK__": names.task,
              "__MODEL__": names.model, "__CORE__": ".".join(harness.__version__.split(".")[:2])}
    module = _template("model_only") + "\n" + MODEL_BLOCK.lstrip("\n")
    module += "\n\n@hookimpl\ndef register_models(register):\n    register(MODEL_SPEC)\n"
    pyproject = PYPROJECT.replace('description = "The __TASK__ task for xharness"',
                                  'description = "The __MODEL__ backbone for xharness"')
    pyproject = (pyproject[:pyproject.index("# the bundled samples")]
                 + "# citations.bib ships with the package (the BibTeX `xharness cite` prints for the backbone)\n"
                 + "[tool.setuptools.package-data]\n__MODULE__ = [\"citations.bib\"]\n\n"
                 + pyproject[pyproject.index("[tool.pytest"):])
    return {"pyproject.toml": _fill(pyproject, values),
            f"{names.module}/__init__.py": _fill(module, values),
            f"{names.module}/citations.bib": _citations(values, "model", names.model, "your backbone"),
            "tests/test_plugin.py": _fill(_template("tests_model_only") + TESTS_MODEL.lstrip("\n"), values),
            "README.md": _fill(_template("readme_model"), values),
            ".gitignore": "*.egg-info/\n__pycache__/\nbuild/\n"}


def _citations(values: dict[str, str], what: str, name: str, thing: str) -> str:
    """``citations.bib``: no entry, only the comment asking the author for the BibTeX of ``thing``
    (``harness.contract.citations`` reads it; package data, so editing it changes no key)."""
    text = _template("citations").replace("__WHAT__", what).replace("__NAME__", name).replace("__THING__", thing)
    return _fill(text, values)


def _tuple(items: tuple[str, ...]) -> str:
    """A tuple literal in double quotes, as the project writes them."""
    return "(" + ", ".join(f'"{item}"' for item in items) + ("," if len(items) == 1 else "") + ")"


def _fill(template: str, values: dict[str, str]) -> str:
    for token, value in values.items():
        template = template.replace(token, value)
    return template


# --------------------------------------------------------------------------------------------------
# pyproject.toml

PYPROJECT = _template("pyproject")


# --------------------------------------------------------------------------------------------------
# the module

HEAD = _template("head")

SPEC_TAIL_TARGET = _template("spec_tail_target")

SPEC_TAIL_INTERMEDIATE = _template("spec_tail_intermediate")

MODEL_BLOCK = _template("model_block")

STUDY_BLOCK = _template("study_block")


def _module(values: dict[str, str], *, role: str, kind: str, model: bool, study: bool) -> str:
    body = _kind_folder(kind).joinpath("module.tmpl").read_text(encoding="utf-8")
    text = HEAD.replace("__FORMAT_DOC__", _kind_meta(kind)["format_doc"]) + "\n\n" + body
    text = text.replace("__SPEC_TAIL__\n", SPEC_TAIL_TARGET if role == "target" else SPEC_TAIL_INTERMEDIATE)
    imports = ["LocalSource", "TaskSpec", "hookimpl"] + (["ModelSpec"] if model else [])
    imports += ["DataFormatError"] + (["StudySpec"] if study else []) + _kind_meta(kind).get("imports", [])
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

STUDY_TARGET = _template("study_target")

STUDY_INTERMEDIATE = _template("study_intermediate")


# --------------------------------------------------------------------------------------------------
# tests/test_plugin.py

TESTS_HEAD = _template("tests_head")

TESTS_MODEL = _template("tests_model")

TESTS_STUDY = _template("tests_study")

def _tests(values: dict[str, str], *, kind: str, model: bool, study: bool) -> str:
    text = TESTS_HEAD.replace("__BAD__", repr(_kind_meta(kind)["bad_lines"].encode().decode("unicode_escape")))
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

README = _template("readme")


def _readme(values: dict[str, str], *, role: str, kind: str, model: bool, study: bool) -> str:
    meta = _kind_meta(kind)
    extension = meta["extension"]
    if role == "target":
        samples = "`train/en`, `dev/<lang>` and `test/<lang>` for " + ", ".join(TARGET_LANGUAGES)
        run = "xharness run --inter none --target __TASK__ --preset smoke"
    else:
        samples = "`train/en` and `dev/en`"
        run = "xharness run --inter __TASK__ --target pawsx --preset smoke   # needs a target, e.g. pawsx"
    fmt, labels_what, edit_labels = meta["readme_format"], meta["labels_what"], meta["edit_labels"]
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
