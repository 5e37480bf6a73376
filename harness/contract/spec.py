"""What plugins register: task and model descriptions.

These are plain dataclasses with no heavy imports. The core validates them when a plugin
registers them (see ``harness.contract.discovery``) so a broken plugin is reported by name.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
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
    row (a row of another language, say, where one config holds all languages), or a list when
    one row holds several examples.
    ``revision`` pins the dataset version so results stay comparable: a full 40-hex commit of the
    dataset repository, with a comment beside it saying where the commit was seen (a shipped task's
    sources have one, save those ``tests/test_hub_pins.py`` lists as unverified). ``per_split`` gives
    another source for some splits (XNLI trains on MNLI, which lives elsewhere); ``per_language``
    another source for some languages (a benchmark's added languages, held in another dataset),
    which then serves every split of that language.

    :param path: the hub dataset id (``rajpurkar/squad``), as ``datasets.load_dataset`` takes it.
    :param splits: our split names (``train``, ``dev``, ``test``) mapped to the hub's split names.
    :param convert: ``convert(row, lang)`` turns one hub row into an example, None (drop the row)
        or a list of examples.
    :param config: the hub config; may contain ``{lang}`` or ``{name}`` (None: the default config).
    :param revision: the commit of the hub dataset to read (a full 40-hex commit), so results stay
        comparable; None reads the default branch as it is that day (its commit is recorded).
    :param per_split: another source (or several, read one after the other) for some of our splits.
    :param language_names: what ``{name}`` in ``config`` stands for, per language code (a
        language missing here uses its code).
    :param per_language: another source for some languages, serving every split of that language.
    :param missing_splits: our splits the hub lacks for some languages, mapped to those languages
        (UD's Thai has no dev set): ``--select-on target`` skips them.
    :param columns: the hub columns ``convert`` reads; ``xharness data check`` says when one is missing.
    :param label_names: per column of class ids, the names in the order ``convert`` maps ids by;
        ``xharness data check`` compares them with the dataset's own class names.
    """

    path: str
    splits: Mapping[str, str]
    convert: Callable[[dict, str], Example | None]
    config: str | None = None
    revision: str | None = None
    per_split: Mapping[str, "HubSource | tuple[HubSource, ...]"] = field(default_factory=dict)
    language_names: Mapping[str, str] = field(default_factory=dict)
    per_language: Mapping[str, "HubSource"] = field(default_factory=dict)
    missing_splits: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    columns: tuple[str, ...] = ()
    label_names: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def sources_for(self, split: str, lang: str | None = None) -> tuple["HubSource", ...]:
        """The source(s) of one split (and language); several are read one after the other
        (ANLI+ joins four)."""
        if lang is not None and lang in self.per_language:
            return self.per_language[lang].sources_for(split)
        chosen = self.per_split.get(split, self)
        return chosen if isinstance(chosen, tuple) else (chosen,)

    def config_for(self, lang: str) -> str | None:
        """The config for a language; ``{name}`` is its entry in ``language_names``."""
        return self.config.format(lang=lang, name=self.language_names.get(lang, lang)) if self.config else None

    def has_split(self, split: str, lang: str) -> bool:
        """Whether the hub holds our ``split`` for ``lang`` (every source it is read from has it)."""
        if lang in self.missing_splits.get(split, ()):
            return False
        if lang in self.per_language:
            return self.per_language[lang].has_split(split, lang)
        return all(split in s.splits and lang not in s.missing_splits.get(split, ())
                   for s in self.sources_for(split, lang))

    def walk(self) -> Iterator["HubSource"]:
        """This source and every source nested in it (``per_split``, ``per_language``), each once."""
        seen: set[int] = set()
        stack = [self]
        while stack:
            source = stack.pop(0)
            if id(source) in seen:
                continue
            seen.add(id(source))
            yield source
            for chosen in source.per_split.values():
                stack.extend(chosen if isinstance(chosen, tuple) else (chosen,))
            stack.extend(source.per_language.values())

    def with_revisions(self, revision_of: Callable[["HubSource"], str | None]) -> "HubSource":
        """A copy in which this source and every nested one read ``revision_of(source)``."""
        def one(source: "HubSource | tuple[HubSource, ...]"):
            return tuple(s.with_revisions(revision_of) for s in source) if isinstance(source, tuple) \
                else source.with_revisions(revision_of)
        return replace(self, revision=revision_of(self),
                       per_split={split: one(chosen) for split, chosen in self.per_split.items()},
                       per_language={lang: one(chosen) for lang, chosen in self.per_language.items()})


