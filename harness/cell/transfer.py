"""How the target phase reaches the target languages (``--transfer``): XTREME's settings and few-shot.

- ``zero-shot`` (the default, the paper's protocol): fine-tune on the training language, test every
  language with that one model. Nothing of this module enters its keys.
- ``translate-train``: one model per target language, fine-tuned on the training data machine-
  translated into that language (the training language's model is the zero-shot one, with
  ``--select-on en``; every model is chosen on English dev or, with ``target``, its language's dev).
- ``translate-train-all``: one model fine-tuned on the training data and all its translations into
  the target languages together.
- ``translate-test``: the zero-shot model, tested on each language's test set translated into the
  training language; the translated examples keep the originals' ids, so predictions and scores
  belong to the original examples.
- ``few-shot``: after fine-tuning on the training language, each target language's model continues
  on ``--shots K`` examples of that language, drawn with ``--shot-seed`` from its training data (or
  its dev data, where it has no training data of its own; the drawn examples are then left out of the
  dev data that selects the epoch). Lauscher et al. (2020, "From Zero to Hero") show that a few
  hundred target-language examples close much of the zero-shot gap; Zhao et al. (2021, "A Closer Look
  at Few-Shot Crosslingual Transfer") that which shots are drawn moves scores by several points, so
  ``--shot-seeds 1,2,3`` repeats the draw (one cell per draw).

Translations come from any plugin (``register_translations``, :class:`harness.contract.spec.TranslationSpec`),
not from the task's own plugin, so that a lab can bring its own MT output and the task's zero-shot
keys stay as they are. The phase-2 encoder does not depend on the setting: a grid of intermediate
tasks × settings trains each intermediate task once.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.contract.discovery import Registered, Registry
from harness.contract.errors import UnknownNameError, UserError
from harness.contract.kindset import Kinds
from harness.data.sources import TaskData, plan_task_data

SETTINGS = ("zero-shot", "translate-train", "translate-train-all", "translate-test", "few-shot")
#: the settings that fine-tune one model per target language
PER_LANGUAGE = ("translate-train", "few-shot")
#: epochs of few-shot training on the drawn examples (the epoch is chosen on the rest of the
#: language's dev data where there is some; otherwise the last is kept)
SHOT_EPOCHS = 10


@dataclass(frozen=True)
class Transfer:
    """The planned setting; ``as_setting`` is what enters the target phase's key (nothing for zero-shot)."""

    setting: str = "zero-shot"
    shots: int | None = None
    shot_seed: int | None = None
    shot_epochs: float | None = None

    @property
    def zero_shot(self) -> bool:
        return self.setting == "zero-shot"

    @property
    def per_language(self) -> bool:
        return self.setting in PER_LANGUAGE

    @property
    def translated(self) -> bool:
        return self.setting.startswith("translate-")

    def as_setting(self) -> dict[str, Any] | None:
        if self.zero_shot:
            return None
        found: dict[str, Any] = {"setting": self.setting}
        if self.setting == "few-shot":
            found.update(shots=self.shots, shot_seed=self.shot_seed, shot_epochs=self.shot_epochs)
        return found

    @property
    def label(self) -> str:
        """How progress lines name it: ``few-shot (K=100)``."""
        return describe(self.as_setting())


def describe(found: Mapping[str, Any] | None, *, draw: bool = False) -> str:
    """How a setting (``Transfer.as_setting()``, or the ``transfer`` a record holds) is named:
    ``zero-shot``, ``translate-train`` …, ``few-shot (K=100)``; with ``draw``, ``few-shot (K=100, shot
    seed 2)``."""
    name = str((found or {}).get("setting") or "zero-shot")
    if name != "few-shot":
        return name
    return f"few-shot (K={found.get('shots')}" + (f", shot seed {found.get('shot_seed')})" if draw else ")")


def _listed(value: Any) -> list[str]:
    if value is None:
        return []
    items = value if isinstance(value, (list, tuple)) else str(value).split(",")
    return [str(item).strip() for item in items if str(item).strip()]


