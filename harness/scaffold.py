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


def _template(name: str) -> str:
    """One template of the package ``new-plugin`` writes: ``harness/templates/<name>.tmpl``, shipped as
    package data; ``__NAME__`` placeholders are filled by ``_fill``."""
    from importlib.resources import files

    return files("harness.templates").joinpath(f"{name}.tmpl").read_text(encoding="utf-8")

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

PYPROJECT = _template("pyproject")


# --------------------------------------------------------------------------------------------------
# the module

HEAD = _template("head")

CLASSIFICATION = _template("classification")

MULTIPLE_CHOICE = _template("multiple_choice")

TAGGING = _template("tagging")

SPEC_TAIL_TARGET = _template("spec_tail_target")

SPEC_TAIL_INTERMEDIATE = _template("spec_tail_intermediate")

MODEL_BLOCK = _template("model_block")

STUDY_BLOCK = _template("study_block")

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

STUDY_TARGET = _template("study_target")

STUDY_INTERMEDIATE = _template("study_intermediate")


# --------------------------------------------------------------------------------------------------
# tests/test_plugin.py

TESTS_HEAD = _template("tests_head")

TESTS_MODEL = _template("tests_model")

TESTS_STUDY = _template("tests_study")

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

README = _template("readme")


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