#: A full commit of a hub repository: what ``HubSource.revision`` pins.
COMMIT = re.compile(r"[0-9a-f]{40}")


def is_commit(revision: str | None) -> bool:
    """Whether ``revision`` is a full 40-hex commit (not a branch, tag or ``refs/convert/parquet``)."""
    return bool(revision) and COMMIT.fullmatch(str(revision)) is not None


@dataclass(frozen=True)
class LocalSource:
    """How a task's files look on disk, in the layout of the original release.

    ``roots`` are folders, relative to ``--data-dir``, that may hold the layout (the first
    that has the file wins). ``file`` gives the relative path of one split and language — or
    several, all of which must exist, and a path may be a ``*`` pattern; ``read`` parses one
    file into examples and raises ``DataFormatError`` on bad lines.

    :param file: ``file(split, lang)``: the path of that split's file relative to a root, or a
        tuple of paths (all must exist); a path may be a ``*`` pattern.
    :param read: ``read(path, split, lang)``: the examples of one file; raises
        ``DataFormatError`` on a bad line.
    :param roots: folders relative to ``--data-dir`` that may hold the layout, tried in order
        (the first that has the file wins).
    """

    file: Callable[[str, str], "str | tuple[str, ...]"]
    read: Callable[[Path, str, str], Iterable[Example]]
    roots: tuple[str, ...] = ("",)


@dataclass(frozen=True)
class PublishedSizes:
    """How many examples a task's data was published with, and where that is stated.

    :param source: the citation: a paper's table, a release's README or a dataset card (with its URL).
    :param counts: split -> language -> examples (rows as the hub source stores them: pairs,
        questions, sentences); the language ``*`` stands for every language of the task that has
        that split and no count of its own.
    """

    source: str
    counts: Mapping[str, Mapping[str, int]]

    def get(self, split: str, lang: str) -> int | None:
        row = self.counts.get(split, {})
        return row.get(lang, row.get("*"))


