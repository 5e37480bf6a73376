"""The plugin contract: registration hooks, one entry-point group.

A plugin is a module (or object) listed under the ``xharness`` entry-point group that
implements any of these hooks with ``@harness.hookimpl``. Each hook receives the core's
``register`` callback; calling it hands one spec to the core, which validates it and records
which plugin supplied it. A name that two plugins register goes to neither: it is unavailable
(the error and ``xharness list`` name every claimant) until ``XHARNESS_PLUGINS`` leaves one out.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from harness.contract.spec import (KindSpec, Leaderboard, ModelSpec, StudySpec, TaskSpec, TrackerSpec,
                                       TranslationSpec)

PROJECT = "xharness"
ENTRY_POINT_GROUP = "xharness"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def register_intermediate_tasks(register: Callable[["TaskSpec"], None]) -> None:
    """Register English tasks for phase 2 (intermediate training).

    :param register: call once per :class:`harness.TaskSpec`.
    """


@hookspec
def register_target_tasks(register: Callable[["TaskSpec"], None]) -> None:
    """Register target tasks for phase 3 (fine-tuning and zero-shot evaluation).

    :param register: call once per :class:`harness.TaskSpec`.
    """


@hookspec
def register_models(register: Callable[["ModelSpec"], None]) -> None:
    """Register backbones that ``--model NAME`` can select.

    :param register: call once per :class:`harness.ModelSpec`.
    """


@hookspec
def register_leaderboards(register: Callable[["Leaderboard"], None]) -> None:
    """Register a benchmark's submission format, for ``xharness score``.

    :param register: call once per :class:`harness.contract.spec.Leaderboard`.
    """


@hookspec
def register_task_kinds(register: Callable[["KindSpec"], None]) -> None:
    """Register task kinds (featurisation, head, loss, prediction, scoring, outcomes) that tasks
    of any plugin can name; the core's own kinds are registered through this hook too.

    :param register: call once per :class:`harness.contract.spec.KindSpec`.
    """


@hookspec
def register_studies(register: Callable[["StudySpec"], None]) -> None:
    """Register studies: research questions as recipes (the grids they need and their analysis)
    that ``xharness study run NAME`` runs.

    :param register: call once per :class:`harness.contract.spec.StudySpec`.
    """


@hookspec
def register_trackers(register: Callable[["TrackerSpec"], None]) -> None:
    """Register experiment trackers that ``--tracker NAME`` sends runs to.

    :param register: call once per :class:`harness.contract.spec.TrackerSpec`.
    """


@hookspec
def register_translations(register: Callable[["TranslationSpec"], None]) -> None:
    """Register machine-translated data for a task (its training data in other languages, its test
    sets in the training language) that ``--transfer translate-train|translate-train-all|translate-test``
    reads.

    :param register: call once per :class:`harness.contract.spec.TranslationSpec`.
    """