def variants(overrides: dict[str, Any]) -> list[dict[str, Any]]:
    """The cells that ``--transfer``, ``--shots`` and ``--shot-seeds`` lists ask for (a grid's
    settings axis): each a copy of ``overrides`` with one setting, one K and one shot seed. Without
    lists, ``[overrides]`` as given (a zero-shot run's overrides stay as they are)."""
    settings = _listed(overrides.get("transfer"))
    shots = _listed(overrides.get("shots"))
    seeds = _listed(overrides.get("shot_seeds"))
    if overrides.get("shot_seeds") is not None and overrides.get("shot_seed") is not None:
        raise UserError("give --shot-seed N or --shot-seeds N,N, not both")
    if len(settings) <= 1 and len(shots) <= 1 and len(seeds) <= 1:
        single = {k: v for k, v in overrides.items() if k != "shot_seeds"}
        if settings:
            single["transfer"] = settings[0]
        if shots:
            single["shots"] = shots[0]
        if seeds:
            single["shot_seed"] = seeds[0]
        return [single]
    found = []
    base = {k: v for k, v in overrides.items()
            if k not in ("transfer", "shots", "shot_seeds", "shot_seed", "shot_epochs")}
    for setting in settings or ["zero-shot"]:
        if setting.strip().lower() != "few-shot":
            found.append(dict(base, transfer=setting))
            continue
        for k in shots or [None]:
            for seed in seeds or [overrides.get("shot_seed")]:
                found.append(dict(base, transfer=setting, shots=k, shot_seed=seed,
                                  shot_epochs=overrides.get("shot_epochs")))
    if not any(str(v.get("transfer")).strip().lower() == "few-shot" for v in found) and (shots or seeds):
        raise UserError("--shots and --shot-seeds belong to --transfer few-shot: add it to --transfer")
    return found


def parse(overrides: dict[str, Any]) -> Transfer:
    """``--transfer``, ``--shots``, ``--shot-seed`` and ``--shot-epochs`` of a run, checked (one line each)."""
    setting = str(overrides.get("transfer") or "zero-shot").strip().lower()
    if setting not in SETTINGS:
        raise UnknownNameError("transfer setting", setting, SETTINGS)
    shots, shot_seed, epochs = overrides.get("shots"), overrides.get("shot_seed"), overrides.get("shot_epochs")
    if setting != "few-shot":
        given = [name for name, value in (("--shots", shots), ("--shot-seed", shot_seed), ("--shot-epochs", epochs))
                 if value is not None]
        if given:
            raise UserError(f"{', '.join(given)} belong{'s' if len(given) == 1 else ''} to --transfer few-shot "
                            f"(this run is {setting}); drop {'it' if len(given) == 1 else 'them'} or add "
                            f"--transfer few-shot")
        return Transfer(setting)
    if shots is None:
        raise UserError("--transfer few-shot needs --shots K: how many target-language examples each language's "
                        "model trains on (e.g. --shots 100)")
    try:
        shots = int(shots)
        shot_seed = 1 if shot_seed is None else int(shot_seed)
        epochs = float(SHOT_EPOCHS if epochs is None else epochs)
    except (TypeError, ValueError):
        raise UserError("--shots and --shot-seed take whole numbers, --shot-epochs a number") from None
    if shots < 1:
        raise UserError(f"--shots {shots}: give at least 1 example")
    if epochs <= 0:
        raise UserError(f"--shot-epochs {epochs:g}: give a positive number of epochs")
    return Transfer("few-shot", shots, shot_seed, epochs)