@dataclass(frozen=True)
class TaskSpec:
    """Metadata and data access for one task.

    :param name: the name users type (``pawsx``).
    :param kind: a task kind the core knows (``classification``, ``multiple_choice``).
    :param description: one line saying what the task is, shown by ``xharness list``.
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
    :param granularity: what one prediction is about — ``token`` (a label per word), ``span`` (a
        stretch of a text), ``sentence`` (one text), ``pair`` (two texts), ``choice`` (one of
        several answers) or ``retrieval`` (ranking or matching texts); studies group tasks by it
        and ``xharness list`` shows it.
    :param extra_languages: languages the task's data also has but that a run evaluates only
        when asked (``--languages``, or a leaderboard's set such as ``--languages xtreme-r``);
        a benchmark that adds languages to a task adds them here, so runs of ``languages`` and
        their keys stay as they were.
    :param sizes: the example counts the data was published with, each group with its citation;
        ``xharness data check`` compares the hub's row counts with them. Never keyed.
    :param hub_note: one line on how the hub source differs from the benchmark's published data
        (or what of it is unconfirmed); printed when a run reads the task from the hub. Never keyed.
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
    extra_languages: tuple[str, ...] = ()
    granularity: str | None = None
    sizes: tuple[PublishedSizes, ...] = ()
    hub_note: str | None = None

    def sizes_for(self, split: str, lang: str) -> tuple[int, str] | None:
        """The published count of one split in one language and its citation (the first group
        that states it), or None."""
        for group in self.sizes:
            count = group.get(split, lang)
            if count is not None:
                return count, group.source
        return None

    def published_pairs(self) -> list[tuple[str, str]]:
        """The (split, language) pairs a published count names explicitly (not through ``*``)."""
        return [(split, lang) for group in self.sizes for split, row in group.counts.items()
                for lang in row if lang != "*"]

    @property
    def all_languages(self) -> tuple[str, ...]:
        """``languages`` then ``extra_languages``: every language the task can be evaluated on."""
        return self.languages + tuple(lang for lang in self.extra_languages if lang not in self.languages)


@dataclass(frozen=True)
class MetricSpec:
    """A metric a kind scores its tasks with, as ``TaskSpec.metric`` names it.

    :param name: the name a task's ``metric`` gives (``accuracy``, ``f1``, ``pearson``).
    :param low: the lowest value a language's score can take (a correlation: -100).
    :param high: the highest value (scores are in percent: 100).
    :param aggregate: how the per-example outcomes of a test language give the score
        (``harness.compute.outcomes.AGGREGATES``: ``accuracy``, ``f1_counts``, ``qa``, ``mean``,
        ``pearson``, ``spearman``), so a report's bootstrap recomputes it exactly; None for a
        metric with no test outcomes (a masked LM's loss).
    :param description: one line saying what it measures.
    """

    name: str
    low: float = 0.0
    high: float = 100.0
    aggregate: str | None = "accuracy"
    description: str = ""


@dataclass(frozen=True)
class KindSpec:
    """A task kind a plugin adds (the built-in kinds are registered the same way).

    The kind object itself (featurisation, head, loss, prediction, scoring, per-example outcomes;
    see ``harness.kinds.base.TaskKind``) lives in a module that may import torch, so it is named
    here as ``"module:attribute"`` and imported only when a run needs it. Everything else the core
    and the contract kit need to know about the kind is declared here, cheaply: the core compares
    no kind by name.

    :param name: what a ``TaskSpec.kind`` names.
    :param description: one line saying what the kind does, shown by ``xharness list``.
    :param load: ``"package.module:ATTRIBUTE"`` of the kind object.
    :param trained: phase 3 fine-tunes the encoder on the task's training data; ``False``: the
        kind uses the encoder as it is (embeddings), through ``evaluate_language``.
    :param check: validates a task of this kind when it is registered (cheap, no torch); raises
        ``ValueError`` with what is wrong.
    :param settings: the kind's own hyper-parameters with their defaults; a task's ``defaults``
        and ``--setting NAME=VALUE`` override them, and they enter the run's key and record.
    :param check_settings: validates a run's values of ``settings`` while planning (cheap, no
        torch); raises ``ValueError`` saying what is wrong, which the user sees as one line.
    :param pooled_test: the test sets of all the task's languages form one candidate pool (a
        query of any language is ranked against candidates of every language), so every
        language's test data is read even when ``--languages`` evaluates fewer.
    :param metrics: the metrics a task of this kind may name, with their ranges and how their
        per-example outcomes aggregate; the contract kit rejects a task whose ``metric`` is not
        among them and a smoke score outside its range.
    :param fields: the fields every example of the kind has (what ``featurize`` reads).
    :param optional_fields: fields an example may have besides.
    :param check_example: ``(spec, example) -> str | None``: what is wrong with one example
        beyond a missing field (types, ranges, labels), or None; cheap, no torch. The contract kit
        runs it on every bundled example, and a run on every training example before training.
    :param dev_per_language: the kind tunes each test language's evaluation on that language's
        dev split (BUCC's mining threshold), so a run reads dev in every evaluated language.
    :param feature_constants: names of module constants of the kind's module that shape its
        features (span QA's window ``STRIDE``): they enter the feature cache's keys.
    :param labels_from_training: ``"module:function"`` taking (training examples, minimum count)
        and returning a label list: a task of the kind with ``labels=()`` and
        ``defaults["label_min_count"]`` takes its labels from its training data (CCG's tags).
    :param check_training: ``(task name, examples, where) -> None`` run on training examples read
        from the hub, raising ``UserError`` on one that training cannot use (span QA: an answer
        off its offset); cheap, no torch.
    :param hub_task: the Hugging Face Hub task type that results on a task of this kind are filed
        under in a model card's ``model-index`` (``text-classification``, ``question-answering``…;
        ``xharness export``); None: ``other``.
    :param translate_test: a prediction is about the whole example (a class, a choice, a score), so one
        made on the example translated into the training language belongs to the original
        (``--transfer translate-test``); not so for spans or tags, which point into the text.
    """

    name: str
    description: str
    load: str
    trained: bool = True
    check: Callable[["TaskSpec"], None] | None = None
    settings: Mapping[str, Any] = field(default_factory=dict)
    pooled_test: bool = False
    check_settings: Callable[[Mapping[str, Any]], None] | None = None
    metrics: tuple[MetricSpec, ...] = (MetricSpec("accuracy"),)
    fields: tuple[str, ...] = ()
    optional_fields: tuple[str, ...] = ()
    check_example: Callable[["TaskSpec", Mapping[str, Any]], str | None] | None = None
    dev_per_language: bool = False
    feature_constants: tuple[str, ...] = ()
    labels_from_training: str | None = None
    check_training: Callable[[str, list, str], None] | None = None
    hub_task: str | None = None
    translate_test: bool = False

    def metric(self, name: str) -> MetricSpec | None:
        """The declared metric called ``name``, or None."""
        return next((metric for metric in self.metrics if metric.name == name), None)


@dataclass(frozen=True)
class TrackerSpec:
    """An experiment tracker that ``--tracker NAME`` sends runs to (Weights & Biases, MLflow …).

    The tracker object (a :class:`harness.contract.tracking.Tracker`) lives in a module that imports
    its library, so it is named here as ``"module:attribute"`` and imported only when a run asks
    for it; a library that is missing costs that run one warning line, never the run.

    :param name: the name users type (``--tracker NAME``).
    :param load: ``"package.module:ATTRIBUTE"`` of the tracker class (called with no arguments).
    :param description: one line for ``xharness list``.
    :param requires: the modules it imports (``xharness list`` says whether they are installed).
    :param install: how to install them, said when they are missing (e.g. ``pip install wandb``).
    """

    name: str
    load: str
    description: str = ""
    requires: tuple[str, ...] = ()
    install: str = ""


@dataclass(frozen=True)
class TranslationSpec:
    """Machine-translated data for a task that another plugin registers, for ``--transfer``.

    XTREME's translate-train trains a target task on its training data translated into each target
    language; translate-test evaluates the English model on each language's test set translated into
    the training language. Translations are their own registration, so that a lab can bring its own
    MT system's output for any task, and so that the task's plugin (and every zero-shot key) stays
    as it is.

    :param name: the task translated (``pawsx``): one set of translations per task.
    :param description: one line for ``xharness list``: which MT system, which release.
    :param local: the files in their original layout: ``file("train", lang)`` the training data
        translated into ``lang``, ``file("test", lang)`` the test set of ``lang`` translated into the
        training language; ``read`` parses one file into the task's examples (the task's own reader,
        usually). Translated test examples keep the ids (or, without ids, the order) of the originals,
        so that predictions and scores belong to the original examples.
    :param train_languages: languages with translated training data (translate-train).
    :param test_languages: languages whose test set is translated into the training language
        (translate-test).
    :param samples: a folder, shipped with the plugin, with a few rows of each file in ``local``'s
        layout (``--preset smoke`` and the tests read them).
    :param citation: where the translations come from (a paper or a release), said by ``xharness list``.
    :param oracle: the translated test sets are the originals the test sets were translated from
        (PAWS-X's and XNLI's test sets are human translations of English ones), not machine
        translations: an upper bound for translate-test, said wherever they are used.
    """

    name: str
    description: str
    local: LocalSource
    train_languages: tuple[str, ...] = ()
    test_languages: tuple[str, ...] = ()
    samples: Path | None = None
    citation: str = ""
    oracle: bool = False


#: The granularities a task may declare (``TaskSpec.granularity``).
GRANULARITIES = ("token", "span", "sentence", "pair", "choice", "retrieval")


@dataclass(frozen=True)
class StudySpec:
    """A research question as a recipe: the grid(s) it needs and the analysis of their runs.

    The study object (see ``harness.grids.study.Study``) lives in a module that may import heavy
    libraries, so it is named here as ``"module:attribute"`` and imported only when used.

    :param name: the name users type (``xharness study run NAME``).
    :param question: the research question the study answers, shown by ``xharness study list``.
    :param load: ``"package.module:ATTRIBUTE"`` of the study object (a ``harness.grids.study.Study``).
    """

    name: str
    question: str
    load: str


@dataclass(frozen=True)
class ModelSpec:
    """A backbone users can name with ``--model``.

    Exactly one of ``hub_id`` (a Hugging Face model id, loaded with ``revision``) and
    ``build`` (a function that writes a complete model folder — config, weights and
    tokenizer — into the directory it is given) must be set. ``build_version`` goes into
    the cache key of built models.

    :param name: the name users type (``--model NAME``).
    :param description: one line saying what the backbone is, shown by ``xharness list``.
    :param hub_id: a Hugging Face model id, or a local model folder (an absolute, ``~`` or ``./``
        path: a lab's own checkpoint under a short name), or None when ``build`` is set.
    :param revision: the commit of ``hub_id`` to load (None: the hub's default branch).
    :param build: a function that writes a complete model folder (config, weights, tokenizer)
        into the directory it is given (or None when ``hub_id`` is set).
    :param build_version: bump when ``build`` writes a different model, so the cached folder is
        rebuilt.
    """

    name: str
    description: str
    hub_id: str | None = None
    revision: str | None = None
    build: Callable[[Path], None] | None = None
    build_version: str = "1"


#: The metrics a leaderboard task may name: ``xharness score`` has a scorer for each
#: (``harness.analysis.scoring.METRICS``, which a test keeps in step with this list).
LEADERBOARD_METRICS = ("accuracy", "pair_f1", "seqeval", "squad", "mlqa", "map_at_20")


@dataclass(frozen=True)
class LeaderboardTask:
    """One task of a leaderboard: how its ``test-<lang>.<extension>`` files are scored.

    :param name: the task's folder name in the predictions and labels folders (``pawsx``).
    :param metric: ``accuracy``, ``seqeval`` (tag files, one tag a line, blank line between
        sentences), ``pair_f1`` (tab-separated id pairs), ``squad`` or ``mlqa`` (SQuAD-format
        label JSON, ``{id: answer}`` prediction JSON; ``mlqa`` normalises per answer language),
        ``map_at_20`` (JSON ``{query id: [candidate ids]}``: ranked for predictions, relevant for
        labels; mean AP@20 with XTREME-R's min(k, relevant) divisor, which is MRR@20 when each
        query has one relevant candidate). An ``accuracy`` task with extension ``jsonl`` reads
        each line's ``label`` (XTREME-R's XCOPA files).
    :param languages: the languages scored; each needs a ``test-<lang>.<extension>`` file in
        both folders, and the task's score is the mean over them.
    :param group: the group(s) whose score the task counts in (None: no group; XTREME-R's
        evaluate.py leaves LAReQA out of every group and puts XCOPA in two).
    :param extension: the file extension of the task's ``test-<lang>.<extension>`` files
        (``tsv``, ``json``, ``jsonl``).
    """

    name: str
    metric: str
    languages: tuple[str, ...]
    group: str | tuple[str, ...] | None
    extension: str

    @property
    def group_names(self) -> tuple[str, ...]:
        """The groups the task counts in: none, one, or several (XTREME-R puts XCOPA in two)."""
        if self.group is None:
            return ()
        return (self.group,) if isinstance(self.group, str) else tuple(self.group)


@dataclass(frozen=True)
class Leaderboard:
    """A benchmark's submission format: tasks, their languages and metrics, and task groups.

    The overall score is the mean of the tasks' scores when every task is present; a group's
    score is the mean over its tasks when all of them are present. ``overall_note`` documents how
    the overall score relates to the benchmark's published one.

    :param name: the name users type (``xharness score --leaderboard NAME``).
    :param description: one line saying what the benchmark is, shown by ``xharness list``.
    :param tasks: the benchmark's tasks, each a :class:`LeaderboardTask`.
    :param groups: the task groups that get a score of their own; every group a task names
        must be declared here.
    :param overall_note: how the overall score relates to the benchmark's published one.
    """

    name: str
    description: str
    tasks: tuple[LeaderboardTask, ...]
    groups: tuple[str, ...]
    overall_note: str = ""
