"""What plugins register: task and model descriptions.

These are plain dataclasses with no heavy imports. The core validates them when a plugin
registers them (see ``harness.plugins``) so a broken plugin is reported by name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: The splits every task reader understands. Targets train on ``train`` in their training
#: language, select checkpoints on ``dev`` in that language and are scored on ``test`` in
#: every language; intermediate tasks use ``train`` and ``dev`` only.
SPLITS = ("train", "dev", "test")

#: An example is a plain dict whose keys depend on the task kind:
#:  classification:  {"text": str, "text_pair": str | None, "label": int}
#:  multiple_choice: {"context": str, "choices": list[str], "label": int}
Example = dict[str, Any]


@dataclass(frozen=True)
class HubSource:
    """Where a task's data lives on the Hugging Face hub.

    ``config`` may contain ``{lang}`` (or ``{name}``, see ``language_names``). ``splits`` maps our split names to the hub's.
    ``convert(row, lang)`` turns one hub row into an example; it may return None to drop a
    row (a row of another language, say, where one config holds all languages).
    ``revision`` pins the dataset version so results stay comparable. ``per_split`` gives
    another source for some splits (XNLI trains on MNLI, which lives elsewhere).
    """

    path: str
    splits: Mapping[str, str]
    convert: Callable[[dict, str], Example | None]
    config: str | None = None
    revision: str | None = None
    per_split: Mapping[str, "HubSource | tuple[HubSource, ...]"] = field(default_factory=dict)
    language_names: Mapping[str, str] = field(default_factory=dict)

    def sources_for(self, split: str) -> tuple["HubSource", ...]:
        """The source(s) of one split; several are read one after the other (ANLI+ joins four)."""
        chosen = self.per_split.get(split, self)
        return chosen if isinstance(chosen, tuple) else (chosen,)

    def config_for(self, lang: str) -> str | None:
        """The config for a language; ``{name}`` is its entry in ``language_names``."""
        return self.config.format(lang=lang, name=self.language_names.get(lang, lang)) if self.config else None


@dataclass(frozen=True)
class LocalSource:
    """How a task's files look on disk, in the layout of the original release.

    ``roots`` are folders, relative to ``--data-dir``, that may hold the layout (the first
    that has the file wins). ``file`` gives the relative path of one split and language — or
    several, all of which must exist, and a path may be a ``*`` pattern; ``read`` parses one
    file into examples and raises ``DataFormatError`` on bad lines.
    """

    file: Callable[[str, str], "str | tuple[str, ...]"]
    read: Callable[[Path, str, str], Iterable[Example]]
    roots: tuple[str, ...] = ("",)


@dataclass(frozen=True)
class TaskSpec:
    """Metadata and data access for one task.

    :param name: the name users type (``pawsx``).
    :param kind: a task kind the core knows (``classification``, ``multiple_choice``).
    :param languages: every language the task is evaluated on (targets) or trained on.
    :param metric: the metric name reported per language (``accuracy``).
    :param local: the reader for local files in the original format.
    :param samples: a folder, shipped with the plugin, holding small samples in the same
        layout as ``local``; used by ``--preset smoke``.
    :param hub: where the full data lives on the hub.
    :param train_language: the language of the training and model-selection data.
    :param labels: class names for classification, in label-id order.
    :param num_choices: answers per question for multiple choice.
    :param defaults: protocol hyper-parameters for this task (``epochs``, ``batch_size``,
        ``max_length``, ``lr``); anything missing falls back to the core's defaults.
    :param data_version: bump when the reader's output changes, so cached phases are redone.
    :param translated_train: languages with machine-translated training data (read as the
        ``train`` split in that language), for ``--translated LANG``.
    :param target_dev: the task has a ``dev`` split in its other languages too, so a checkpoint
        can be chosen on them (``--select-on target|both``); ``dev`` in the training language
        stays the protocol's selection set. ``"local"``: only its local files and samples have
        them, not its hub source.
    """

    name: str
    kind: str
    description: str
    languages: tuple[str, ...]
    metric: str
    local: LocalSource
    samples: Path | None = None
    hub: HubSource | None = None
    train_language: str = "en"
    labels: tuple[str, ...] = ()
    num_choices: int | None = None
    defaults: Mapping[str, Any] = field(default_factory=dict)
    data_version: str = "1"
    translated_train: tuple[str, ...] = ()
    target_dev: bool | str = False


@dataclass(frozen=True)
class ModelSpec:
    """A backbone users can name with ``--model``.

    Exactly one of ``hub_id`` (a Hugging Face model id, loaded with ``revision``) and
    ``build`` (a function that writes a complete model folder — config, weights and
    tokenizer — into the directory it is given) must be set. ``build_version`` goes into
    the cache key of built models.
    """

    name: str
    description: str
    hub_id: str | None = None
    revision: str | None = None
    build: Callable[[Path], None] | None = None
    build_version: str = "1"


@dataclass(frozen=True)
class LeaderboardTask:
    """One task of a leaderboard: how its ``test-<lang>.<extension>`` files are scored.

    :param metric: ``accuracy``, ``seqeval`` (tag files, one tag a line, blank line between
        sentences), ``pair_f1`` (tab-separated id pairs), ``squad`` or ``mlqa`` (SQuAD-format
        label JSON, ``{id: answer}`` prediction JSON; ``mlqa`` normalises per answer language).
    """

    name: str
    metric: str
    languages: tuple[str, ...]
    group: str
    extension: str


@dataclass(frozen=True)
class Leaderboard:
    """A benchmark's submission format: tasks, their languages and metrics, and task groups.

    The overall score is the mean of the tasks' scores when every task is present; a group's
    score is the mean over its tasks when all of them are present.
    """

    name: str
    description: str
    tasks: tuple[LeaderboardTask, ...]
    groups: tuple[str, ...]