def check(transfer: Transfer, target: Registered, kinds: Kinds, select_on: str) -> None:
    """Refuse, in one line, a setting that this target's kind cannot run."""
    if transfer.zero_shot:
        return
    spec = target.spec
    if not kinds.trained(spec.kind):
        raise UserError(f"--transfer {transfer.setting}: {spec.name} is not fine-tuned (its kind {spec.kind} embeds "
                        f"and searches), so only zero-shot applies to it")
    if kinds.spec(spec.kind).pooled_test:
        raise UserError(f"--transfer {transfer.setting}: {spec.name} ranks one candidate pool across its languages "
                        f"(kind {spec.kind}), which a model per language or translated data would change; only "
                        f"zero-shot applies to it")
    if transfer.setting == "translate-test" and not kinds.spec(spec.kind).translate_test:
        raise UserError(f"--transfer translate-test: a {spec.kind} prediction made on the translation (a span, a "
                        f"tag per word) has no place in the original text; use translate-train or "
                        f"translate-train-all for {spec.name}")
    if transfer.setting == "few-shot" and select_on != "en":
        raise UserError(f"--transfer few-shot chooses each language's epoch on that language's dev data (less the "
                        f"drawn examples); --select-on {select_on} does not apply to it: leave it out")
    if transfer.per_language and select_on == "both":
        raise UserError(f"--transfer {transfer.setting} trains one model per language: select each on "
                        f"--select-on en or target, not both")


def plan_translations(transfer: Transfer, target: Registered, registry: Registry, languages: list[str], *,
                      source: str, data_dir: Path | None, kinds: Kinds) -> TaskData | None:
    """The translated data the setting reads, found (and so checked) before anything trains; None for
    the settings that read none. A task without the translations it needs is one line naming the
    files that would be needed."""
    if not transfer.translated:
        return None
    spec = target.spec
    item = registry.translation(spec.name)
    split = "test" if transfer.setting == "translate-test" else "train"
    others = [lang for lang in languages if lang != spec.train_language]
    if item is None:
        example = f"{split} data of {', '.join(others[:3]) or 'its languages'}"
        raise UserError(f"--transfer {transfer.setting}: no installed plugin registers translations of {spec.name} "
                        f"(the {example} in another language); install one that does (`xharness list` shows "
                        f"translations) or register your own with register_translations")
    translation = item.spec
    offered = translation.test_languages if split == "test" else translation.train_languages
    missing = [lang for lang in others if lang not in offered]
    if missing:
        files = ", ".join(_first(translation.local.file(split, lang)) for lang in missing[:3])
        raise UserError(f"--transfer {transfer.setting}: the translations of {spec.name} (plugin {item.plugin}) have "
                        f"no {split} data in {', '.join(missing)}; they would be {files}{', …' if len(missing) > 3 else ''}"
                        f" (in {translation.name}'s layout); leave {'it' if len(missing) == 1 else 'them'} out with "
                        f"--languages, or add the files to a translations plugin")
    if not others:
        raise UserError(f"--transfer {transfer.setting}: give --languages at least one language besides "
                        f"{spec.train_language} (the translations are into or out of it)")
    if source == "bundled" and translation.samples is None:
        files = ", ".join(_first(translation.local.file(split, lang)) for lang in others[:3])
        raise UserError(f"--transfer {transfer.setting}: the translations of {spec.name} (plugin {item.plugin}) ship no "
                        f"bundled samples; pass --data-dir with their files ({files}{', …' if len(others) > 3 else ''})")
    # the task's own spec (labels, kind, defaults) with the translations' files and samples
    as_task = dataclasses.replace(spec, local=translation.local, samples=translation.samples, hub=None,
                                  translated_train=tuple(translation.train_languages))
    registered = Registered(as_task, item.plugin, item.plugin_version)
    if source == "hub":
        raise UserError(f"--transfer {transfer.setting}: translations are read from local files; pass --data-dir "
                        f"with them in {translation.name}'s layout (e.g. DIR/{_first(translation.local.file(split, others[0]))})"
                        f", or --preset smoke for the bundled samples")
    return plan_task_data(registered, [(split, lang) for lang in others], source=source, data_dir=data_dir,
                          kinds=kinds)


def _first(wanted) -> str:
    return wanted if isinstance(wanted, str) else wanted[0]


def shot_split(spec, lang: str, source: str, data_dir: Path | None, translated: tuple[str, ...] = ()) -> str:
    """Where a language's shots come from: its own training data where the task (a TaskSpec) has some
    (files of their own, not the training language's read again, and not machine-translated: the
    languages of ``translated`` and of ``spec.translated_train`` have translated training data, such as
    XNLI-MT's, which is not target-language data), else its dev data; a task with neither in that
    language (XQuAD reads SQuAD's English dev set for every language) is refused."""
    machine = lang in translated or lang in spec.translated_train
    split = "dev" if machine else _shot_split(spec, lang, source, data_dir)
    if split == "dev" and (not spec.target_dev or (spec.target_dev == "local" and source == "hub")):
        where = " on the hub (its local files have dev data: pass --data-dir)" if spec.target_dev == "local" else ""
        raise UserError(f"--transfer few-shot: {spec.name} has no training or dev data of its own in {lang}{where}, "
                        f"so there are no {lang} examples to draw; few-shot needs target-language examples")
    return split


def _shot_split(spec, lang: str, source: str, data_dir: Path | None) -> str:
    if source == "hub":
        hub = spec.hub
        if hub is not None and hub.has_split("train", lang):
            own = [(s.path, s.config_for(lang)) for s in hub.sources_for("train", lang)]
            english = [(s.path, s.config_for(spec.train_language)) for s in hub.sources_for("train", spec.train_language)]
            if own != english:
                return "train"
    else:
        from harness.data.sources import _find

        base = spec.samples if source == "bundled" else data_dir
        try:
            found = _find(spec, base, "train", lang) if base is not None else None
            english = _find(spec, base, "train", spec.train_language) if base is not None else None
        except (KeyError, ValueError, IndexError):  # a layout without training files in that language
            found = None
        if found and found != english:
            return "train"
    return "dev"


def draw(examples: list[dict], shots: int, shot_seed: int, lang: str) -> list[int]:
    """The indices of the ``shots`` examples drawn for ``lang`` (sorted): the same for the same seed,
    language and data in every process and on every machine (a string seed is hashed with SHA-512,
    not with Python's per-process hash)."""
    rng = random.Random(f"xharness-shots:{shot_seed}:{lang}")
    return sorted(rng.sample(range(len(examples)), shots))


def check_shots(transfer: Transfer, data: TaskData, splits: dict[str, str]) -> None:
    """Before any training: every language has enough examples to draw from (and, drawing from dev,
    some left to select on)."""
    for lang, split in splits.items():
        available = len(data.load(split, lang))
        needed = transfer.shots + (1 if split == "dev" else 0)
        if available < needed:
            spare = " and keep one to select on" if split == "dev" else ""
            raise UserError(f"--shots {transfer.shots}: {data.spec.name} has {available} {split} examples in {lang} "
                            f"({data.where(split, lang)}), too few to draw {transfer.shots}{spare}; lower --shots or "
                            f"leave {lang} out with --languages")


def example_id(example: dict, index: int) -> str:
    return str(example.get("id", index))


def check_translated_test(original: TaskData, translated: TaskData, langs: list[str]) -> None:
    """Each translated test set holds the original's examples, by id (or, without ids, by position),
    with the same gold answers: otherwise a score would not belong to the original test set."""
    for lang in langs:
        source, copy = original.load("test", lang), translated.load("test", lang)
        where = translated.where("test", lang)
        if len(source) != len(copy):
            raise UserError(f"translate-test: {where} holds {len(copy)} examples, the {lang} test set "
                            f"{len(source)}; the translation must keep every example, in order")
        for index, (mine, theirs) in enumerate(zip(source, copy)):
            if example_id(mine, index) != example_id(theirs, index):
                raise UserError(f"translate-test: example {index + 1} of {where} has id "
                                f"{example_id(theirs, index)!r}, the {lang} test set's has {example_id(mine, index)!r}; "
                                f"keep the originals' ids and order")
            if "label" in mine and mine.get("label") != theirs.get("label"):
                raise UserError(f"translate-test: example {example_id(mine, index)!r} of {where} has label "
                                f"{theirs.get('label')!r}, the original {mine.get('label')!r}")
